"""Custom fields and system fields in the opportunity list (S11): a filter per field type read in the user's
language, refused input answered with its message (never a 500), partners kept to their own opportunities
through any filter, and chosen columns showing values as the reader's language writes them."""

import re
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event

from extensions import db
from models import CustomField
from services import field_values as fv
from services.locale_input import parse_number

REGIONS = [{"key": "north", "name": "North", "name_i18n": {"it": "Nord", "es": "Norte"}},
           {"key": "n", "name": "N only", "name_i18n": {}},
           {"key": "south", "name": "South", "name_i18n": {"it": "Sud", "es": "Sur"}}]


def custom(key: str, field_type: str, types=(), **kw) -> CustomField:
    field = CustomField(key=key, name=kw.pop("name", key.title()), name_i18n=kw.pop("name_i18n", {}),
                        field_type=field_type, options=kw.pop("options", []), types=list(types), **kw)
    db.session.add(field)
    db.session.commit()
    return field


def put(opp, field: CustomField | str, raw) -> None:
    """Save a value as the page would (English input), committed."""
    ref = field if isinstance(field, str) else f"custom:{field.id}"
    with force_locale("en"):
        fv.set_value(opp, ref, raw, None)
    db.session.commit()


def names(client, query: str, expect: int = 200) -> set[str]:
    response = client.get(f"/opportunities?{query}")
    assert response.status_code == expect, response.get_data(as_text=True)[:400]
    body = response.get_data(as_text=True)
    return {n for n in ("Deal A", "Deal B", "Deal C", "Deal D") if f">{n}<" in body}


@pytest.fixture
def deals(make):
    """Four opportunities of one type: A and B with values, C with other values, D with none."""
    flow = make.flow((1,))
    opps = [make.opportunity(flow, name=f"Deal {x}") for x in "ABCD"]
    return flow, opps


def test_text_filter_finds_the_words_anywhere_whatever_the_case(client, make, deals):
    _flow, (a, b, c, _d) = deals
    note = custom("note", "text")
    put(a, note, "Red roof tiles")
    put(b, note, "roof 100% flat")
    put(c, note, "Garden")
    client.login(make.user("manager"))
    assert names(client, "cf_note=ROOF") == {"Deal A", "Deal B"}
    # LIKE's wildcards are text to look for, not patterns.
    assert names(client, "cf_note=100%25") == {"Deal B"}
    assert names(client, "cf_note=_") == set()


def test_choice_equals_and_multiple_choice_has_the_option(client, make, deals):
    _flow, (a, b, c, _d) = deals
    region = custom("region", "choice", options=REGIONS)
    areas = custom("areas", "multi_choice", options=REGIONS)
    put(a, region, "north")
    put(b, region, "south")
    put(a, areas, ["north", "south"])
    put(b, areas, ["n"])
    put(c, areas, ["south"])
    client.login(make.user("manager"))
    assert names(client, "cf_region=north") == {"Deal A"}
    assert names(client, "cf_areas=south") == {"Deal A", "Deal C"}
    # "n" is its own option: "north" does not hold it.
    assert names(client, "cf_areas=n") == {"Deal B"}
    assert names(client, "cf_region=north&cf_areas=south") == {"Deal A"}


def test_yes_no_filter(client, make, deals):
    _flow, (a, b, _c, _d) = deals
    roof = custom("roof_ok", "yes_no")
    put(a, roof, "yes")
    put(b, roof, "no")
    client.login(make.user("manager"))
    assert names(client, "cf_roof_ok=yes") == {"Deal A"}
    assert names(client, "cf_roof_ok=no") == {"Deal B"}


@pytest.mark.parametrize(("lang", "low", "high"), [
    ("it", "9800,50", "10.000"), ("es", "9.800,50", "10000"), ("en", "9,800.50", "10000.00")])
def test_amount_range_is_read_in_the_users_language(client, make, deals, lang, low, high):
    _flow, (a, b, c, _d) = deals
    budget = custom("budget", "amount")
    put(a, budget, "9800.50")
    put(b, budget, "9800.49")
    put(c, budget, "10000.01")
    client.login(make.user("manager", language=lang))
    assert names(client, f"cf_budget_from={low}") == {"Deal A", "Deal C"}
    assert names(client, f"cf_budget_from={low}&cf_budget_to={high}") == {"Deal A"}
    assert names(client, f"cf_budget_to={low}") == {"Deal A", "Deal B"}


def test_number_and_date_ranges(client, make, deals):
    _flow, (a, b, c, _d) = deals
    panels = custom("panels", "number")
    survey = custom("survey", "date")
    put(a, panels, "12")
    put(b, panels, "30.5")
    put(a, survey, "2026-03-05")
    put(b, survey, "2026-04-01")
    put(c, survey, "2026-02-28")
    client.login(make.user("manager", language="it"))
    assert names(client, "cf_panels_from=12,5") == {"Deal B"}
    assert names(client, "cf_panels_to=12") == {"Deal A"}
    # Italian dates are day/month/year; ISO works too.
    assert names(client, "cf_survey_from=01/03/2026&cf_survey_to=31/03/2026") == {"Deal A"}
    assert names(client, "cf_survey_from=2026-03-01") == {"Deal A", "Deal B"}


@pytest.mark.parametrize(("query", "field_type"), [
    ("cf_budget_from=12abc", "amount"), ("cf_budget_to=1e5", "amount"), ("cf_budget_from=NaN", "amount"),
    ("cf_budget_from=9.800,50", "amount"),  # Italian grouping read by an English page
    ("cf_region=west", "choice"), ("cf_roof_ok=maybe", "yes_no"), ("cf_survey_from=31/02/2026", "date"),
    ("cf_survey_to=2026-13-01", "date"), ("cf_note=" + "x" * 101, "text"),
])
def test_bad_filter_input_is_refused_with_a_message_never_a_500(client, make, deals, query, field_type):
    custom("budget", "amount")
    custom("region", "choice", options=REGIONS)
    custom("roof_ok", "yes_no")
    custom("survey", "date")
    custom("note", "text")
    client.login(make.user("manager", language="en"))
    for htmx in (False, True):
        headers = {"HX-Request": "true", "HX-Target": "opp-table"} if htmx else {}
        response = client.get(f"/opportunities?{query}", headers=headers)
        body = response.get_data(as_text=True)
        assert response.status_code == 422
        assert 'role="alert"' in body and "Deal A" not in body
    # The refused input says why, in the field's words, and is marked invalid on the page.
    assert 'aria-invalid="true"' in client.get(f"/opportunities?{query}").get_data(as_text=True)


def test_refusals_are_translated(client, make, deals):
    custom("budget", "amount", name="Budget")
    custom("region", "choice", options=REGIONS)
    client.login(make.user("manager", language="it"))
    body = client.get("/opportunities?cf_budget_from=12abc").get_data(as_text=True)
    with force_locale("it"):
        try:
            parse_number("12abc")
        except ValueError as err:
            expected = err.message
        chosen = _("Choose from the list.")
    assert expected in body.replace("&#39;", "'")
    assert chosen in client.get("/opportunities?cf_region=west").get_data(as_text=True).replace("&#39;", "'")
    reversed_range = client.get("/opportunities?cf_budget_from=10&cf_budget_to=5")
    assert reversed_range.status_code == 422


def test_a_partner_never_sees_others_opportunities_through_a_field_filter(client, make):
    flow = make.flow((1,))
    mine_company, other_company = make.company("installer"), make.company("installer")
    partner = make.user("partner", company=mine_company)
    mine = make.opportunity(flow, name="Deal A", installer=mine_company)
    theirs = make.opportunity(flow, name="Deal B", installer=other_company)
    unassigned = make.opportunity(flow, name="Deal C")
    region = custom("region", "choice", options=REGIONS)
    budget = custom("budget", "amount")
    for opp in (mine, theirs, unassigned):
        put(opp, region, "north")
        put(opp, budget, "500")
        put(opp, "system:company_name", "Rossi Srl")
    client.login(partner)
    for query in ("cf_region=north", "cf_budget_from=1", "sf_company_name=rossi",
                  "cf_region=north&cols=cf_budget,sf_company_name"):
        assert names(client, query) == {"Deal A"}


def test_system_fields_filter_and_show_as_columns(client, make, deals):
    _flow, (a, b, _c, _d) = deals
    put(a, "system:company_name", "Rossi Impianti Srl")
    put(b, "system:company_name", "Bianchi Spa")
    put(a, "system:contact_person", "Mario Rossi")
    put(b, "system:acquisition_source", "Trade fair")
    client.login(make.user("manager"))
    assert names(client, "sf_company_name=impianti") == {"Deal A"}
    assert names(client, "sf_acquisition_source=fair") == {"Deal B"}
    body = client.get("/opportunities?cols=sf_contact_person&cols=sf_acquisition_source").get_data(as_text=True)
    assert 'data-column="sf_contact_person">Mario Rossi<' in body
    assert 'data-column="sf_acquisition_source">Trade fair<' in body


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_columns_show_values_in_the_readers_language(client, make, deals, lang):
    _flow, (a, _b, _c, _d) = deals
    budget = custom("budget", "amount", name="Budget", name_i18n={"it": "Preventivo", "es": "Presupuesto"})
    region = custom("region", "choice", options=REGIONS)
    survey = custom("survey", "date")
    roof = custom("roof_ok", "yes_no")
    areas = custom("areas", "multi_choice", options=REGIONS)
    put(a, budget, "9800.50")
    put(a, region, "north")
    put(a, survey, "2026-03-05")
    put(a, roof, "yes")
    put(a, areas, ["north", "south"])
    client.login(make.user("manager", language=lang))
    body = client.get("/opportunities?cols=cf_budget,cf_region,cf_survey,cf_roof_ok,cf_areas").get_data(as_text=True)
    with force_locale(lang):
        expected = {
            "cf_budget": fv.display(fv.custom_ref(budget), Decimal("9800.50")),
            "cf_region": {"it": "Nord", "es": "Norte", "en": "North"}[lang],
            "cf_survey": fv.display(fv.custom_ref(survey), date(2026, 3, 5)),
            "cf_roof_ok": _("Yes"),
            "cf_areas": {"it": "Nord, Sud", "es": "Norte, Sur", "en": "North, South"}[lang],
        }
    for column, text in expected.items():
        assert f'data-column="{column}">{text}<' in body, (column, text)
    assert {"it": "9.800,50", "es": "9.800,50", "en": "9,800.50"}[lang] == expected["cf_budget"]
    assert {"it": "05/03/2026", "es": "05/03/2026", "en": "03/05/2026"}[lang] == expected["cf_survey"]
    assert {"it": "Preventivo", "es": "Presupuesto", "en": "Budget"}[lang] in body


def test_columns_load_in_one_query_whatever_the_number_of_rows(client, make):
    flow = make.flow((1,))
    budget, region = custom("budget", "amount"), custom("region", "choice", options=REGIONS)
    client.login(make.user("manager"))

    def add_rows(count: int) -> None:
        for i in range(count):
            opp = make.opportunity(flow, name=f"Row {i}")
            put(opp, budget, "10")
            put(opp, region, "south")

    def queries() -> int:
        seen = []

        def listener(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            body = client.get("/opportunities?cols=cf_budget,cf_region").get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert 'data-column="cf_region">South<' in body
        return len(seen)

    add_rows(2)
    few = queries()
    add_rows(10)
    assert queries() == few


def test_only_live_fields_of_the_chosen_type_are_offered(client, make):
    pv, storage = make.flow((1,), name="PV"), make.flow((1,), name="Storage")
    custom("roof", "text", types=[pv], name="Roof")
    custom("battery", "text", types=[storage], name="Battery size")
    custom("old", "text", archived=True, name="Old field")
    custom("everywhere", "text", name="Everywhere")
    client.login(make.user("manager"))
    body = client.get(f"/opportunities?type={pv.id}").get_data(as_text=True)
    assert 'name="cf_roof"' in body and 'name="cf_everywhere"' in body
    assert 'name="cf_battery"' not in body and 'name="cf_old"' not in body
    everything = client.get("/opportunities").get_data(as_text=True)
    assert 'name="cf_battery"' in everything and 'name="cf_old"' not in everything
    # An archived field's filter in an old link is left out, as the box does not show it.
    assert client.get("/opportunities?cf_old=x&cols=cf_old").status_code == 200


def test_pages_keep_the_chosen_columns_and_filters(client, make):
    flow = make.flow((1,))
    region = custom("region", "choice", options=REGIONS)
    for i in range(25):
        put(make.opportunity(flow, name=f"Row {i}"), region, "north")
    client.login(make.user("manager"))
    body = client.get("/opportunities?cf_region=north&cols=cf_region&cols=sf_company_name").get_data(as_text=True)
    assert "cols=cf_region&amp;cols=sf_company_name" in body and "cf_region=north" in body


def test_counts_through_field_filters_are_exact_below_the_cap_and_say_more_above(client, make, monkeypatch):
    from blueprints import page_cache
    from services import opportunities as opp_svc

    flow = make.flow((1,))
    mine = make.company("installer")
    region, budget = custom("region", "choice", options=REGIONS), custom("budget", "amount")
    for i in range(6):
        opp = make.opportunity(flow, name=f"Deal {'ABCDEF'[i]}", installer=mine if i % 2 else None)
        put(opp, region, "north" if i < 5 else "south")
        put(opp, budget, str(100 * i))
    query = "cf_region=north&cf_budget_from=100"  # B, C, D, E; the partner's: B, D
    client.login(make.user("manager", language="en"))
    assert "4 opportunities" in client.get(f"/opportunities?{query}").get_data(as_text=True)
    monkeypatch.setattr(opp_svc, "FIELD_COUNT_CAP", 2)
    page_cache.clear()  # the cap is code: a running process never sees it change, its kept pages neither
    body = client.get(f"/opportunities?{query}").get_data(as_text=True)
    assert "More than 2 opportunities" in body
    assert {n for n in ("Deal A", "Deal B", "Deal C", "Deal D", "Deal E", "Deal F") if f">{n}<" in body} == \
        {"Deal B", "Deal C", "Deal D", "Deal E"}
    client.post("/logout")
    client.login(make.user("partner", company=mine, language="en"))
    monkeypatch.setattr(opp_svc, "FIELD_COUNT_CAP", 1000)
    body = client.get(f"/opportunities?{query}").get_data(as_text=True)
    assert names(client, query) == {"Deal B", "Deal D"}
    assert "2 opportunities" in body, re.findall(r"count\" [^>]*>([^<]*)<", body)
