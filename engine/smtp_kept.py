"""SMTP sessions a worker keeps open between jobs (engine.mail.Connection), per set of credentials.

A send-email run sends its own messages, so without this a worker connects, is greeted, says EHLO, secures
the connection and logs in again for every email: over TLS to a real server that is most of an email's time,
and on loopback it halved the messages a worker sends per second (docs/performance.md). After a run whose
messages were all accepted, its session is put back here; the next run through the same credentials (same
host, port, security, login and password: the Sender, its key) takes it, checks it with NOOP before any
message goes (a session the server closed meanwhile is replaced by a new one, nothing having been sent on
it), and sends. Limits: a session is kept at most MAIL_KEEP_SECONDS idle (0: never kept) and for at most
KEEP_MESSAGES messages (some servers refuse more per session: Exchange's default is 20), and only a session
with no failure is kept. A process keeps one session per set of credentials, closes them with QUIT when it
ends, and a forked child starts with none (the parent's sockets are not its to use)."""

from __future__ import annotations

import atexit
import os
import smtplib
import threading
import time
from dataclasses import dataclass

KEEP_MESSAGES = 20
# How long the NOOP that checks a kept session may wait: a session dropped silently (a firewall's idle
# timeout) must not hold a run for the whole MAIL_TIMEOUT before a new one is opened.
CHECK_SECONDS = 3.0


@dataclass
class Kept:
    smtp: smtplib.SMTP
    sent: int  # messages sent over it so far
    since: float  # time.monotonic() it was put back


_kept: dict = {}  # Sender -> Kept
_lock = threading.Lock()


def take(sender, keep_seconds: float) -> Kept | None:
    """The session kept for `sender`, removed from the pool (one user at a time); None when there is none or
    it has been idle longer than `keep_seconds` (then closed with QUIT: the caller is the background thread
    of Connection.open_soon)."""
    with _lock:
        kept = _kept.pop(sender, None)
    if kept is None:
        return None
    if time.monotonic() - kept.since > keep_seconds:
        quit_quietly(kept.smtp)
        return None
    return kept


def check(kept: Kept, timeout: float) -> bool:
    """Whether the kept session still answers: NOOP with a short timeout, then the session's own again."""
    sock = kept.smtp.sock
    if sock is None:
        return False
    try:
        sock.settimeout(min(timeout, CHECK_SECONDS))
        alive = kept.smtp.noop()[0] == 250
        sock.settimeout(timeout)
    except (smtplib.SMTPException, OSError):
        alive = False
    if not alive:
        kept.smtp.close()
    return alive


def put(sender, smtp: smtplib.SMTP, sent: int, keep_seconds: float) -> bool:
    """Keep `smtp` for the next run through `sender`; False when it is not to be kept (the caller closes it):
    keeping is off, the session has carried KEEP_MESSAGES, or one is kept for these credentials already."""
    if keep_seconds <= 0 or sent >= KEEP_MESSAGES:
        return False
    with _lock:
        if sender in _kept:
            return False
        _kept[sender] = Kept(smtp, sent, time.monotonic())
    return True


def quit_quietly(smtp: smtplib.SMTP) -> None:
    """QUIT, waiting CHECK_SECONDS at most for the goodbye of a session that may have died idle."""
    try:
        if smtp.sock is not None:
            smtp.sock.settimeout(CHECK_SECONDS)
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def close_all() -> None:
    """QUIT every kept session (the process ends)."""
    with _lock:
        sessions = list(_kept.values())
        _kept.clear()
    for kept in sessions:
        quit_quietly(kept.smtp)


def _forget() -> None:
    """In a forked child: the sockets are the parent's, dropped without a word to the server."""
    global _lock
    _kept.clear()
    _lock = threading.Lock()  # another thread may have held it when the process forked


atexit.register(close_all)
os.register_at_fork(after_in_child=_forget)
