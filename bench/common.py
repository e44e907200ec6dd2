"""Shared helpers for the benchmarks: timing, percentiles, machine description."""
import os
import platform
import statistics
import time


def percentile(samples, pct):
    """Return the pct-th percentile (nearest rank) of samples."""
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def timed(fn, *args, **kwargs):
    """Run fn once; return (milliseconds, result)."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def summary(samples_ms):
    """Return p50, p95 and max of a list of milliseconds."""
    return {"p50": statistics.median(samples_ms), "p95": percentile(samples_ms, 95),
            "max": max(samples_ms), "n": len(samples_ms)}


def machine():
    """One line describing this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")
