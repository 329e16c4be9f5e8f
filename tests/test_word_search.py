"""The opportunity list's word search (page and API share services.opportunities.search): a word anywhere in
the opportunity's name or its customer's name or email, case-insensitive, scoped to what the user may see —
the same answer whether the matches are few (looked up first, through trigram indexes on PostgreSQL) or many
(filtered while walking the list)."""

import pytest
from sqlalchemy import text

from extensions import db
from services import opportunities


def _names(user, q: str) -> set[str]:
    stmt = opportunities.search(opportunities.OpportunityFilters(q=q), user)
    return {o.name for o in db.session.execute(stmt).scalars()}


@pytest.fixture
def deals(make):
    flow = make.flow((1, 1))
    installer = make.company("installer")
    mario = make.customer(name="Mario Bianchi", email="mario@rossi-impianti.it")
    made = {
        "own": make.opportunity(flow, name="Impianto ROSSI Milano", installer=installer),
        "other": make.opportunity(flow, name="Casa Rossini"),
        "by_email": make.opportunity(flow, name="Tetto Verdi", customer=mario, installer=installer),
        "by_customer": make.opportunity(flow, name="Capannone", customer=make.customer(name="Luca Rossi")),
        "none": make.opportunity(flow, name="Villa Neri"),
        "promo": make.opportunity(flow, name="Promo 10%_off"),
    }
    return installer, made


@pytest.mark.parametrize("cap", [1_000, 1])  # few matches looked up first; over the cap, filtered as walked
def test_a_word_finds_names_customers_and_emails_whatever_the_path(app, make, deals, monkeypatch, cap):
    monkeypatch.setattr(opportunities, "WORD_MATCH_CAP", cap)
    installer, _ = deals
    admin = make.user("admin")
    assert _names(admin, "rossi") == {"Impianto ROSSI Milano", "Casa Rossini", "Tetto Verdi", "Capannone"}
    assert _names(admin, "  RoSSi-imp ") == {"Tetto Verdi"}
    assert _names(admin, "nobody by that name") == set()
    # What is typed is matched as typed: "%" and "_" are characters, not wildcards.
    assert _names(admin, "%") == _names(admin, "_") == _names(admin, "10%_") == {"Promo 10%_off"}
    assert _names(admin, "1_%") == _names(admin, "\\") == _names(admin, "verdi\\") == set()
    partner = make.user("partner", company=installer)
    assert _names(partner, "rossi") == {"Impianto ROSSI Milano", "Tetto Verdi"}


def test_postgresql_has_trigram_indexes_for_the_words(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("trigram indexes are PostgreSQL's")
    found = set(db.session.execute(text(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE '%_trgm'")).scalars())
    assert found == {"ix_opportunity_name_trgm", "ix_customer_name_trgm", "ix_customer_email_trgm"}


def test_postgresql_knows_which_values_each_custom_field_holds(app, database_url, make):
    """Extended statistics on (field, value): a filter on one field's value is estimated from that field's
    values, not from every field's (the plan that walks the list newest first depends on it)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("extended statistics are PostgreSQL's")
    found = set(db.session.execute(text(
        "SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = current_schema()::regnamespace")).scalars())
    assert {"st_field_value_text", "st_field_value_flag"} <= found
