"""Who is sending a stamp POST, so a later reader can tell a dead sender from a live one.

An attempt stores ``host|boot|pid|process-start``. The sender is surely dead when it ran on
this machine and that process no longer exists (or the pid now belongs to another process,
or the machine rebooted), or when it is this very process and no thread holds the attempt.
A sender on another machine is presumed alive until the grace period ends.
"""
import os
import socket
import threading

import psutil

_held = set()
_lock = threading.Lock()


def _identity(pid):
    process = psutil.Process(pid)
    return f"{socket.gethostname()}|{int(psutil.boot_time())}|{pid}|{process.create_time():.3f}"


_me = {}


def me():
    """This process's identity (computed per pid: a forked worker is another sender)."""
    pid = os.getpid()
    if pid not in _me:
        _me[pid] = _identity(pid)
    return _me[pid]


def hold(marker):
    """Mark marker as being sent by a thread of this process."""
    with _lock:
        _held.add(marker)


def release(marker):
    """The thread sending marker is done with it."""
    with _lock:
        _held.discard(marker)


def sender_dead(owner, marker):
    """True when the process that sent marker certainly no longer runs."""
    if not owner:
        return False
    if owner == me():
        with _lock:
            return marker not in _held
    try:
        host, boot, pid, _started = owner.split("|")
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    if boot != str(int(psutil.boot_time())):
        return True
    try:
        return _identity(int(pid)) != owner
    except (psutil.Error, ValueError):
        return True
