"""Child processes for work a user's text controls, started on first use and reused: filling templates
in (engine.template_child) and laying HTML out as PDF (engine.pdf_child).

Each web or worker process keeps a few idle children of each script. A request takes one, sends its templates, and waits
at most the time budget; a child that overruns is killed (SIGKILL stops even a C-level `9**9**9`) and a
new one is started for the next request. Children of a parent that forked are left to that parent.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

CHILD = str(Path(__file__).with_name("template_child.py"))
PDF_CHILD = str(Path(__file__).with_name("pdf_child.py"))
MAX_IDLE = 2
STARTUP_SECONDS = 30.0  # starting Python and importing Jinja, on a busy machine: not the template's time


class Overrun(Exception):
    """The child did not answer within the time budget, or died (it was killed; nothing was rendered)."""


class _Child:
    def __init__(self, script: str, memory_bytes: int) -> None:
        self.script = script
        env = {"PATH": os.environ.get("PATH", ""), "OPPFLOW_CHILD_MEMORY": str(memory_bytes),
               "PYTHONHASHSEED": "random"}
        # -P: engine/ is not put first on the path (its calendar.py and mail.py would shadow the standard
        # library's); -E: no PYTHON* variables.
        self.proc = subprocess.Popen([sys.executable, "-E", "-P", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, close_fds=True)
        self.owner = os.getpid()
        self._answer(time.monotonic() + STARTUP_SECONDS)  # {"ready": true}

    def _answer(self, deadline: float) -> dict:
        (size,) = struct.unpack(">I", self._read(4, deadline))
        return json.loads(self._read(size, deadline))

    def ask(self, request: dict, seconds: float) -> dict:
        data = json.dumps(request).encode()
        try:
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            self.kill()
            raise Overrun("died") from err
        return self._answer(time.monotonic() + seconds)

    def _read(self, size: int, deadline: float) -> bytes:
        """Exactly `size` bytes from the child's stdout, or Overrun (child killed) at the deadline."""
        fd, got = self.proc.stdout.fileno(), bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while len(got) < size:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.kill()
                    raise Overrun("time")
                chunk = os.read(fd, size - len(got))
                if not chunk:
                    self.kill()
                    raise Overrun("died")
                got += chunk
        return bytes(got)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


_lock = threading.Lock()
_idle: list[_Child] = []


def _take(script: str, memory_bytes: int) -> _Child:
    with _lock:
        for child in [c for c in _idle if c.script == script]:
            _idle.remove(child)
            if child.owner == os.getpid() and child.alive():
                return child
            if child.owner == os.getpid():
                child.kill()
            # else: inherited over a fork; its pipes belong to the parent process, leave it be.
    return _Child(script, memory_bytes)


def _give_back(child: _Child) -> None:
    with _lock:
        if child.alive() and sum(c.script == child.script for c in _idle) < MAX_IDLE:
            _idle.append(child)
            return
    child.kill()


def ask(script: str, request: dict, seconds: float, memory_bytes: int) -> dict:
    """Send `request` to an idle child running `script` and return its answer; Overrun when it takes longer
    than `seconds` (the child is killed). A child whose answer says "fatal" is not reused."""
    child = _take(script, memory_bytes)
    try:
        answer = child.ask(request, seconds)
    except BaseException:
        child.kill()
        raise
    if answer.get("fatal") or any(r.get("fatal") for r in answer.get("results", ())):
        child.kill()  # it exits after a MemoryError: never hand it to the next request
    else:
        _give_back(child)
    return answer


def fill(jobs: list[dict], max_output: int, seconds: float, memory_bytes: int) -> list[dict]:
    """Render `jobs` ({source, values, html}) in a child; one answer per job (engine.template_child.answer).
    Raises Overrun when the child takes longer than `seconds` for all of them together."""
    return ask(CHILD, {"jobs": jobs, "max_output": max_output}, seconds, memory_bytes)["results"]


def warm(memory_bytes: int) -> None:
    """Start an idle child ahead of the first template (a worker does, so its first run waits no start)."""
    _give_back(_take(CHILD, memory_bytes))


def shutdown() -> None:
    """Stop this process's idle children (tests; a process that exits closes their pipes anyway)."""
    with _lock:
        children = [c for c in _idle if c.owner == os.getpid()]
        _idle.clear()
    for child in children:
        child.kill()


atexit.register(shutdown)  # idle children end with their parent, quietly
