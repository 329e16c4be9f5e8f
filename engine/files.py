"""Keeping the files action runs send (reports, exports): bytes under FILES_DIR, a StoredFile row each.

The file is written before the email goes (atomically: a temporary name, then a rename), so the row and
the bytes exist whenever the message could have been sent; its sha256 lets the download prove it serves
exactly what was attached. A retry of the same run reuses the file it already made, so every attempt
attaches the same bytes the recorded Message-ID stands for.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from engine import dry_run
from extensions import db
from models import StoredFile


def root() -> Path:
    return Path(current_app.config["FILES_DIR"])


def made_once(run, filename: str, content_type: str, make) -> tuple[StoredFile, bytes]:
    """The file this run stored under this name on an earlier attempt, if its bytes are intact; else
    `make()`'s bytes, stored now. A retried attempt so sends exactly the file the first one made."""
    row = db.session.execute(select(StoredFile).where(StoredFile.run_id == run.id, StoredFile.filename == filename)
                             ).scalars().first()
    content = read(row) if row is not None else None
    if content is None and dry_run.active() is not None:
        # A dry run names the file without making it (a report's PDF takes a child process and ~170 ms a
        # page) or writing it: the row is added, rolled back with the rest, the attachment left empty.
        dry_run.note_file(run, filename)
        row = StoredFile(run_id=run.id, opportunity_id=run.opportunity_id, kind=run.kind, filename=filename,
                         content_type=content_type, size=0, sha256="", path="")
        return row, b""
    if content is None:
        content = make()
        row = store(run, filename, content, content_type)
    return row, content


def summary(stored: StoredFile) -> dict:
    """What a run's result says about a file it sent (the history links it for download)."""
    return {"id": stored.id, "filename": stored.filename, "size": stored.size, "sha256": stored.sha256}


def store(run, filename: str, content: bytes, content_type: str) -> StoredFile:
    """Write the bytes under FILES_DIR/<opportunity>/<run>-<sha>-<name> and add their row (flushed)."""
    if dry_run.active() is not None:
        raise dry_run.CommitInDryRun("a dry run writes no file")
    digest = hashlib.sha256(content).hexdigest()
    relative = Path(str(run.opportunity_id)) / f"{run.id}-{digest[:12]}-{filename}"
    target = root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, target)
    row = StoredFile(run_id=run.id, opportunity_id=run.opportunity_id, kind=run.kind, filename=filename,
                     content_type=content_type, size=len(content), sha256=digest, path=str(relative))
    db.session.add(row)
    db.session.flush()
    return row


def read(row: StoredFile) -> bytes | None:
    """The stored bytes, or None when the file is gone or no longer matches its sha256."""
    path = (root() / row.path).resolve()
    if not path.is_relative_to(root().resolve()) or not path.is_file():
        return None
    content = path.read_bytes()
    return content if hashlib.sha256(content).hexdigest() == row.sha256 else None
