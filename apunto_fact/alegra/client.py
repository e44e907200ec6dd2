"""HTTP client for the Alegra REST API v1: auth, timeouts, errors, rate limit, retries.

Rules from alegra-api.md: Basic auth (§1.2); 150 requests/min with X-Rate-Limit-* headers on
every response (§1.6); three error-body shapes (§2.1); stamping is not idempotent (§6.4), so a
POST is never retried automatically.
"""
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE"}
RETRY_STATUSES = {500, 502, 503, 504}


class AlegraError(Exception):
    """One error type for every failure talking to Alegra.

    :param status: HTTP status, or None when no response arrived.
    :param code: Alegra's numeric code (``2006``, ``3051``...) or None.
    :param kind: ``http`` (Alegra answered), ``unreadable`` (an answer that is not Alegra's
        JSON, e.g. a proxy's HTML page), ``timeout`` or ``connection``.
    :param maybe_sent: True when the request may have reached Alegra and been acted on
        (read timeout, dropped connection, 5xx): the caller must verify by reading.
    """

    def __init__(self, message, status=None, code=None, kind="http", body=None, maybe_sent=False,
                 reset=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.kind = kind
        self.body = body if body is not None else {}
        self.maybe_sent = maybe_sent
        self.reset = reset


@dataclass
class _Window:
    remaining: int | None = None
    reset_at: float = 0.0


# One rate-limit window per (host, user), shared by every client instance in the process,
# because Alegra counts requests per API user, not per connection.
_windows: dict = {}
_windows_lock = threading.Lock()


def parse_error_body(body):
    """Return (code, message) from any of Alegra's three error-body shapes (§2.1)."""
    if not isinstance(body, dict):
        return None, (str(body).strip() or None) if body else None
    error = body.get("error")
    message = body.get("message")
    code = body.get("code")
    if isinstance(error, dict):
        message = message or error.get("message")
        code = code if code is not None else error.get("code")
    elif isinstance(error, str) and not message:
        message = error
    return _int_or_none(code), (str(message).strip() if message else None)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _header_int(headers, name):
    return _int_or_none(headers.get(name))


# Alegra's window is one minute (alegra-api.md §1.6). A reset announced beyond it (a header in
# epoch seconds or milliseconds, a proxy's garbage) is not believed: it would stop every call
# to Alegra and the whole queue for that long, even after Alegra is healthy again.
MAX_RESET_SECONDS = 65


def _reset_header(headers):
    """X-Rate-Limit-Reset in seconds, clamped to what one Alegra window can last."""
    reset = _header_int(headers, "X-Rate-Limit-Reset")
    return None if reset is None else min(max(reset, 0), MAX_RESET_SECONDS)


class AlegraClient:
    """A small Alegra API client; one instance per configured account."""

    def __init__(self, base_url, email, token, *, connect_timeout=5.0, read_timeout=30.0,
                 max_rate_wait=65.0, get_retries=2, backoff=0.5, session=None, on_call=None,
                 budget=None):
        self.base_url = base_url.rstrip("/")
        self.email = email
        self.timeout = (connect_timeout, read_timeout)
        self.max_rate_wait = max_rate_wait
        self.get_retries = get_retries
        self.backoff = backoff
        self.session = session or requests.Session()
        self.session.auth = (email, token)
        self.session.headers.update({"Accept": "application/json"})
        self.on_call = on_call
        self._window_key = (urlsplit(self.base_url).netloc, email)
        # The installation's shared window (alegra.budget); without one, this process's.
        self.budget = budget

    def __repr__(self):
        # Never the token: this repr can end up in logs and tracebacks.
        return f"<AlegraClient {self.base_url} user={self.email!r}>"

    # -- public verbs ------------------------------------------------------------------------
    def get(self, path, params=None, *, read_timeout=None):
        """GET path and return the decoded JSON."""
        return self.request("GET", path, params=params, read_timeout=read_timeout)

    def post(self, path, payload, *, read_timeout=None):
        """POST payload to path (never retried) and return the decoded JSON."""
        return self.request("POST", path, json=payload, read_timeout=read_timeout)

    def put(self, path, payload):
        """PUT payload to path and return the decoded JSON."""
        return self.request("PUT", path, json=payload)

    def list_all(self, path, params=None, page_size=30):
        """Return every element of a paginated list (limit is at most 30 in Alegra)."""
        items, start = [], 0
        while True:
            page = self.get(path, {**(params or {}), "start": start, "limit": page_size})
            rows = unwrap_list(page)
            items.extend(rows)
            if len(rows) < page_size:
                return items
            start += page_size

    def download(self, url):
        """Fetch a document URL Alegra handed out (signed): credentials are never sent to it."""
        started = time.monotonic()
        try:
            response = requests.get(url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise self._report("GET", "(archivo)", started, AlegraError(
                "No se pudo descargar el archivo de Alegra.", kind="connection")) from exc
        if response.status_code >= 400:
            raise self._report("GET", "(archivo)", started, AlegraError(
                f"Alegra no entregó el archivo (HTTP {response.status_code}).",
                status=response.status_code), response.status_code)
        self._report("GET", "(archivo)", started, None, response.status_code)
        return response.content

    # -- machinery ---------------------------------------------------------------------------
    def request(self, method, path, *, params=None, json=None, read_timeout=None):
        """Send one logical request, with the waits and retries its method allows."""
        attempt = 0
        while True:
            attempt += 1
            self._wait_for_window()
            try:
                return self._send_once(method, path, params, json, read_timeout)
            except AlegraError as err:
                if not self._should_retry(method, err, attempt):
                    raise
                delay = self._retry_delay(err, attempt)
                log.info("Alegra %s %s failed (%s); retrying in %.1fs", method, path,
                         err.status or err.kind, delay)
                time.sleep(delay)

    def _should_retry(self, method, err, attempt):
        if attempt > self.get_retries:
            return False
        if err.status == 429:
            may_wait = self.budget is None or self.budget.may_wait
            return method in IDEMPOTENT and may_wait
        if method != "GET":
            return False
        return err.kind in ("timeout", "connection") or err.status in RETRY_STATUSES

    def _retry_delay(self, err, attempt):
        if err.status == 429 and err.reset is not None:
            return min(float(err.reset), self.max_rate_wait)
        return self.backoff * (2 ** (attempt - 1))

    def _send_once(self, method, path, params, payload, read_timeout):
        url = f"{self.base_url}/{path.lstrip('/')}"
        timeout = (self.timeout[0], read_timeout or self.timeout[1])
        started = time.monotonic()
        try:
            response = self.session.request(method, url, params=params, json=payload,
                                            timeout=timeout)
        except requests.exceptions.ConnectTimeout as exc:
            raise self._report(method, path, started, AlegraError(
                "Alegra no respondió a tiempo al intentar conectar.", kind="timeout")) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise self._report(method, path, started, AlegraError(
                f"Alegra no respondió en {timeout[1]:g} segundos.", kind="timeout",
                maybe_sent=True)) from exc
        except requests.exceptions.ConnectionError as exc:
            # A refused or unresolvable connection never reached Alegra; a reset one may have.
            sent = not _is_connect_failure(exc)
            raise self._report(method, path, started, AlegraError(
                f"No se pudo conectar con {urlsplit(url).netloc}.", kind="connection",
                maybe_sent=sent)) from exc
        self._remember_window(response.headers)
        body = _decode(response)
        if response.status_code >= 400:
            raise self._report(method, path, started, self._http_error(response, body),
                               response.status_code)
        self._report(method, path, started, None, response.status_code)
        return body

    def _http_error(self, response, body):
        status = response.status_code
        reset = _reset_header(response.headers)
        if body is UNREADABLE:
            # A proxy's or gateway's page, not Alegra's judgement of the data: never shown
            # raw, never a rejection, and a write it answered may still have gone through.
            return AlegraError(
                f"Alegra respondió algo que no se pudo leer (HTTP {status}); suele ser una "
                f"falla momentánea de Alegra o de la red.",
                status=status, kind="unreadable", maybe_sent=status != 429, reset=reset)
        code, message = parse_error_body(body)
        return AlegraError(
            message or f"Alegra respondió con el estado HTTP {status}.",
            status=status, code=code, body=body if isinstance(body, dict) else {},
            maybe_sent=status >= 500, reset=reset,
        )

    def _report(self, method, path, started, error, status=None):
        if self.on_call:
            self.on_call(method=method, path=path.split("?")[0], status=status,
                         duration_ms=int((time.monotonic() - started) * 1000), error=error)
        return error

    def _remember_window(self, headers):
        remaining = _header_int(headers, "X-Rate-Limit-Remaining")
        reset = _reset_header(headers)
        if remaining is None:
            return
        if self.budget is not None:
            self.budget.observe(remaining, reset)
            return
        with _windows_lock:
            _windows[self._window_key] = _Window(remaining, time.monotonic() + (reset or 0))

    def _wait_for_window(self):
        """Sleep until the window resets when the last response said none are left."""
        if self.budget is not None:
            self.budget.acquire()  # raises instead of sleeping inside a web request
            return
        with _windows_lock:
            window = _windows.get(self._window_key)
            if window is None or window.remaining is None:
                return
            if window.remaining > 0:
                window.remaining -= 1
                return
            wait = window.reset_at - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, self.max_rate_wait))


def _is_connect_failure(exc):
    text = repr(exc)
    return any(s in text for s in ("NewConnectionError", "NameResolutionError",
                                   "Connection refused", "Failed to establish"))


# The decoded body of an error answer that is not JSON (its text is never shown to users).
UNREADABLE = object()


def _decode(response):
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        if response.status_code >= 400:
            log.info("Alegra answered HTTP %s with a non-JSON body", response.status_code)
            return UNREADABLE
        return {}


def unwrap_list(body):
    """Return the rows of a list response: bare array, {data: [...]} or {results: [...]}."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("data", "results"):
            if isinstance(body.get(key), list):
                return body[key]
    return []
