"""Custom fields and the system fields as export columns (S11, A9): offered in Settings → Export templates,
saved in the list's order, and written with their values — as the recipient's language shows them in CSV,
typed in XLSX."""

import csv
import io
from datetime import date, datetime

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import load_workbook

from engine import exports
from extensions import db
from models import CustomField, ExportTemplate
from services import field_values as fv

REGIONS = [{"key": "north", "name": "North", "name_i18n": {"it": "Nord", "es": "Norte"}}]
COLUMNS = ["name", "company_name", "field:budget", "field:region", "field:survey", "field:roof_ok", "field:note"]


def custom(key: str, field_type: str, **kw) -> CustomField:
    field = CustomField(key=key, name=kw.pop("name", key.title()), name_i18n=kw.pop("name_i18n", {}),
                        field_type=field_type, options=kw.pop("options", []), **kw)
    db.session.add(field)
    db.session.commit()
    return field


@pytest.fixture
def opps(make):
    flow = make.flow((1,))
    filled, empty = make.opportunity(flow, name="Filled"), make.opportunity(flow, name="Empty")
    fields = {"budget": ("amount", "9800.50"), "region": ("choice", "north"), "survey": ("date", "2026-03-05"),
              "roof_ok": ("yes_no", "yes"), "note": ("text", "=1+1 is text")}
    with force_locale("en"):
        for key, (field_type, raw) in fields.items():
            field = custom(key, field_type, options=REGIONS if field_type == "choice" else [],
                           name_i18n={"it": f"{key} (it)"})
            fv.set_value(filled, f"custom:{field.id}", raw, None)
        fv.set_value(filled, "system:company_name", "Rossi Srl", None)
    db.session.commit()
    return filled, empty


@pytest.mark.parametrize(("lang", "budget", "region", "survey", "yes"), [
    ("it", "9.800,50", "Nord", "05/03/2026", "Sì"), ("es", "9.800,50", "Norte", "05/03/2026", "Sí"),
    ("en", "9,800.50", "North", "03/05/2026", "Yes")])
def test_csv_holds_the_values_as_the_recipients_language_shows_them(app, opps, lang, budget, region, survey, yes):
    with app.test_request_context():
        data = exports.build(COLUMNS, "csv", list(opps), lang)
    header, filled, empty = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    with force_locale(lang):
        assert header[:2] == [_("Opportunity"), _("Company name")]
        assert yes == _("Yes")
    assert header[2] == ("budget (it)" if lang == "it" else "Budget")
    assert filled == ["Filled", "Rossi Srl", budget, region, survey, yes, "'=1+1 is text"]
    assert empty == ["Empty", "", "", "", "", "", ""]


def test_xlsx_keeps_numbers_dates_and_yes_no_typed(app, opps):
    with app.test_request_context():
        data = exports.build(COLUMNS, "xlsx", list(opps), "it")
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:2] == ("Filled", "Rossi Srl")
    budget, region, survey, roof, note = rows[1][2:]
    assert budget == 9800.5 and isinstance(budget, float)
    assert survey in (date(2026, 3, 5), datetime(2026, 3, 5))
    assert roof is True and region == "Nord" and note == "'=1+1 is text"
    assert rows[2][2:] == (None,) * 5


def test_settings_offer_custom_fields_and_system_fields_as_columns(client, make, opps):
    custom("gone", "text", archived=True)
    client.login(make.user("admin"))
    form = client.get("/settings/export-templates/new").get_data(as_text=True)
    for key in ("field:budget", "field:region", "company_name", "contact_person", "acquisition_source"):
        assert f'value="{key}"' in form
    assert 'value="field:gone"' not in form
    response = client.post("/settings/export-templates/new", data={
        "name": "With fields", "columns": ["field:region", "name", "contact_person"], "file_format": "xlsx"})
    assert response.status_code == 302
    saved = db.session.execute(db.select(ExportTemplate).where(ExportTemplate.name == "With fields")).scalar_one()
    assert saved.columns == ["name", "contact_person", "field:region"]  # the list's own order
    refused = client.post("/settings/export-templates/new", data={
        "name": "Bad", "columns": ["field:nope"], "file_format": "csv"})
    assert refused.status_code == 422
    assert db.session.execute(db.select(ExportTemplate).where(ExportTemplate.name == "Bad")).first() is None
