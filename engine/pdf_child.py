"""The process that lays a report's HTML out as PDF, under limits (SPEC A6, S3).

xhtml2pdf on markup a template produced can take minutes — 2,000 nested `<div>`s took 15 s and then a
RecursionError, 10,000 more than two minutes — so, as for filling templates in (engine.template_child),
the layout runs in a child process with an address-space limit, which its parent kills past its time
budget (engine.template_pool). Fetches stay confined as before: no network at all, local reads only
under static/.

Runs as a script (`python pdf_child.py`); engine.pdf imports `policy` and `link_callback` from here.
"""

from __future__ import annotations

import base64
import io
import os
import sys
from pathlib import Path

from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

STATIC_DIR = (Path(__file__).resolve().parent.parent / "static").resolve()


def policy() -> ResourceAccessPolicy:
    """No network at all; local reads only under static/; every render limit on."""
    return ResourceAccessPolicy.server(base_dir=STATIC_DIR, allow_remote=False, allowed_hosts=frozenset(),
                                       max_render_seconds=60)


def link_callback(uri: str, rel: str | None) -> str | None:
    """`/static/css/x.css` → the file in our static folder; anything else unchanged (the policy decides)."""
    if isinstance(uri, str) and uri.startswith("/static/"):
        return str((STATIC_DIR / uri.removeprefix("/static/")).resolve())
    return None


def layout(html: str) -> dict:
    """{"pdf": base64} or {"error": "layout", "count": n} / "nesting" / "memory" (fatal)."""
    out = io.BytesIO()
    try:
        status = pisa.CreatePDF(html, dest=out, link_callback=link_callback, resource_policy=policy(),
                                encoding="utf-8")
    except RecursionError:
        return {"error": "nesting"}
    except MemoryError:
        return {"error": "memory", "fatal": True}
    if status.err:
        return {"error": "layout", "count": status.err}
    return {"pdf": base64.b64encode(out.getvalue()).decode()}


def main() -> None:
    """Serve layouts on stdin until it closes (frames as engine.template_child's)."""
    sys.path.append(str(Path(__file__).resolve().parent))  # after the standard library: engine/ shadows none
    import template_child as frames

    try:
        frames.limit_memory(int(os.environ.get("OPPFLOW_CHILD_MEMORY", str(512 * 1024 * 1024))))
    except (OSError, ValueError):
        pass
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    frames.write(stdout, {"ready": True})
    while True:
        request = frames.read(stdin)
        if request is None:
            return
        answer = layout(request["html"])
        frames.write(stdout, answer)
        if answer.get("fatal"):
            return


if __name__ == "__main__":
    main()
