"""The Triggers tab's "An external event arrives" form (T1, P4): source, event type and up to five conditions
on the body; refusals come back (422) with their messages in the user's language and nothing saved; the
summary line, editing, and the flow map's external-events node."""

import re

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import Trigger
from services import external_sources

T = "/settings/types"


def text(response) -> str:
    return response.get_data(as_text=True)


def errors(response) -> list[str]:
    return [e.replace("&#39;", "'") for e in re.findall(r'<small class="error">([^<]*)</small>', text(response))]


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Trigger))


@pytest.fixture
def setup(client, make):
    external_sources.create_source("crm", "CRM")
    t = make.flow((2, 2))
    sub = t.substates[2]
    base = f"{T}/{t.id}"
    manager = make.user("manager", name="Mara Manager")
    client.login(manager)
    return {"t": t, "sub": sub, "base": base, "user": manager, "make": make,
            "new": f"{base}/substates/{sub.id}/triggers/new"}


def form(**overrides) -> dict:
    data = {"kind": "external_event", "config-name": "", "config-source": "crm",
            "config-event_type": "payment.received", "config-as_user_id": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def cond(n, path, op, value="") -> dict:
    return {f"config-c{n}_path": path, f"config-c{n}_op": op, f"config-c{n}_value": value}


def test_the_type_is_offered_with_its_form(client, setup):
    assert '<option value="external_event">An external event arrives</option>' in text(client.htmx("GET", setup["new"]))
    page = text(client.htmx("GET", setup["new"] + "?kind=external_event"))
    for name in ("name", "source", "event_type", "c1_path", "c1_op", "c1_value", "c5_path", "c5_op", "c5_value",
                 "as_user_id", "allow_back"):
        assert f'name="config-{name}"' in page
    assert "CRM (crm)" in page and "Conditions on the event's data (all must hold)" in page
    assert '<option value="gt">is greater than</option>' in page and 'class="field-row"' in page


def test_create_with_conditions_and_the_summary_line(client, setup):
    response = client.htmx("POST", setup["new"], data=form(**cond(1, " data.amount ", "gt", "1000"),
                                                           **cond(3, "data.status", "eq", "paid"),
                                                           **cond(4, "data.ref", "exists", "ignored")))
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "flow-changed"
    saved = db.session.execute(select(Trigger)).scalar_one()
    assert (saved.name, saved.kind) == ("payment.received → Substate 2.1", "external_event")
    assert saved.config == {"source": "crm", "event_type": "payment.received", "conditions": [
        {"path": "data.amount", "op": "gt", "value": "1000"}, {"path": "data.status", "op": "eq", "value": "paid"},
        {"path": "data.ref", "op": "exists", "value": ""}]}
    assert ("When “crm” sends “payment.received” with data.amount &gt; 1000 and data.status = “paid” and "
            "data.ref exists → open this substate") in text(response)


def test_edit_shows_the_saved_conditions_in_their_rows(client, setup):
    client.htmx("POST", setup["new"], data=form(**cond(1, "data.amount", "lt", "5")))
    saved = db.session.execute(select(Trigger)).scalar_one()
    page = text(client.htmx("GET", f"{setup['base']}/triggers/{saved.id}/edit"))
    assert re.search(r'name="config-c1_path"[^>]*value="data.amount"', page)
    assert '<option selected value="lt">' in page and 'value="payment.received"' in page
    response = client.htmx("POST", f"{setup['base']}/triggers/{saved.id}/edit",
                           data=form(**{"config-event_type": "payment.refunded"}))
    assert response.status_code == 200
    db.session.expire_all()
    assert saved.config == {"source": "crm", "event_type": "payment.refunded", "conditions": []}


REFUSALS = [
    (form(**{"config-source": ""}), "source", "Choose the external source that sends the event."),
    (form(**{"config-source": "erp"}), "source", "Choose the external source that sends the event."),
    (form(**{"config-event_type": ""}), "event_type", "Enter the event type: up to %(max)d characters, no spaces."),
    (form(**{"config-event_type": "payment received"}), "event_type",
     "Enter the event type: up to %(max)d characters, no spaces."),
    (form(**{"config-event_type": "x" * 101}), "event_type", "Enter the event type: up to %(max)d characters, no spaces."),
    (form(**cond(2, "data..x", "eq", "1")), "c2_path",
     "Enter a path of names separated by dots, e.g. data.status (at most %(depth)d parts)."),
    (form(**cond(1, ".".join("a" * 9), "exists")), "c1_path",
     "Enter a path of names separated by dots, e.g. data.status (at most %(depth)d parts)."),
    (form(**cond(1, "", "eq", "1")), "c1_path",
     "Enter a path of names separated by dots, e.g. data.status (at most %(depth)d parts)."),
    (form(**cond(1, "data.x", "")), "c1_op", "Choose how to compare."),
    (form(**cond(5, "data.x", "matches", "a")), "c5_op", "Choose how to compare."),
    (form(**cond(1, "data.x", "gt", "lots")), "c1_value", "Enter a number, e.g. 1000 or 12.5."),
    (form(**cond(1, "data.x", "lt", "1,5")), "c1_value", "Enter a number, e.g. 1000 or 12.5."),
    (form(**cond(1, "data.x", "eq", "")), "c1_value", "Enter the value to compare with."),
    (form(**cond(1, "data.x", "contains", "v" * 201)), "c1_value", "At most %(max)d characters."),
]
ARGS = {"max": 100, "depth": 8}


@pytest.mark.parametrize("lang", ["en", "it", "es"])
@pytest.mark.parametrize("data, field, message", REFUSALS)
def test_refusals_come_back_in_the_users_language_and_save_nothing(app, setup, lang, data, field, message):
    client = app.test_client()  # a client of its own: a second login never replaces the first one's session
    client.environ_base["REMOTE_ADDR"] = "127.0.8.1"
    client.login(setup["make"].user("manager", language=lang))
    response = client.htmx("POST", setup["new"], data=data)
    assert response.status_code == 422 and count() == 0 and "HX-Trigger" not in response.headers
    args = {**ARGS, "max": 200} if field == "c1_value" and "%(max)d" in message else ARGS
    with force_locale(lang):
        expected = _(message, **{k: v for k, v in args.items() if f"%({k})d" in message})
    assert expected in errors(response), errors(response)
    assert f'lang="{lang}"' in text(client.get(setup["new"] + "?kind=external_event"))
    assert re.search(rf'name="config-{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*name="config-{field}"',
                     text(response))


def test_the_map_draws_an_edge_from_the_sources_node(client, setup):
    from services.flowmap import outside_edges, trigger_edges

    client.htmx("POST", setup["new"], data=form())
    saved = db.session.execute(select(Trigger)).scalar_one()
    assert [(e.source, e.target, e.label) for e in trigger_edges(setup["t"].id)] == [
        ("external:crm", setup["sub"].id, "payment.received")]
    assert outside_edges(setup["t"].id) == []
    page = text(client.get(f"{setup['base']}/map"))
    assert 'class="fm-field fm-external" data-field="external:crm"' in page and "External events" in page
    assert f'data-trigger="{saved.id}"' in page
