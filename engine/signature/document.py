"""The document to sign: a report template rendered to PDF for an opportunity, in a language — the same
rendering as reports (engine.pdf: placeholders in the template child, layout in the PDF child, fetches
confined)."""

from __future__ import annotations


def render_pdf(template, opp, language: str) -> bytes:
    """The report template filled in for the opportunity, as PDF bytes; a bad template is a PermanentError."""
    from engine import pdf

    return pdf.render_report(template, opp, language)
