"""Every history column sorts by what it shows and every text filter finds what it shows, in it, es and en
(SPEC H1, H2). The tabs and columns come from the registry, so a column added later is covered too: its
rows below must then show at least two different values, or the sort test fails until they do."""

import random
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from extensions import db
from models import ActionRun, HistoryEntry, OutgoingEmail
from models.base import utcnow
from services.history import tabs
from tests import history_support as hs

LANGUAGES = ("it", "es", "en")
EMPTY = "—"  # what the table shows for no value; it sorts like an empty text


class _Rows(HTMLParser):
    """The history table's rows as {run id, cells}: a cell's text, or its status badge's text."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell, self._badge, self._skip = [], None, None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and (attrs.get("id") or "").startswith("run-"):
            self.rows.append({"id": int(attrs["id"][4:].split("-")[0]), "cells": []})
        elif tag == "td" and self.rows:
            self._cell, self._badge = [], None
        elif tag == "span" and "badge" in (attrs.get("class") or "").split() and self._cell is not None:
            self._badge = []
        elif tag == "form" and self._cell is not None:
            self._skip += 1
        elif tag == "time" and self._cell is not None:
            self.rows[-1].setdefault("times", {})[len(self.rows[-1]["cells"])] = attrs.get("datetime")

    def handle_endtag(self, tag):
        if tag == "span" and self._badge is not None and self._cell is not None:
            self._cell.append(("badge", "".join(self._badge)))
            self._badge = None
        elif tag == "form" and self._skip:
            self._skip -= 1
        elif tag == "td" and self._cell is not None:
            badges = [text for what, text in self._cell if what == "badge"]
            text = badges[0] if badges else "".join(text for _what, text in self._cell)
            text = re.sub(r"\s+", " ", text).strip()
            self.rows[-1]["cells"].append("" if text == EMPTY else text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is None or self._skip:
            return
        if self._badge is not None:
            self._badge.append(data)
        else:
            self._cell.append(("text", data))


def _table(client, tab, query: str = "") -> list[dict]:
    response = client.htmx("GET", f"/account/history/{tab}?{query}")
    assert response.status_code == 200, (tab, query)
    parser = _Rows()
    parser.feed(response.get_data(as_text=True))
    return parser.rows


@pytest.fixture
def varied(make):
    """Rows of every tab whose every column takes several values, each translated name in it/es/en."""
    rnd = random.Random(7)
    flow = make.flow((3,))
    for sub, names in zip(flow.states[0].substates, [("Contract sent", "Contratto inviato", "Contrato enviado"),
                                                   ("Survey done", "Sopralluogo fatto", "Visita hecha"),
                                                   ("Lost", "Persa", "Perdida")], strict=True):
        sub.name, sub.name_i18n = names[0], {"it": names[1], "es": names[2]}
    call, visit = make.activity_type("Call"), make.activity_type("Visit")
    call.name_i18n, visit.name_i18n = {"it": "Telefonata", "es": "Llamada"}, {"it": "Visita", "es": "Visita técnica"}
    companies = [make.company("installer", name="Posa Srl"), make.company("installer", name="Alpha Impianti"),
                 make.company("commercial", name="Vendite SpA")]
    opps = [make.opportunity(flow, name=name) for name in ("Rossi kitchen", "Bianchi roof", "Verdi garden",
                                                             "Neri boiler")]
    db.session.flush()
    for i, opp in enumerate(opps):
        hs.email(opp, ["Welcome", "Reminder", "Offer"][i % 3], f"{'abcd'[i]}@example.net",
                 credentials=f"SMTP {i % 2}")
        hs.email(opp, "Offer", f"z{i}@example.net", "failed", "failed", error="550 no such user")
        hs.activity(opp, [call, visit][i % 2], completed=i % 2 == 0)
        hs.activity(opp, [visit, call][i % 2], completed=i % 3 == 0)
        subs = flow.states[0].substates
        hs.substate(opp, subs[i % 3], ["open_substate", "close_substate"][i % 2])
        hs.substate(opp, subs[(i + 1) % 3], "close_substate", ["cancelled", "failed", "succeeded", "skipped"][i])
        hs.assignment(opp, companies[i % 3], ["pending", "accepted", "rejected", "replaced"][i])
        hs.report(opp, ["Offer", "Contract", "Survey"][i % 3], f"{'pqrs'[i]}@example.net",
                  ["sent", "failed"][i % 2], ["succeeded", "failed"][i % 2], credentials=f"SMTP {i % 2}")
        hs.export(opp, ["Leads", "Orders"][i % 2], f"{'klmn'[i]}@example.net", ["csv", "xlsx"][i // 2],
                  ["sent", "failed"][i // 2 % 2], ["succeeded", "failed"][i // 2 % 2])
        _run, request = hs.signature(opp, f"{['Offer', 'Contract', 'Mandate', 'Survey'][i]}.pdf",
                                     f"{'wxyz'[i]}@example.net", ["sent", "signed", "declined", "sent"][i],
                                     provider=["simulator", "zeta"][i % 2], signer_name=["", "Mario Rossi"][i % 2])
        if i < 2:
            hs.callback(opp, request, ["signed", "declined"][i])
    for kind in ("send_email", "create_activity", "open_substate", "assign_installer", "generate_report",
                 "export", "esignature"):
        hs.run(opps[0], kind, "scheduled", due_at=utcnow() + timedelta(days=3))
    hs.run(opps[1], "assign_commercial", "cancelled", reason="closed_before_due")
    hs.run(opps[2], "create_activity", "needs_review")
    _monitoring_rows(make, opps, flow.states[0].substates)
    _automation_rows(opps, flow.states[0].substates)
    for mail in db.session.execute(select(OutgoingEmail)).scalars():
        mail.sender = rnd.choice(["noreply@example.com", "offers@example.com", "Info@example.com"])
    # Dates in another order than the ids, so that sorting by date is not sorting by id.
    runs = db.session.execute(select(ActionRun)).scalars().all()
    for run in runs:
        run.created_at = utcnow() - timedelta(hours=rnd.randrange(1, 10_000))
    for entry in db.session.execute(select(HistoryEntry)).scalars():
        entry.created_at = utcnow() - timedelta(hours=rnd.randrange(1, 10_000))
    db.session.commit()
    return {run.id: run.created_at for run in runs}


def _monitoring_rows(make, opps, subs):
    """Rows of the Tasks, Notifications, History entries and Triggers tabs (issue 11)."""
    people = [make.user("manager", name=name) for name in ("Sara Bruni", "marco Verdi", "Anna Neri")]
    tasks = []
    for i, opp in enumerate(opps):
        opp.owner_id = people[i].id if i < 3 else None
        _run, task = hs.task_created(opp, ["Prepare the project", "book the survey", "Call the client"][i % 3],
                                     people[i % 3], utcnow() + timedelta(days=[3, -2, 9, 1][i]),
                                     ["todo", "in_progress", "deferred", "todo"][i])
        tasks.append(task)
        hs.notified(opp, people[: i % 3 + 1], ["Documents pending", "quote late", "Survey overdue"][i % 3],
                    read=people[:1] if i % 2 else ())
        hs.history_entry(opp, ["Rule broken: documents", "call back", "Rule broken: quote"][i % 3], people[(i + 1) % 3])
    hs.task_created(opps[1], "Never made", run_status="failed", error="boom")
    hs.tasks_completed(opps[0], tasks[:1])
    hs.tasks_completed(opps[2], tasks[2:4])
    hs.notified(opps[3], [], "", run_status="skipped", reason="no_supervisor")
    hs.history_entry(opps[2], "", run_status="scheduled", due_at=utcnow() + timedelta(days=1))
    triggers = [hs.trigger(subs[i], name) for i, name in enumerate(("Move on", "back to survey", "Lost it"))]
    for i, opp in enumerate(opps):
        hs.trigger_fired(opp, triggers[i % 3], tasks[i], ["succeeded", "skipped", "succeeded", "failed"][i],
                         reason=[None, "already_open", None, "chain_depth"][i])


def _automation_rows(opps, subs):
    """Rows of the Process automations tab (T2, T3): automations' runs both ways and linked tasks' runs."""
    fields = ["system:company_name", "system:contact_person", "system:acquisition_source"]
    for i, opp in enumerate(opps):
        hs.automation_run(opp, subs[i % 3], ["Company known", "contact filled", "Source given"][i % 3],
                          field=fields[i % 3], value=["Rossi Srl", "anna Bianchi", "Fair 2024", "web"][i],
                          direction=["field_closes", "close_requires_field"][i % 2],
                          run_status=["succeeded", "succeeded", "skipped", "failed"][i],
                          reason=[None, "field_at_close", "not_open", None][i])
    hs.linked_tasks_run(opps[0], subs[1])
    hs.linked_tasks_run(opps[3], subs[2], run_status="skipped", reason="needs_note")


def _sortable(tab):
    return [(i, col) for i, col in enumerate(tab.columns) if col.sortable and col.expr is not None]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_column_sorts_by_what_it_shows_both_ways(client, make, varied, lang):
    client.login(make.user("manager", language=lang))
    for tab in tabs():
        unsorted = {row["id"] for row in _table(client, tab.key)}
        for index, col in _sortable(tab):
            shown = {}
            for direction in ("asc", "desc"):
                rows = _table(client, tab.key, f"sort={col.key}&dir={direction}")
                assert {row["id"] for row in rows} == unsorted, (tab.key, col.key, direction)
                if col.filter == "date":  # the instant the cell's <time> names (ISO, UTC)
                    values = [row.get("times", {}).get(index) or "" for row in rows]
                else:
                    values = [row["cells"][index] for row in rows]
                # Letters sort regardless of case, as a user reads them.
                key = (lambda v: v) if col.filter == "date" else str.lower
                assert values == sorted(values, key=key, reverse=direction == "desc"), (lang, tab.key, col.key,
                                                                                        direction, values)
                shown[direction] = values
            assert len(set(shown["asc"])) >= 2, f"seed several values of {tab.key}.{col.key} in this test"
            assert shown["asc"] != shown["desc"], (lang, tab.key, col.key)


@pytest.mark.parametrize("lang", ("it", "en"))
def test_every_column_sorts_both_ways_for_a_partner(client, make, varied, lang):
    """A partner's sorted pages (issue 16 sorts them over narrower rows): only their company's opportunities'
    rows, every one of them once, in the order of what the cells show."""
    from models import Opportunity, PartnerCompany

    company = db.session.execute(select(PartnerCompany).where(PartnerCompany.name == "Posa Srl")).scalar_one()
    opps = db.session.execute(select(Opportunity).order_by(Opportunity.id)).scalars().all()
    for opp in opps[:3]:
        opp.installer_id = company.id
    db.session.commit()
    partner = make.user("partner", company=company, language=lang)
    client.login(partner)
    visible = {opp.name for opp in opps[:3]}
    for tab in tabs():
        unsorted = _table(client, tab.key)
        ids = {row["id"] for row in unsorted}
        opportunity = [col.key for col in tab.columns].index("opportunity")
        assert {row["cells"][opportunity] for row in unsorted} <= visible, tab.key
        for index, col in _sortable(tab):
            for direction in ("asc", "desc"):
                rows = _table(client, tab.key, f"sort={col.key}&dir={direction}")
                assert len(rows) == len(unsorted) and {row["id"] for row in rows} == ids, (tab.key, col.key)
                if col.filter == "date":
                    values = [row.get("times", {}).get(index) or "" for row in rows]
                else:
                    values = [row["cells"][index] for row in rows]
                key = (lambda v: v) if col.filter == "date" else str.lower
                assert values == sorted(values, key=key, reverse=direction == "desc"), (lang, tab.key, col.key,
                                                                                        direction, values)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_filter_finds_what_the_column_shows(client, make, varied, lang):
    client.login(make.user("manager", language=lang))
    for tab in tabs():
        rows = _table(client, tab.key)
        for index, col in enumerate(tab.columns):
            if col.filter != "text":
                continue
            values = {row["cells"][index] for row in rows} - {""}
            assert len(values) >= 2, f"seed several values of {tab.key}.{col.key} in this test"
            for value in sorted(values):
                expected = {row["id"] for row in rows if value.lower() in row["cells"][index].lower()}
                found = _table(client, tab.key, f"{col.key}={value.replace('+', '%2B')}")
                assert {row["id"] for row in found} == expected, (lang, tab.key, col.key, value)


@pytest.mark.parametrize("lang,typed", [("it", "Contratto inviato"), ("it", "contratto"), ("es", "Contrato enviado"),
                                        ("en", "Contract sent"), ("it", "Contract sent"), ("en", "Contrato")])
def test_substate_filter_matches_its_name_in_every_language(client, make, varied, lang, typed):
    """The outside probe: an Italian user typing the name the cell shows found nothing."""
    client.login(make.user("manager", language=lang))
    shown = {"it": "Contratto inviato", "es": "Contrato enviado", "en": "Contract sent"}[lang]
    index = [col.key for col in next(t for t in tabs() if t.key == "substates").columns].index("substate")
    rows = _table(client, "substates", f"substate={typed}")
    assert rows and {row["cells"][index] for row in rows} == {shown}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_email_reports_and_exports_word_the_delivered_status_alike(client, make, varied, lang):
    client.login(make.user("manager", language=lang))
    labels = {}
    for tab in ("email", "reports", "exports"):
        for status in ("sent", "not_sent"):
            index = [col.key for col in next(t for t in tabs() if t.key == tab).columns].index("status")
            labels[tab, status] = {row["cells"][index] for row in _table(client, tab, f"status={status}")}
    for status in ("sent", "not_sent"):
        assert labels["email", status] == labels["reports", status] == labels["exports", status], (lang, labels)
        assert len(labels["email", status]) == 1
    assert labels["email", "sent"] != labels["email", "not_sent"]
