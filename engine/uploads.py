"""Files uploaded in an action's form (M5 "Schedule activity" → attachment): checked, then kept under
FILES_DIR/action-uploads/<sha256> until a run copies them into a StoredFile of its opportunity.

Only a short list of document and image types is accepted, each recognised by its first bytes as well as
its name (a renamed program is refused), and at most UPLOAD_MAX_BYTES. The action's config names the file
by a token "<sha256>/<file name>": content-addressed, so a duplicated or copied action shares the bytes,
and a token posted back by the edit form is checked again against the bytes on disk.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
FOLDER = "action-uploads"

_ZIP = b"PK\x03\x04"
# extension: (content type, how its bytes begin: None for text, which must be UTF-8 without NUL bytes)
TYPES = {
    "pdf": ("application/pdf", b"%PDF-"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    "txt": ("text/plain", None),
    "csv": ("text/csv", None),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "odt": ("application/vnd.oasis.opendocument.text", _ZIP),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", _ZIP),
}
_TOKEN = re.compile(r"^([0-9a-f]{64})/(.{1,120})$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\<>:\"|?*]")


class UploadRefused(ValueError):
    """A file that may not be attached, with the reason in words."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def token(self) -> str:
        return f"{self.sha256}/{self.filename}"


def max_bytes() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def allowed_names() -> str:
    return ", ".join(sorted(TYPES))


def clean_filename(name: str | None) -> str:
    """The last part of the name a browser sent, without characters unsafe in a file name or a header."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[-120:]


def check(filename: str | None, content: bytes) -> Upload:
    """The upload if its name, size and first bytes are of an allowed type, else UploadRefused."""
    name = clean_filename(filename)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in TYPES:
        raise UploadRefused(_("Files of this type cannot be attached. Allowed: %(types)s.", types=allowed_names()))
    if len(content) > max_bytes():
        raise UploadRefused(_("The file is larger than %(size)s MB.", size=f"{max_bytes() / 1024 / 1024:g}"))
    if not content:
        raise UploadRefused(_("The file is empty."))
    content_type, magic = TYPES[extension]
    if magic is None:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise UploadRefused(_("The file's content does not match its type (.%(ext)s).", ext=extension)) from None
        if b"\x00" in content:
            raise UploadRefused(_("The file's content does not match its type (.%(ext)s).", ext=extension))
    elif not content.startswith(magic):
        raise UploadRefused(_("The file's content does not match its type (.%(ext)s).", ext=extension))
    return Upload(name, content_type, content)


def read_stream(storage) -> bytes:
    """At most one byte past the limit of an uploaded file (werkzeug FileStorage), so a huge file is not
    read whole to be refused."""
    storage.stream.seek(0)
    content = storage.stream.read(max_bytes() + 1)
    storage.stream.seek(0)
    return content


def _path(sha256: str) -> Path:
    return Path(current_app.config["FILES_DIR"]) / FOLDER / sha256


def keep(upload: Upload) -> str:
    """Write the bytes once under their sha256 (atomically) and return the config's token."""
    target = _path(upload.sha256)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(upload.content)
        os.replace(tmp, target)
    return upload.token


def load(token: str | None) -> Upload:
    """The kept upload a token names, checked again (type, size, sha256), else UploadRefused."""
    match = _TOKEN.match(token or "")
    if match is None:
        raise UploadRefused(_("The attached file is not known: upload it again."))
    sha256, filename = match.groups()
    path = _path(sha256)
    if not path.is_file():
        raise UploadRefused(_("The attached file “%(name)s” is missing: upload it again.", name=filename))
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != sha256:
        raise UploadRefused(_("The attached file “%(name)s” is damaged: upload it again.", name=filename))
    return check(filename, content)


def name_of(token: str | None) -> str | None:
    """The file name a token carries (for summaries), or None."""
    match = _TOKEN.match(token or "")
    return match.group(2) if match else None
