"""Ports the tests own: reserved by binding them, so no other process can take them while a test runs."""

import contextlib
import socket
from collections.abc import Iterator


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port bound by this process and never listened on: connecting to it is refused, whatever
    else runs on the machine (a developer's SMTP sink on 8025, another test run)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
