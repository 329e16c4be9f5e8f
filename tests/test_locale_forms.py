"""Amounts and dates typed in the user's language, over HTTP: the opportunity form and the history filters."""

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from extensions import db
from models import ActionRun, Opportunity
from tests import history_support as hs

NOT_A_NUMBER = {
    "it": "Scrivi un numero come 9.800,50 o 9800,50.",
    "es": "Escribe un número como 9.800,50 o 9800,50.",
    "en": "Write a number such as 9,800.50 or 9800.50.",
}
TOO_MANY_DECIMALS = {
    "it": "Usa al massimo 2 decimali, ad es. 9800,50.",
    "es": "Usa como máximo 2 decimales, p. ej. 9800,50.",
    "en": "Use at most 2 decimal places, e.g. 9800.50.",
}


def _opportunity_form(make) -> dict:
    flow, channel, customer = make.flow(), make.channel(), make.customer()
    return {"name": "Roof", "type_id": flow.id, "channel_id": channel.id, "customer_id": customer.id}


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Opportunity))


@pytest.mark.parametrize(("lang", "typed"), [
    ("it", "9800,50"), ("it", "9.800,50"), ("es", "9.800,50"), ("es", "9800,50"),
    ("en", "9,800.50"), ("en", "9800.50"),
])
def test_amount_typed_in_the_users_language_is_stored_exactly(client, make, lang, typed):
    client.login(make.user("manager", language=lang))
    response = client.post("/opportunities/new", data={**_opportunity_form(make), "amount": typed})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.execute(select(Opportunity.amount)).scalar_one() == Decimal("9800.50")


@pytest.mark.parametrize(("lang", "typed", "messages"), [
    ("it", "9,800.50", NOT_A_NUMBER), ("it", "1.2.3", NOT_A_NUMBER), ("it", "9800,505", TOO_MANY_DECIMALS),
    ("it", "9800.50", NOT_A_NUMBER), ("it", "1e5", NOT_A_NUMBER),
    ("es", "9,800.50", NOT_A_NUMBER), ("es", "9 800,50", NOT_A_NUMBER),
    ("en", "9.800,50", NOT_A_NUMBER), ("en", "9800,50", NOT_A_NUMBER), ("en", "9800.505", TOO_MANY_DECIMALS),
    ("en", "NaN", NOT_A_NUMBER),
])
def test_ambiguous_or_malformed_amount_is_422_with_the_message_and_saves_nothing(client, make, lang, typed, messages):
    client.login(make.user("manager", language=lang))
    response = client.post("/opportunities/new", data={**_opportunity_form(make), "amount": typed})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert messages[lang] in page
    assert f'value="{typed}"' in page  # the same form, with what the user typed, to correct it
    assert _count() == 0


def test_lone_separator_with_three_digits_follows_the_locale(client, make):
    user = make.user("manager", language="it")
    client.login(user)
    form = _opportunity_form(make)
    assert client.post("/opportunities/new", data={**form, "amount": "9.800"}).status_code == 302
    assert client.post("/opportunities/new", data={**form, "amount": "9,800"}).status_code == 302
    amounts = db.session.execute(select(Opportunity.amount).order_by(Opportunity.id)).scalars().all()
    assert amounts == [Decimal("9800"), Decimal("9.8")]


@pytest.mark.parametrize(("lang", "shown"), [("it", "9.800,50"), ("es", "9.800,50"), ("en", "9,800.50")])
def test_edit_form_shows_the_stored_amount_in_the_users_language(client, make, lang, shown):
    client.login(make.user("manager", language=lang))
    opp = make.opportunity(amount=Decimal("9800.5"))
    page = client.get(f"/opportunities/{opp.id}/edit").get_data(as_text=True)
    assert f'value="{shown}"' in page


def _run(make, when: datetime) -> ActionRun:
    run = hs.email(make.opportunity(), "Welcome", "client@example.com", created_at=when)
    db.session.commit()
    return run


@pytest.mark.parametrize(("lang", "typed", "placeholder"), [
    ("it", "05/03/2025", "gg/mm/aaaa"), ("es", "5/3/2025", "dd/mm/aaaa"), ("en", "03/05/2025", "mm/dd/yyyy"),
    ("it", "2025-03-05", "gg/mm/aaaa"), ("en", "2025-03-05", "mm/dd/yyyy"),
])
def test_history_date_filter_reads_the_users_format_and_iso(client, make, lang, typed, placeholder):
    client.login(make.user("admin", language=lang))
    inside = _run(make, datetime(2025, 3, 5, 15, 0))
    outside = _run(make, datetime(2025, 3, 6, 9, 0))
    page = client.get("/account/history/email", query_string={"when_from": typed, "when_to": typed})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'id="run-{inside.id}"' in html and f'id="run-{outside.id}"' not in html
    assert f'placeholder="{placeholder}"' in html and 'type="date"' not in html


@pytest.mark.parametrize(("lang", "message"), [
    ("it", "Data non valida: usa il formato gg/mm/aaaa"), ("es", "Fecha no válida: usa el formato dd/mm/aaaa"),
    ("en", "Invalid date: use the format mm/dd/yyyy"),
])
def test_history_refuses_an_invalid_date_with_a_translated_message(client, make, lang, message):
    """A filter in a URL: the page still lists (without that filter, as before) and says why."""
    client.login(make.user("admin", language=lang))
    run = _run(make, datetime(2025, 3, 5, 15, 0))
    for response in (client.get("/account/history/email", query_string={"when_from": "31/02/2025"}),
                     client.htmx("GET", "/account/history/email", query_string={"when_to": "5/3/25"})):
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert message in html and f'id="run-{run.id}"' in html
