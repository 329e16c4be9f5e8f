"""Where a form may send the user back to: only a path of this site (an open redirect would let a crafted link
send users elsewhere after they act here)."""

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """`target` when it is a same-site relative path, else None. "//host" and "/\\host" are other sites to a
    browser (it reads a backslash as a slash), so both are refused."""
    if not target or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
