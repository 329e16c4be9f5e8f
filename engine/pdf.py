"""Report templates as PDF (SPEC A6, S3): placeholders filled in the sandbox, then xhtml2pdf, with every
fetch confined.

A report template is written by an administrator, but its placeholders carry client data, so the markup is
treated as untrusted: xhtml2pdf's ResourceAccessPolicy refuses every network access (http, https, ftp) and
confines local reads to our own static/ folder, so `<img src="http://…">` or `file:///etc/passwd` reads
nothing. `link_callback` only maps `/static/…` links to that folder; rewriting is not authorising, and the
policy still checks the result.
"""

from __future__ import annotations

import base64
import logging

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _

from engine import render, template_pool
from engine.errors import PermanentError

PAPER_SIZES = {"A4": "a4", "Letter": "letter"}
ORIENTATIONS = ("portrait", "landscape")
log = logging.getLogger("oppflow")


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
    """xhtml2pdf with the confined policy, in a child process under PDF_SECONDS and PDF_MEMORY
    (engine.pdf_child); a document it cannot lay out in time is a PermanentError."""
    cfg = current_app.config if has_app_context() else {}
    seconds = cfg.get("PDF_SECONDS", 60.0)
    try:
        answer = template_pool.ask(template_pool.PDF_CHILD, {"html": source}, seconds,
                                   cfg.get("PDF_MEMORY", 512 * 1024 * 1024))
    except template_pool.Overrun:
        raise PermanentError(_("The report took longer than %(seconds)s s to lay out as a PDF.",
                               seconds=f"{seconds:g}")) from None
    if answer.get("error") == "layout":
        raise PermanentError(_("The report could not be laid out as a PDF (%(count)s errors).", count=answer["count"]))
    if answer.get("error") == "nesting":
        raise PermanentError(_("The report's HTML is nested too deeply to lay out as a PDF."))
    if answer.get("error") == "memory":
        raise PermanentError(_("The report needs more memory to lay out than a report may use."))
    return base64.b64decode(answer["pdf"])


def fill(html: str, opp, recipient=None) -> str:
    """The template's placeholders filled in the current locale; an error is a PermanentError."""
    try:
        return render.render(html, render.context(opp, recipient, [html]), html=True)
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
