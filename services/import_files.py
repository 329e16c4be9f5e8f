"""Reading an uploaded table (CSV or XLSX) into a header and rows, with bounded work: the machine is shared,
so a file that is too large, has too many rows or columns, or unpacks to far more than it weighs is refused
with a translated message (FileRefused, 4xx) before it costs memory or time.

CSV: UTF-8 (a BOM is fine), comma or semicolon separated (sniffed from the header line). XLSX: the first
sheet, read by openpyxl in read-only mode with the cached values of formulas; cells keep their types
(numbers, dates, booleans), so they are taken as typed rather than re-read as text.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _

MAX_ROWS = 5000
MAX_COLUMNS = 100
# The whole XLSX unpacked (sheets, shared strings, styles): a file that unpacks to more is a zip bomb or
# far beyond any opportunity list; zipfile never yields more than an entry declares, so declared sizes bound it.
MAX_UNPACKED = 40 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
MAX_CELL = 10_000


class FileRefused(ValueError):
    """A file that cannot be imported, with the translated reason and the status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass
class Table:
    header: list[str]
    rows: list[list[object]]  # each row as long as the header; values are str, or typed XLSX cells


def kind_of(filename: str, content: bytes) -> str:
    """"csv" or "xlsx" from the name and the bytes, or FileRefused."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        if not content.startswith(b"PK"):
            raise FileRefused(_("This file is not a valid XLSX workbook."))
        return "xlsx"
    if name.endswith(".csv") or name.endswith(".txt"):
        return "csv"
    raise FileRefused(_("Upload a CSV or XLSX file."), 415)


def read_table(kind: str, content: bytes) -> Table:
    """The header and rows of the file, or FileRefused."""
    raw = _read_csv(content) if kind == "csv" else _read_xlsx(content)
    header_row = next(raw, None)
    if header_row is None:
        raise FileRefused(_("The file is empty: the first row must name the columns."), 422)
    header = [_text(h) for h in header_row]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise FileRefused(_("The file is empty: the first row must name the columns."), 422)
    if len(header) > MAX_COLUMNS:
        raise FileRefused(_("The file has more than %(max)d columns.", max=MAX_COLUMNS), 422)
    rows: list[list[object]] = []
    for row in raw:
        values = list(row[: len(header)]) + [None] * (len(header) - len(row))
        if any(len(row) > len(header) and _text(v) for v in row[len(header):]):
            raise FileRefused(_("Row %(row)d has more values than the header has columns.", row=len(rows) + 2), 422)
        if all(_text(v) == "" for v in values):
            continue  # blank lines (and the empty rows spreadsheets keep) are not opportunities
        if len(rows) >= MAX_ROWS:
            raise FileRefused(_("The file has more than %(max)d rows; split it into smaller files.", max=MAX_ROWS),
                              422)
        rows.append(values)
    return Table(header, rows)


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _read_csv(content: bytes):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(_("The CSV file is not UTF-8 text: save it as “CSV UTF-8” and try again."), 422) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS + 50:
                raise FileRefused(_("The file has more than %(max)d columns.", max=MAX_COLUMNS), 422)
            if any(len(cell) > MAX_CELL for cell in row):
                raise FileRefused(_("A value in the file is longer than %(max)d characters.", max=MAX_CELL), 422)
            yield row
    except csv.Error:
        raise FileRefused(_("The CSV file could not be read: check its quotes and separators."), 422) from None


def check_zip(content: bytes) -> None:
    """Refuse a workbook that is no zip, has too many parts, or unpacks to more than MAX_UNPACKED."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRefused(_("This file is not a valid XLSX workbook.")) from None
    if len(entries) > MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED:
        raise FileRefused(_("This workbook unpacks to more data than an import may hold."), 413)
    if not any(e.filename.startswith("xl/worksheets/") for e in entries):
        raise FileRefused(_("This file is not a valid XLSX workbook."))


def _read_xlsx(content: bytes):
    check_zip(content)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, XML errors, InvalidFileException) for a bad file
        raise FileRefused(_("This file is not a valid XLSX workbook.")) from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1):
            cells = list(row)
            if any(isinstance(c, str) and len(c) > MAX_CELL for c in cells):
                raise FileRefused(_("A value in the file is longer than %(max)d characters.", max=MAX_CELL), 422)
            yield cells
    except FileRefused:
        raise
    except Exception:
        raise FileRefused(_("This file is not a valid XLSX workbook.")) from None
    finally:
        book.close()
