"""Report templates as PDF (SPEC A6, S3): placeholders filled in the sandbox, then xhtml2pdf, with every
fetch confined.

A report template is written by an administrator, but its placeholders carry client data, so the markup is
treated as untrusted: xhtml2pdf's ResourceAccessPolicy refuses every network access (http, https, ftp) and
confines local reads to our own static/ folder, so `<img src="http://…">` or `file:///etc/passwd` reads
nothing. `link_callback` only maps `/static/…` links to that folder; rewriting is not authorising, and the
policy still checks the result.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from engine import render
from engine.errors import PermanentError

STATIC_DIR = (Path(__file__).resolve().parent.parent / "static").resolve()
PAPER_SIZES = {"A4": "a4", "Letter": "letter"}
ORIENTATIONS = ("portrait", "landscape")
log = logging.getLogger("oppflow")


def policy() -> ResourceAccessPolicy:
    """No network at all; local reads only under static/; every render limit on."""
    return ResourceAccessPolicy.server(base_dir=STATIC_DIR, allow_remote=False, allowed_hosts=frozenset(),
                                       max_render_seconds=60)


def link_callback(uri: str, rel: str | None) -> str | None:
    """`/static/css/x.css` → the file in our static folder; anything else unchanged (the policy decides)."""
    if isinstance(uri, str) and uri.startswith("/static/"):
        return str((STATIC_DIR / uri.removeprefix("/static/")).resolve())
    return None


def page_css(paper_size: str, orientation: str) -> str:
    """The @page rule for a paper size and orientation."""
    size = PAPER_SIZES.get(paper_size, "a4")
    if orientation == "landscape":
        size += " landscape"
    return f"@page {{ size: {size}; margin: 1.5cm; }}\n"


def document(html: str, css: str, paper_size: str, orientation: str, lang: str) -> str:
    """The filled-in body in a complete HTML document with the page rule and the template's CSS."""
    style = (page_css(paper_size, orientation) + (css or "")).replace("</", "<\\/")
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<style>{style}</style></head><body>{html}</body></html>")


def html_to_pdf(source: str) -> bytes:
    """xhtml2pdf with the confined policy; a document it cannot lay out is a PermanentError."""
    out = io.BytesIO()
    status = pisa.CreatePDF(source, dest=out, link_callback=link_callback, resource_policy=policy(),
                            encoding="utf-8")
    if status.err:
        raise PermanentError(_("The report could not be laid out as a PDF (%(count)s errors).", count=status.err))
    return out.getvalue()


def fill(html: str, opp, recipient=None) -> str:
    """The template's placeholders filled in the current locale; an error is a PermanentError."""
    try:
        return render.render(html, render.context(opp, recipient), html=True)
    except Exception as err:  # noqa: BLE001 - any template error is the template's fault, said in words
        raise PermanentError(_("The report template could not be filled in: %(error)s",
                               error=render.reason(err))) from err


def render_report(template, opp, lang: str, recipient=None) -> bytes:
    """A report template as PDF bytes for one opportunity, in `lang` (amounts and dates too)."""
    with force_locale(lang):
        body = fill(template.html or "", opp, recipient)
        return html_to_pdf(document(body, template.css or "", template.paper_size,
                                    getattr(template, "orientation", None) or "portrait", lang))


def filename_for(template, opp) -> str:
    """A safe file name: the label and the opportunity number."""
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in (template.label or "report")).strip("-")
    return f"{stem or 'report'}-{opp.id}.pdf"
