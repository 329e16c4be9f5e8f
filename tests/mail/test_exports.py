"""A9 (SPEC): export templates (admins only, checked at save) and the export action through real workers:
the file arrives attached — XLSX opens with openpyxl, CSV parses — with the chosen columns and the rows
the recipient may see; the run records template, type, extension, recipient and status."""

import csv
import io
from decimal import Decimal

import pytest
from flask import g
from openpyxl import load_workbook
from sqlalchemy import func, select

from extensions import db
from models import ActionRun, ExportTemplate, StoredFile
from services.substates import open_substate
from tests.engine_support import runs, wait_for
from tests.mail import support
from tests.mail.conftest import worker_env

ROUTES = [("GET", "/settings/export-templates"), ("GET", "/settings/export-templates/new"),
          ("POST", "/settings/export-templates/new"), ("GET", "/settings/export-templates/{id}"),
          ("POST", "/settings/export-templates/{id}"), ("POST", "/settings/export-templates/{id}/delete")]


def form(**changes) -> dict:
    return {"name": "Pipeline", "columns": ["name", "customer", "amount", "installer"], "file_format": "xlsx",
            **changes}


def export(name="Pipeline", columns=("name", "customer", "amount", "installer"), file_format="xlsx"):
    record = ExportTemplate(name=name, columns=list(columns), file_format=file_format)
    db.session.add(record)
    db.session.commit()
    return record


@pytest.fixture
def files_app(mail_app, tmp_path):
    mail_app.config["FILES_DIR"] = str(tmp_path / "files")
    return mail_app


@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role,status", [("admin", None), ("manager", 403), ("partner", 404)])
def test_settings_pages_admin_only(client, make, method, url, role, status):
    saved = export(name="Saved")
    client.login(make.partner() if role == "partner" else make.user(role))
    response = client.open(url.format(id=saved.id), method=method, data=form(name="Changed"))
    if status is None:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == status
        db.session.rollback()
        assert [t.name for t in db.session.scalars(select(ExportTemplate))] == ["Saved"]


def test_create_keeps_the_list_order_and_the_tile_links(client, make):
    client.login(make.user("admin"))
    assert 'href="/settings/export-templates"' in client.get("/settings/").get_data(as_text=True)
    response = client.post("/settings/export-templates/new", data=form(columns=["amount", "name"], file_format="csv"))
    assert response.status_code == 302
    db.session.rollback()
    saved = db.session.scalar(select(ExportTemplate))
    assert saved.columns == ["name", "amount"] and saved.file_format == "csv"


@pytest.mark.parametrize("changes,message", [
    ({"name": ""}, "Enter a name."),
    ({"columns": []}, "Choose at least one column."),
    ({"columns": ["name", "password"]}, "One of the chosen columns does not exist."),
    ({"file_format": "pdf"}, "Choose CSV or XLSX."),
])
def test_bad_input_is_422_and_nothing_saved(client, make, changes, message):
    client.login(make.user("admin"))
    response = client.post("/settings/export-templates/new", data=form(**changes))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ExportTemplate)) == 0


def export_world(make, server, template, recipient="installer"):
    w = support.world(make, support.credentials(server), support.template())
    other = make.company("installer", name="Altro Impianti", email="altro@example.it")
    make.opportunity(w["flow"], name="Impianto Bianchi", amount=Decimal("800"), installer=w["installer"])
    make.opportunity(w["flow"], name="Impianto Neri", amount=Decimal("900"), installer=other)
    w["action"].kind = "export"
    w["action"].config = {"export_template_id": template.id, "email_template_id": None,
                          "smtp_credential_id": w["action"].config["smtp_credential_id"], "recipient": recipient,
                          "extra_address": None}
    db.session.commit()
    return w


def final_run(timeout: float = 30.0) -> ActionRun:
    return wait_for(lambda: next((r for r in runs(kind="export") if r.is_final), None), timeout=timeout,
                    message="the export run to end")


def test_xlsx_export_arrives_with_the_columns_and_the_partners_rows(files_app, make, client, smtp_server, workers):
    server = smtp_server()
    w = export_world(make, server, export())
    workers.start(1, **worker_env(files_app), FILES_DIR=files_app.config["FILES_DIR"])
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (msg,) = server.wait_for(1)
    run = final_run()
    assert run.status == "succeeded", run.error
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == f"Pipeline-{w['opp'].id}.xlsx" and msg["To"] == "Solare Nord <info@solarenord.example>"
    sheet = load_workbook(io.BytesIO(part.get_payload(decode=True))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Opportunity", "Client", "Amount", "Installer")  # the company writes in English
    assert sorted(r[0] for r in rows[1:]) == ["Impianto Bianchi", "Impianto Rossi"]  # not the other company's
    assert ("Impianto Rossi", "Mario Rossi", 12345.5, "Solare Nord") in rows
    result = run.result
    assert (result["export_template"], result["export_type"], result["extension"], result["recipient"]) == (
        "Pipeline", "xlsx", "xlsx", "info@solarenord.example")
    assert result["emails"][0]["status"] == "sent" and result["files"][0]["id"]
    stored = db.session.scalar(select(StoredFile))
    assert stored.kind == "export"
    # the installer company's users see the opportunity, but an export holds other rows: internal only
    url = f"/opportunities/{w['opp'].id}/files/{stored.id}"
    client.login(w["owner"])
    assert client.get(url).status_code == 200 and url in client.get(f"/opportunities/{w['opp'].id}").get_data(
        as_text=True)
    g.pop("_login_user", None)
    partner = files_app.test_client()
    partner.login(make.user("partner", company=w["installer"]))
    assert partner.get(url).status_code == 404
    assert url not in partner.get(f"/opportunities/{w['opp'].id}").get_data(as_text=True)


def test_csv_export_for_the_client_holds_only_their_opportunity(files_app, make, smtp_server, workers):
    server = smtp_server()
    w = export_world(make, server, export(columns=("name", "customer", "email", "amount"), file_format="csv"),
                     recipient="client")
    workers.start(1, **worker_env(files_app), FILES_DIR=files_app.config["FILES_DIR"])
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (msg,) = server.wait_for(1)
    assert final_run().status == "succeeded"
    (part,) = list(msg.iter_attachments())
    rows = list(csv.reader(io.StringIO(part.get_payload(decode=True).decode("utf-8-sig"))))
    assert len(rows[0]) == 4  # headers in Italian once the catalog has them
    assert len(rows) == 2 and rows[1][:3] == ["Impianto Rossi", "Mario Rossi", "mario.rossi@example.it"]
    assert "12.345,50" in rows[1][3]  # the Italian client's locale
