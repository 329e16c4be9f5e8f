"""Keyset paging for the API's lists: newest (highest id) first, `limit` rows after the cursor."""

from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from extensions import db

from .schemas import decode_cursor, encode_cursor


def keyset_page(stmt: Select, id_column, args: dict, unique: bool = False) -> dict:
    """One page of `stmt` ordered by `id_column` descending: {"items", "next_cursor"}; a cursor the API
    never gave is a 400."""
    try:
        after = decode_cursor(args.get("cursor"))
    except ValueError:
        abort(400, description=_l("The cursor is not one this API gave; start again without it."))
    if after is not None:
        stmt = stmt.where(id_column < after)
    limit = args["limit"]
    result = db.session.execute(stmt.order_by(None).order_by(id_column.desc()).limit(limit + 1))
    rows = list(result.unique().scalars() if unique else result.scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}
