"""The process that fills user-written templates in, under limits (SPEC S2; issue "bounded templates").

A template is code its author controls: `{% for %}` over `range(100000)` twice, `{{ 9**9**9 }}`,
`{{ ('a'*100000)*100000 }}` or a macro that calls itself would keep a web thread busy or grow its process
to gigabytes. Web processes are threads, where no alarm can stop one request, so rendering happens here:
a separate Python process (engine.template_pool starts and feeds it) with an address-space limit, an
output limit and a recursion limit, which its parent kills when it takes longer than its time budget.

This module imports only Jinja: it runs as a script (`python template_child.py`) and is imported by
engine.render for the same sandbox when templates are parsed at save. Requests and answers are JSON frames
(4-byte length, then UTF-8): JSON rather than pickle, so even a sandbox escape could not send its parent
anything but data.
"""

from __future__ import annotations

import json
import os
import struct
import sys

from jinja2 import ChainableUndefined, TemplateError
from jinja2 import sandbox as _sandbox
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

INTERNAL_NAMES = frozenset().union(
    _sandbox.UNSAFE_FUNCTION_ATTRIBUTES, _sandbox.UNSAFE_METHOD_ATTRIBUTES, _sandbox.UNSAFE_GENERATOR_ATTRIBUTES,
    _sandbox.UNSAFE_COROUTINE_ATTRIBUTES, _sandbox.UNSAFE_ASYNC_GENERATOR_ATTRIBUTES, {"mro"},
)
MAX_SEQUENCE = 1_000_000   # items or characters one `*` may build
MAX_POWER_BITS = 4_096     # bits the result of `**` may have


class Unsafe(SecurityError):
    """A name that is not a placeholder (the parent says so in the user's words)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class TooBig(Exception):
    """A value or output past the limits: `what` is "number", "text" or "output"."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, where reaching for an internal attribute fails loudly instead of rendering empty, and
    `*` and `**` refuse to build values no message needs before spending the time and memory on them."""

    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj, attr, value) -> bool:
        return attr not in INTERNAL_NAMES and super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj, attribute):
        raise Unsafe(attribute)

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            if _is_int(left) and _is_int(right) and abs(left) > 1 and right * abs(left).bit_length() > MAX_POWER_BITS:
                raise TooBig("number")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and _is_int(times) and len(seq) * times > MAX_SEQUENCE:
                    raise TooBig("text")
        return super().call_binop(context, operator, left, right)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def make_env(html: bool) -> Sandbox:
    """The sandbox for HTML (autoescaped) or plain-text templates; a missing value renders empty. Not
    optimized: Jinja's optimizer would call filters on constants while compiling (`'a'|center(10**9)`),
    which the web process does when it checks a template at save."""
    return Sandbox(autoescape=html, undefined=ChainableUndefined, optimized=False)


# -- the child's loop ---------------------------------------------------------------------------------

_ENVS: dict[bool, Sandbox] = {}
_COMPILED: dict[tuple[str, bool], object] = {}


def _template(source: str, html: bool):
    key = (source, html)
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        env = _ENVS.get(html) or _ENVS.setdefault(html, make_env(html))
        found = _COMPILED[key] = env.from_string(source)
    return found


def _fill(source: str, values: dict, html: bool, max_output: int) -> str:
    """The template's text, stopped as soon as it passes `max_output` characters."""
    parts, size = [], 0
    for chunk in _template(source, html).generate(values):
        size += len(chunk)
        if size > max_output:
            raise TooBig("output")
        parts.append(chunk)
    return "".join(parts)


def _line() -> int | None:
    """The template line the current exception came from (Jinja rewrites tracebacks to point at it)."""
    tb, line = sys.exc_info()[2], None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def answer(job: dict, max_output: int) -> dict:
    """One template filled in: {"text": …} or {"error": kind, "detail": …, "line": n}."""
    try:
        return {"text": _fill(job["source"], job["values"], job["html"], max_output)}
    except Unsafe as err:
        return {"error": "unsafe", "detail": err.name, "line": _line()}
    except TooBig as err:
        return {"error": err.what, "line": _line()}
    except MemoryError:
        return {"error": "memory", "line": None, "fatal": True}
    except RecursionError:
        return {"error": "recursion", "line": None}
    except SecurityError as err:
        return {"error": "security", "detail": str(err), "line": _line()}
    except TemplateError as err:
        return {"error": "template", "detail": err.message or str(err), "line": getattr(err, "lineno", None) or _line()}
    except Exception as err:  # noqa: BLE001 - a value's own error (a filter on a wrong type): said in words
        return {"error": "value", "detail": f"{type(err).__name__}: {err}", "line": _line()}


def read(stream) -> dict | None:
    """The next JSON frame on `stream`, or None when it closed."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    return json.loads(stream.read(size))


def write(stream, message: dict) -> None:
    """`message` as one JSON frame."""
    data = json.dumps(message).encode()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def limit_memory(extra_bytes: int) -> None:
    """Cap the address space at what the process uses now plus `extra_bytes`."""
    import resource

    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    now = pages * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (now + extra_bytes, now + extra_bytes))


def main() -> None:
    """Serve requests on stdin until it closes; exit after a MemoryError (the heap may be in pieces)."""
    sys.setrecursionlimit(int(os.environ.get("OPPFLOW_TEMPLATE_RECURSION", "400")))
    try:
        limit_memory(int(os.environ.get("OPPFLOW_CHILD_MEMORY", str(96 * 1024 * 1024))))
    except (OSError, ValueError):
        pass  # no /proc (not Linux): the parent's time budget still bounds the work
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    write(stdout, {"ready": True})  # started and imported: the parent's time budget counts from here
    while True:
        request = read(stdin)
        if request is None:
            return
        results = [answer(job, request["max_output"]) for job in request["jobs"]]
        write(stdout, {"results": results})
        if any(r.get("fatal") for r in results):
            return


if __name__ == "__main__":
    main()
