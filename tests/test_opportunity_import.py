"""Opportunity import (P3b): a CSV or XLSX previewed row by row, then imported all or nothing; fields it fills
are announced as the page's edits are, so process automations close their substates; bad files are refused."""

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import func, select

from extensions import db
from models import CustomField, FieldValue, Opportunity, ProcessAutomation
from services.import_files import MAX_ROWS
from services.substates import open_substate
from tests.engine_support import runs, status_of


def custom(key: str, field_type: str = "number", **kw) -> CustomField:
    field = CustomField(key=key, name=key.title(), name_i18n={}, field_type=field_type,
                        options=kw.pop("options", []), **kw)
    db.session.add(field)
    db.session.commit()
    return field


@pytest.fixture
def world(make):
    flow = make.flow((2,), name="Fotovoltaico")
    flow.name_i18n = {"it": "Impianto FV"}
    channel = make.channel("Web")
    customer = make.customer(name="Rossi Srl")
    owner = make.user("agent", email="Owner@Example.com", name="Olga Owner")
    db.session.commit()
    return {"flow": flow, "channel": channel, "customer": customer, "owner": owner}


@pytest.fixture
def italian(client, make):
    user = make.user("manager", language="it")
    client.login(user)
    return user


def upload(client, content: bytes, name: str = "opps.csv"):
    return client.post("/opportunities/import", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def commit(client, response):
    token = re.search(r'name="token" value="([0-9a-f]+)"', response.get_data(as_text=True))
    assert token, response.get_data(as_text=True)[:2000]
    return client.post("/opportunities/import/commit", data={"token": token.group(1)})


def count() -> int:
    return db.session.execute(select(func.count(Opportunity.id))).scalar_one()


def test_semicolon_csv_in_italian_creates_opportunities_with_field_values(client, world, italian):
    kw = custom("kw")
    rows = ("Name;Type;channel;customer;amount;owner;contact_person;kw\n"
            "Tetto Rossi;Impianto FV;Web;rossi srl;9.800,50;owner@example.com;Mario;12,5\n"
            f"Capannone;{world['flow'].id};{world['channel'].id};{world['customer'].id};100;;;\n")
    preview = upload(client, rows.encode())
    assert preview.status_code == 200, preview.get_data(as_text=True)
    page = preview.get_data(as_text=True)
    assert "9.800,50" in page and "Olga Owner" in page
    assert count() == 0  # the preview writes nothing
    done = commit(client, preview)
    assert done.status_code == 302
    opp = db.session.execute(select(Opportunity).where(Opportunity.name == "Tetto Rossi")).scalar_one()
    assert opp.amount == Decimal("9800.50") and opp.owner_id == world["owner"].id
    assert opp.contact_person == "Mario" and opp.type_id == world["flow"].id
    value = db.session.execute(select(FieldValue).where(FieldValue.opportunity_id == opp.id)).scalar_one()
    assert value.field_id == kw.id and value.number == Decimal("12.5")
    assert count() == 2
    # The stored upload is gone once imported: the same token imports nothing twice.
    again = client.post("/opportunities/import/commit", data={"token": "0" * 32})
    assert again.status_code == 400 and count() == 2


def test_update_by_id_fills_a_field_and_the_engine_closes_the_substate(client, world, italian, make):
    flow = world["flow"]
    opp = make.opportunity(flow, channel=world["channel"], customer=world["customer"])
    sub = flow.substates[0]
    open_substate(opp, sub.id, None)
    field = custom("kw")
    db.session.add(ProcessAutomation(name="Auto", custom_field_id=field.id, type_id=flow.id, substate_id=sub.id,
                                     active=True))
    db.session.commit()
    assert status_of(opp, sub) == "open"
    preview = upload(client, f"id,kw\n{opp.id},\"9800,5\"\n".encode())
    assert preview.status_code == 200
    assert commit(client, preview).status_code == 302
    assert status_of(opp, sub) == "closed"
    (record,) = [r for r in runs() if r.kind == "process_automation"]
    assert record.status == "succeeded" and record.result["direction"] == "field_closes"
    db.session.expire_all()
    assert db.session.get(Opportunity, opp.id).name == opp.name  # empty/missing cells change nothing


def test_a_row_error_shows_in_the_preview_and_nothing_is_imported(client, world, italian):
    custom("kw")
    rows = ("name;type;channel;customer;amount;kw\n"
            "Good;Fotovoltaico;Web;Rossi Srl;10;1\n"
            "Bad;Fotovoltaico;Nowhere;Rossi Srl;1.2.3;abc\n")
    preview = upload(client, rows.encode())
    assert preview.status_code == 422
    page = preview.get_data(as_text=True)
    with force_locale("it"):
        assert _("No channel has this name or ID.") in page
        assert _("Write a number such as %(grouped)s or %(plain)s.", grouped="9.800,50", plain="9800,50") in page
    assert 'name="token"' not in page  # no Import button
    assert count() == 0
    # A file with errors is not kept: posting the commit anyway finds nothing waiting.
    with client.session_transaction() as sess:
        assert "opportunity_import" not in sess
    assert client.post("/opportunities/import/commit", data={"token": "0" * 32}).status_code == 400
    assert count() == 0


def test_yes_no_and_choices_read_in_the_users_language(client, world, italian):
    custom("ok", "yes_no")
    custom("colour", "choice", options=[{"key": "r", "name": "Red", "name_i18n": {"it": "Rosso"}},
                                        {"key": "g", "name": "Green", "name_i18n": {"it": "Verde"}}])
    with force_locale("it"):
        yes = _("Yes")
    rows = f"name;type;channel;customer;ok;colour\nA;Fotovoltaico;Web;Rossi Srl;{yes.lower()};rosso\n"
    preview = upload(client, rows.encode())
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert commit(client, preview).status_code == 302
    opp = db.session.execute(select(Opportunity).where(Opportunity.name == "A")).scalar_one()
    rows = db.session.execute(select(FieldValue).where(FieldValue.opportunity_id == opp.id)).scalars().all()
    by_key = {db.session.get(CustomField, v.field_id).key: v for v in rows}
    assert by_key["ok"].flag is True and by_key["colour"].text == "r"


def test_the_data_changing_after_the_preview_imports_nothing(client, world, italian):
    preview = upload(client, b"name,type,channel,customer\nA,Fotovoltaico,Web,Rossi Srl\nB,Fotovoltaico,Web,Rossi Srl\n")
    assert preview.status_code == 200
    world["channel"].active = False  # deactivated between the preview and the import
    db.session.commit()
    response = commit(client, preview)
    assert response.status_code == 422 and count() == 0
    with force_locale("it"):
        assert _("This channel is deactivated; choose another one.") in response.get_data(as_text=True)


def test_updates_only_opportunities_the_user_may_see_and_unknown_columns_are_refused(client, world, italian):
    preview = upload(client, b"id,name\n999999,Ghost\n")
    assert preview.status_code == 422
    with force_locale("it"):
        assert _("No opportunity with this ID that you may see.") in preview.get_data(as_text=True)
    preview = upload(client, b"name,colour\nA,red\n")
    assert preview.status_code == 422 and count() == 0


def test_xlsx_typed_cells_are_taken_as_typed(client, world, italian):
    custom("kw")
    custom("due", "date")
    custom("ok", "yes_no")
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Type", "Channel", "Customer", "Amount", "kw", "due", "ok"])
    sheet.append(["Typed", "Fotovoltaico", "Web", "Rossi Srl", 1234.5, 7, datetime(2026, 3, 5), True])
    buf = io.BytesIO()
    book.save(buf)
    preview = upload(client, buf.getvalue(), "opps.xlsx")
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert commit(client, preview).status_code == 302
    opp = db.session.execute(select(Opportunity).where(Opportunity.name == "Typed")).scalar_one()
    assert opp.amount == Decimal("1234.50")
    rows = db.session.execute(select(FieldValue).where(FieldValue.opportunity_id == opp.id)).scalars().all()
    by_key = {db.session.get(CustomField, v.field_id).key: v for v in rows}
    assert by_key["kw"].number == Decimal("7") and by_key["due"].day == date(2026, 3, 5) and by_key["ok"].flag is True


def _zip_bomb() -> bytes:
    """A workbook-shaped zip whose sheet unpacks to ~64 MB of zeros from a few tens of KB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"0" * (1 << 20)
            for _i in range(64):
                sheet.write(chunk)
    return buf.getvalue()


@pytest.mark.parametrize("name, content, status", [
    ("opps.pdf", b"%PDF-1.4", 415),
    ("opps.xlsx", b"not a zip at all", 400),
    ("opps.xlsx", b"PK\x03\x04 broken", 400),
    ("opps.csv", "name\nCaffè".encode("latin-1"), 422),
    ("opps.csv", b"", 422),
])
def test_bad_files_are_refused_with_a_message(client, world, italian, name, content, status):
    response = upload(client, content, name)
    assert response.status_code == status
    assert 'id="file-error"' in response.get_data(as_text=True)
    assert count() == 0


def test_oversize_too_many_rows_and_zip_bombs_are_refused(client, world, italian, app):
    bomb = _zip_bomb()
    assert len(bomb) < 200_000
    response = upload(client, bomb, "bomb.xlsx")
    assert response.status_code == 413
    with force_locale("it"):
        page = response.get_data(as_text=True).replace("&#39;", "'")
        assert _("This workbook unpacks to more data than an import may hold.") in page
    rows = "name\n" + "x\n" * (MAX_ROWS + 1)
    response = upload(client, rows.encode())
    assert response.status_code == 422
    with force_locale("it"):
        assert _("The file has more than %(max)d rows; split it into smaller files.", max=MAX_ROWS) in \
            response.get_data(as_text=True)
    app.config["IMPORT_MAX_BYTES"] = 100
    assert upload(client, b"name\n" + b"x" * 200).status_code == 413
    assert count() == 0


def test_partners_and_users_without_permission_cannot_import(client, make, world, app):
    from models.accounts import ROLE_PERMISSIONS

    client.login(make.partner())
    assert client.get("/opportunities/import").status_code == 404
    assert upload(client, b"name\nX\n").status_code == 404
    agent = make.user("agent")
    saved = set(ROLE_PERMISSIONS["agent"])
    ROLE_PERMISSIONS["agent"].discard("opportunities.edit")
    try:
        client.post("/logout")
        client.login(agent)
        assert client.get("/opportunities/import").status_code == 403
        assert upload(client, b"name\nX\n").status_code == 403
        assert client.post("/opportunities/import/commit", data={"token": "0" * 32}).status_code == 403
        assert "/opportunities/import" not in client.get("/opportunities").get_data(as_text=True)
    finally:
        ROLE_PERMISSIONS["agent"] |= saved


def test_posts_need_the_csrf_token(client, world, italian):
    response = client.post("/opportunities/import", data={"file": (io.BytesIO(b"name\nX\n"), "a.csv")},
                           content_type="multipart/form-data", csrf=False)
    assert response.status_code == 400 and count() == 0
