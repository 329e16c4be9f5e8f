"""The document to sign: a report template rendered to PDF for an opportunity, in a language.

Uses engine.pdf (the reports issue) when it exists; until then a small xhtml2pdf rendering with
remote fetches refused. One function, so the swap is one line.
"""

from __future__ import annotations

import io

from flask_babel import force_locale
from flask_babel import gettext as _

from engine.errors import PermanentError


def render_pdf(template, opp, language: str) -> bytes:
    """The report template filled in for the opportunity, as PDF bytes; a bad template is a PermanentError."""
    try:
        from engine import pdf  # type: ignore[attr-defined]
    except ImportError:
        pdf = None
    if pdf is not None and hasattr(pdf, "render_report"):
        return pdf.render_report(template, opp, language)
    return _xhtml2pdf(template, opp, language)


def _no_fetch(uri, rel):
    """xhtml2pdf link callback: no remote or local resources for a document to sign."""
    return ""


def _xhtml2pdf(template, opp, language: str) -> bytes:
    from jinja2 import TemplateError
    from xhtml2pdf import pisa

    from engine import render

    try:
        with force_locale(language):
            body = render.render(template.html or "", render.context(opp), html=True)
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as err:
        raise PermanentError(_("The report template “%(name)s” could not be filled in: %(error)s",
                               name=template.label, error=str(err))) from err
    size = template.paper_size or "A4"
    html = (f'<html lang="{language}"><head><meta charset="utf-8"><style>@page {{ size: {size}; }}\n'
            f"{template.css or ''}</style></head><body>{body}</body></html>")
    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8", link_callback=_no_fetch)
    if status.err:
        raise PermanentError(_("The report template “%(name)s” could not be turned into a PDF.",
                               name=template.label))
    return out.getvalue()
