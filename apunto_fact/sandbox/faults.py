"""Fault injection and rate limiting for the sandbox: it must never be a yes-machine."""
import math
import threading
import time
from collections import Counter


class Faults:
    """Switches that tests and demos flip over HTTP (POST /_sandbox/faults).

    A rule: ``{"method": "POST", "path": "/invoices", "status": 503, "body": {...},
    "times": 1, "action": "respond" | "drop" | "commit_then_drop" | "commit_then_respond"
    | "delay",
    "delay": seconds}``. ``times`` null means until cleared. ``path`` matches by prefix.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.latency = 0.0
        self.rules = []
        self.calls = Counter()

    def configure(self, data):
        """Apply a JSON configuration: latency, rules (appended), clear."""
        with self._lock:
            if data.get("clear"):
                self.latency, self.rules = 0.0, []
            if "latency" in data:
                self.latency = float(data["latency"] or 0)
            for rule in data.get("rules", []):
                self.rules.append({"times": 1, "action": "respond", **rule})

    def take(self, method, path):
        """Return the first rule matching the request, consuming one of its uses."""
        with self._lock:
            for rule in self.rules:
                if rule.get("method", method).upper() != method:
                    continue
                if not path.startswith(rule.get("path", "")):
                    continue
                if rule["times"] is not None:
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        self.rules.remove(rule)
                return dict(rule)
        return None

    def count(self, method, path):
        """Record one authenticated API call."""
        with self._lock:
            self.calls[f"{method} {path}"] += 1

    def stats(self):
        """Return the call counters."""
        with self._lock:
            return {"total": sum(self.calls.values()), "calls": dict(self.calls)}

    def reset_stats(self):
        """Forget the call counters."""
        with self._lock:
            self.calls.clear()


class RateLimiter:
    """Alegra's fixed window: N requests per user per 60 s (alegra-api.md §1.6)."""

    def __init__(self, limit=150, window=60.0):
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._users = {}

    def hit(self, user):
        """Count one request; return (allowed, remaining, reset_seconds)."""
        now = time.monotonic()
        with self._lock:
            start, used = self._users.get(user, (now, 0))
            if now - start >= self.window:
                start, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._users[user] = (start, used)
        # window - elapsed, not (start + window) - now: the latter's float error gave 61 s.
        reset = max(0, math.ceil(self.window - (now - start)))
        return allowed, max(0, self.limit - used), reset

    def configure(self, limit=None, window=None):
        """Change the limit or window and start a fresh window."""
        with self._lock:
            if limit is not None:
                self.limit = int(limit)
            if window is not None:
                self.window = float(window)
            self._users.clear()
