"""Placeholders in user-written templates (SPEC A5, S2, S3): one sandboxed engine, one context.

Templates run in Jinja's ImmutableSandboxedEnvironment over plain values only (strings in dicts, never a
model object, so nothing reaches the session). A missing value renders empty. A template that does not
parse, or that reaches for internals (`''.__class__`, `x.__globals__`, `x['_y']`) is refused when it is
saved (`check_source`), so sending never meets it. Email and report kinds share `context` and `render`.

Filling in happens in a template child process (engine.template_child, engine.template_pool) under a
budget — about a second, a couple of million characters, under a hundred megabytes — so a template that
loops for ever, builds huge values or recurses stops with a reason in words, at save, at preview and at
run time alike, and never hangs or bloats a web thread or a worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

from flask import current_app, has_app_context
from flask_babel import force_locale, format_currency, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SecurityError

from engine import field_placeholders, template_pool
from engine.template_child import INTERNAL_NAMES as _INTERNAL_NAMES
from engine.template_child import Unsafe, make_env

LANGUAGES = ("it", "es", "en")

# Parsing and checking only: filling in happens in a child process under limits (engine.template_child).
_html_env = make_env(html=True)
_text_env = make_env(html=False)


# -- the placeholders ---------------------------------------------------------------------------------

def _money(value) -> str:
    return format_currency(value or 0, current_app.config["CURRENCY"])


# {group: (how to reach the group's record from (opportunity, recipient), [(key, description, getter)])}.
# The context, the list beside the editor and the preview all read this one table.
_GROUPS = {
    "opportunity": (lambda opp, rcpt: opp, [
        ("name", _l("Opportunity name"), lambda o: o.name),
        ("amount", _l("Amount, formatted in the recipient's language"), lambda o: _money(o.amount)),
        ("type", _l("Opportunity type"), lambda o: o.type.label),
        ("channel", _l("Channel"), lambda o: o.channel.name),
        ("province", _l("Province"), lambda o: o.province),
        ("postal_code", _l("Postal code"), lambda o: o.postal_code),
        ("company_name", _l("Company name"), lambda o: o.company_name),
        ("contact_person", _l("Contact person"), lambda o: o.contact_person),
        ("acquisition_source", _l("Acquisition source"), lambda o: o.acquisition_source),
        ("created", _l("Date it was created"), lambda o: format_date(o.created_at, "long") if o.created_at else ""),
        ("id", _l("Number"), lambda o: o.id),
    ]),
    "client": (lambda opp, rcpt: opp.customer, [
        ("name", _l("Client name"), lambda c: c.name),
        ("email", _l("Client email"), lambda c: c.email),
        ("phone", _l("Client phone"), lambda c: c.phone),
        ("address", _l("Address"), lambda c: c.address),
        ("city", _l("City"), lambda c: c.city),
        ("postal_code", _l("Postal code"), lambda c: c.postal_code),
        ("province", _l("Province"), lambda c: c.province),
        ("tax_code", _l("Tax code"), lambda c: c.tax_code),
    ]),
    "installer": (lambda opp, rcpt: opp.installer, [
        ("name", _l("Installer company"), lambda p: p.name),
        ("email", _l("Installer email"), lambda p: p.email),
        ("phone", _l("Installer phone"), lambda p: p.phone),
    ]),
    "commercial": (lambda opp, rcpt: opp.commercial, [
        ("name", _l("Commercial company"), lambda p: p.name),
        ("email", _l("Commercial email"), lambda p: p.email),
        ("phone", _l("Commercial phone"), lambda p: p.phone),
    ]),
    "owner": (lambda opp, rcpt: opp.owner, [
        ("name", _l("Internal owner of the opportunity"), lambda u: u.name),
        ("email", _l("Owner email"), lambda u: u.email),
    ]),
    "recipient": (lambda opp, rcpt: rcpt, [
        ("name", _l("Name of who receives this email"), lambda r: r.name),
        ("email", _l("Address of who receives this email"), lambda r: r.address),
    ]),
}


def placeholders() -> list[tuple[str, str]]:
    """Every placeholder with its description, e.g. ("{{ client.name }}", "Client name"); the custom fields'
    (`{{ opportunity.fields.<key> }}`) follow the opportunity's own."""
    listed = [(f"{{{{ {group}.{key} }}}}", str(label))
              for group, (_root, fields) in _GROUPS.items() for key, label, _get in fields]
    ours = len(_GROUPS["opportunity"][1])
    return listed[:ours] + field_placeholders.placeholders() + listed[ours:]


def context(opp, recipient=None, sources: list[str] | None = None) -> dict:
    """The placeholder values for one opportunity (and recipient), formatted in the current locale.

    `recipient` is anything with `name` and `address` (engine.recipients.Recipient). Given the `sources` to
    be rendered, the custom fields are read only if one of them names `fields`: two queries a run saves."""
    values = {}
    for group, (root_of, fields) in _GROUPS.items():
        root = root_of(opp, recipient) if opp is not None or group == "recipient" else None
        values[group] = {key: _plain(get(root)) if root is not None else "" for key, _label, get in fields}
    wanted = sources is None or any("fields" in (s or "") for s in sources)
    values["opportunity"]["fields"] = field_placeholders.values(opp) if wanted else {}
    return values


def _plain(value) -> str:
    return "" if value is None else str(value)


# -- checking at save and rendering -------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    line: int | None
    reason: str


def check_source(source: str, html: bool, sample: dict | None = None) -> Problem | None:
    """Why a template cannot be saved, or None: syntax, internals, includes, or a failing sample render
    (which includes going past the render budget: too slow, too much output, too big a value)."""
    env = _html_env if html else _text_env
    try:
        # Parse only: compiling evaluates constant output (`'a'|center(10**9)`) and belongs in the child,
        # where the sample render finds unknown filters and tests too.
        tree = env.parse(source)
        problem = _reaches_outside(tree)
    except TemplateSyntaxError as err:
        return Problem(err.lineno, err.message or str(err))
    except (RecursionError, MemoryError):
        return Problem(None, _("The template is nested too deeply to read."))
    if problem:
        return problem
    try:
        render(source, sample if sample is not None else context(None), html)
    except RENDER_ERRORS as err:
        return Problem(getattr(err, "lineno", None), reason(err))
    return None


def _reaches_outside(tree) -> Problem | None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Include, nodes.Import,
                               nodes.FromImport, nodes.Extends)):
        if isinstance(node, (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            return Problem(node.lineno, _("Templates cannot include, import or extend other templates."))
        name = _internal_name(node)
        if name:
            inner = node.node  # name the first step out, as written: ''.__class__ in ''.__class__.__mro__
            while isinstance(inner, (nodes.Getattr, nodes.Getitem, nodes.Filter)):
                name = _internal_name(inner) or name
                inner = inner.node
            return Problem(node.lineno, _("“%(name)s” is not a placeholder that may be used.", name=name))
    return None


def _internal_name(node) -> str:
    """The internal name a Getattr, Getitem or |attr() node reaches for, or ""."""
    if isinstance(node, nodes.Getattr):
        name = node.attr
    elif isinstance(node, nodes.Getitem):
        name = _const(node.arg)
    elif isinstance(node, nodes.Filter):
        name = _const(node.args[0]) if node.name == "attr" and node.args else ""
    else:
        return ""
    return name if name.startswith("_") or name in _INTERNAL_NAMES else ""


def _const(node) -> str:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else ""


class RenderError(TemplateError):
    """A template that could not be filled in, said in the reader's words; `lineno` where it is known."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.lineno = lineno


# What filling a checked template in can raise: RenderError (with the child's reason in words), or a
# value's own error where a caller formats values itself.
RENDER_ERRORS = (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError)


def reason(err: Exception) -> str:
    """A render error in words (the sandbox's refusal as it is, else the error's kind and message)."""
    if isinstance(err, SecurityError):
        return str(err)
    return f"{type(err).__name__}: {err}" if not isinstance(err, TemplateError) else str(err.message or err)


def _budget() -> tuple[float, int, int]:
    """(seconds, characters, memory bytes) a render may use: TEMPLATE_SECONDS, TEMPLATE_MAX_OUTPUT,
    TEMPLATE_MEMORY in the config."""
    cfg = current_app.config if has_app_context() else {}
    return (cfg.get("TEMPLATE_SECONDS", 1.0), cfg.get("TEMPLATE_MAX_OUTPUT", 2_000_000),
            cfg.get("TEMPLATE_MEMORY", 96 * 1024 * 1024))


def _refusal(answer: dict, max_output: int):
    """The child's refusal in words, translated when it is read: a run's error is written in the app's
    language even when it happened inside a recipient's (force_locale)."""
    kind, detail = answer["error"], answer.get("detail") or ""
    if kind == "unsafe":
        return _l("“%(name)s” is not a placeholder that may be used.", name=detail)
    if kind == "output":
        return _l("The template produces more than %(count)s characters of text.", count=max_output)
    if kind == "text":
        return _l("The template builds a text or list longer than a template may (a repetition with “*”).")
    if kind == "number":
        return _l("The template computes a number too big to use (a power with “**”).")
    if kind == "memory":
        return _l("The template needs more memory than a template may use.")
    if kind == "recursion":
        return _l("The template calls a macro within itself too deeply.")
    return detail


# A template made only of text and placeholders (`Dear {{ client.name }},`) does work linear in its own length
# and its values': it is filled in here, sparing the trip to a child (most templates, every message sent).
_PLAIN_NODES = (nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr)


@lru_cache(maxsize=512)
def _plain_template(source: str, html: bool):
    """The compiled template when it holds nothing but text and placeholders, else None (a child fills it)."""
    env = _html_env if html else _text_env
    try:
        tree = env.parse(source)
        if not all(isinstance(node, _PLAIN_NODES) for node in tree.find_all(nodes.Node)):
            return None
        return None if _reaches_outside(tree) else env.from_string(source)
    except (TemplateSyntaxError, RecursionError, MemoryError):
        return None


def _fill_here(template, values: dict, max_output: int) -> str:
    """A plain template filled in here, refused in the same words a child would use."""
    try:
        text = template.render(values)
    except Unsafe as err:
        raise RenderError(_refusal({"error": "unsafe", "detail": err.name}, max_output)) from None
    if len(text) > max_output:
        raise RenderError(_refusal({"error": "output"}, max_output))
    return text


def render_many(jobs: list[tuple[str, dict, bool]]) -> list[str]:
    """Fill several templates (source, values, html): plain ones here, the others in one trip to a template
    child; RenderError for the first that fails, or when they all together take longer than the time budget."""
    seconds, max_output, memory = _budget()
    plain = [_plain_template(source or "", html) for source, _values, html in jobs]
    if all(plain):
        return [_fill_here(template, values, max_output) for template, (_s, values, _h) in zip(plain, jobs, strict=True)]
    try:
        answers = template_pool.fill([{"source": source or "", "values": values, "html": html}
                                      for source, values, html in jobs], max_output, seconds, memory)
    except template_pool.Overrun as err:
        if str(err) == "died":
            raise RenderError(_l("The template could not be filled in: the process filling it in stopped.")) from None
        raise RenderError(_l("The template took longer than %(seconds)s s to fill in: a loop repeats too often.",
                             seconds=f"{seconds:g}")) from None
    for answer in answers:
        if "error" in answer:
            raise RenderError(_refusal(answer, max_output), answer.get("line"))
    return [answer["text"] for answer in answers]


def render(source: str, values: dict, html: bool) -> str:
    """Render a checked template; RenderError says why it could not be filled in."""
    return render_many([(source, values, html)])[0]


def render_subject(source: str, values: dict) -> str:
    """A subject on one line: header values cannot hold line breaks."""
    return _one_line(render(source, values, html=False))


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def html_document(body: str, lang: str) -> str:
    """The HTML part: the template's fragment in a complete document, unless it already is one."""
    if re.search(r"<html[\s>]", body, re.IGNORECASE):
        return body
    return (f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>\n'
            f"<body>\n{body}\n</body></html>\n")


# -- an email template for one recipient --------------------------------------------------------------

def usable_languages(template) -> list[str]:
    """The languages in which the template has both a subject and a body."""
    subjects, bodies = template.subjects or {}, template.bodies or {}
    return [lang for lang in LANGUAGES if (subjects.get(lang) or "").strip() and (bodies.get(lang) or "").strip()]


def pick_language(template, wanted: str) -> str | None:
    """The recipient's language if the template has text in it, else the default language, else the
    first of it, es, en that it has (documented in docs/email.md)."""
    usable = usable_languages(template)
    for lang in (wanted, current_app.config["BABEL_DEFAULT_LOCALE"], *LANGUAGES):
        if lang in usable:
            return lang
    return None


def compose(template, opp, recipient, attachments=()):
    """The template rendered for one recipient, in their language (`force_locale`: amounts and dates too),
    as an engine.mail.Letter with its HTML and generated plain-text parts."""
    from engine.errors import PermanentError
    from engine.mail import Letter

    lang = pick_language(template, recipient.language)
    if lang is None:
        raise PermanentError(_("The email template “%(name)s” has no subject and body in any language.",
                               name=template.name))
    try:
        with force_locale(lang):
            values = context(opp, recipient, [template.subjects[lang], template.bodies[lang]])
            subject, body = render_many([(template.subjects[lang], values, False),
                                         (template.bodies[lang], values, True)])
            subject = _one_line(subject)
    except RENDER_ERRORS as err:
        raise PermanentError(_("The email template “%(name)s” could not be filled in: %(error)s",
                               name=template.name, error=reason(err))) from err
    return Letter(to=recipient.address, to_name=recipient.name, subject=subject, html=html_document(body, lang),
                  text=html_to_text(body), language=lang, attachments=list(attachments))


# -- the plain-text part ------------------------------------------------------------------------------

_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr", "blockquote", "section",
           "header", "footer", "article", "pre", "hr"}
_SKIP = {"style", "script", "head", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str | None] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append("\t")
        elif tag in _BLOCKS:
            self.out.append("\n\n")
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith(("#", "mailto:")) and href not in self.out[-1:]:
                self.out.append(f" ({href})")

    def handle_data(self, data) -> None:
        if not self.skip:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A readable plain-text version of an HTML body: paragraphs, line breaks, list items, link targets."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
