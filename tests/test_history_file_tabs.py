"""Action history tabs Reports, Exports and Signatures (SPEC H1–H3): what real runs recorded shows up with
its template, file, recipient and status; every column filters and sorts; the sent report downloads for
those who may download it; the e-signature callback's run (kind external_source) reads as a label."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import ExportTemplate, ReportTemplate, SignatureRequest, StoredFile
from models.base import utcnow
from services import external_sources
from services.substates import open_substate
from tests import history_support as hs
from tests.engine_support import add_action, runs, wait_for
from tests.mail import conftest as mail_fixtures
from tests.mail import support
from tests.mail.conftest import worker_env

LINK = re.compile(r"https?://[^\s\"<>]+/sign/([A-Za-z0-9_-]{32,})")
mail_app, smtp_server, tls_files = mail_fixtures.mail_app, mail_fixtures.smtp_server, mail_fixtures.tls_files


def switch(client, user) -> None:
    """Log out whoever is logged in, then log `user` in (the login page sends a logged-in user away)."""
    assert client.post("/logout").status_code == 302
    client.login(user)


def table(client, url: str) -> str:
    response = client.htmx("GET", url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


# -- real runs --------------------------------------------------------------------------------------

def test_tabs_show_what_real_runs_recorded(mail_app, make, client, smtp_server, workers, tmp_path):
    """Report, export and e-signature actions run by a real worker against a real SMTP server; the signer
    signs on the simulator's page; the three tabs list it all and the report downloads byte for byte."""
    mail_app.config["FILES_DIR"] = str(tmp_path / "files")
    server = smtp_server()
    flow = make.flow((2,))
    contract, installation = flow.substates
    customer = make.customer(name="Mario Rossi", email="mario.rossi@example.it", language="it")
    opp = make.opportunity(flow, name="Impianto Rossi", customer=customer)
    cred = support.credentials(server, name="Sales SMTP")
    email = support.template()
    report = ReportTemplate(label="Offerta", html="<h1>{{ opportunity.name }}</h1>", css="")
    export = ExportTemplate(name="Vendite", columns=["id", "name"], file_format="csv")
    db.session.add_all([report, export])
    external_sources.create_source("esign", "E-signature")
    callback = external_sources.save_action(None, external_sources.ActionData(
        "Contract signed", "esign", "signed", open_ids=[installation.id]))
    db.session.commit()
    add_action(contract, "on_open", "generate_report", report_template_id=report.id, email_template_id=email.id,
               smtp_credential_id=cred.id, recipient="client")
    add_action(contract, "on_open", "export", export_template_id=export.id, smtp_credential_id=cred.id,
               recipient="client", extra_address="archive@example.it")
    add_action(contract, "on_open", "esignature", report_template_id=report.id, recipient="client",
               external_action_id=callback.id)
    workers.start(1, **worker_env(mail_app), FILES_DIR=mail_app.config["FILES_DIR"])
    open_substate(opp, contract.id, None)
    db.session.commit()

    def all_ended():
        found = [r for r in runs() if r.kind in ("generate_report", "export", "esignature")]
        return found if len(found) == 3 and all(r.is_final for r in found) else None

    done = wait_for(all_ended, timeout=60, message="the three runs to end")
    assert all(r.status == "succeeded" for r in done), [(r.kind, r.error) for r in done]
    messages = server.wait_for(4)
    token = next(LINK.search(m.get_body(("plain",)).get_content()).group(1) for m in messages
                 if LINK.search(m.get_body(("plain",)).get_content()))
    assert client.post(f"/sign/{token}", data={"answer": "signed"}).status_code == 302

    client.login(make.user("manager"))
    body = table(client, "/account/history/reports")
    stored = db.session.execute(select(StoredFile).where(StoredFile.kind == "generate_report")).scalar_one()
    link = f"/opportunities/{opp.id}/files/{stored.id}"
    for text in ("Impianto Rossi", "Offerta", f'href="{link}"', stored.filename, "mario.rossi@example.it",
                 "Sales SMTP", "noreply@oppflow.example", ">true<"):
        assert text in body, text
    attached = next(p for m in messages for p in m.iter_attachments() if p.get_filename() == stored.filename)
    assert client.get(link).data == attached.get_content()

    body = table(client, "/account/history/exports")
    for text in ("Vendite", "CSV", ".csv", f"Vendite-{opp.id}.csv", "mario.rossi@example.it",
                 "archive@example.it"):
        assert text in body, text
    assert body.count(">true<") == 2  # one row per email: the client and the extra address

    body = table(client, "/account/history/signatures")
    request = db.session.execute(select(SignatureRequest)).scalar_one()
    (external,) = runs(kind="external_source")
    for text in ("Send report for e-signature", "External-source action", "Offerta.pdf", "mario.rossi@example.it",
                 "Built-in simulator", f'id="run-{external.id}"'):
        assert text in body, text
    assert request.status == "signed" and body.count(">Signed<") == 2
    assert "external_source" not in body
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert "External-source action" in page and ">external_source<" not in page


# -- filters, sorting, statuses, links ------------------------------------------------------------------

class AcmeSign:
    """A second signature provider, registered the way an install's own provider would be."""

    key, label = "acme", "Acme Sign"


@pytest.fixture
def data(app, make, tmp_path, monkeypatch):
    from engine import signature

    monkeypatch.setitem(signature.PROVIDERS, "acme", AcmeSign())
    app.config["FILES_DIR"] = str(tmp_path / "files")
    flow = make.flow((1, 2))
    installer = make.company("installer", name="Posa Srl")
    opp = make.opportunity(flow, name="Rossi kitchen", installer=installer)
    other = make.opportunity(flow, name="Bianchi roof")
    quote = ReportTemplate(label="Quote", html="<p>x</p>", css="")
    db.session.add(quote)
    db.session.flush()
    week_ago = utcnow() - timedelta(days=7)
    reports = {
        "offer": hs.report(opp, "Offer", "rossi@example.net", credentials="Main SMTP")[1],
        "survey": hs.report(other, "Survey", "bianchi@example.net", "failed", "failed", credentials="Backup SMTP",
                            error="550 mailbox unavailable", created_at=week_ago)[1],
    }
    # Waiting: nothing recorded yet, so the tab names the configured report template.
    hs.run(opp, "generate_report", "scheduled", due_at=utcnow() + timedelta(days=1),
           config={"report_template_id": quote.id})
    exports = {
        "csv": hs.export(opp, "Monthly", "rossi@example.net")[1],
        "xlsx": hs.export(other, "Yearly", "bianchi@example.net", "xlsx", created_at=week_ago)[1],
    }
    _run, signed = hs.signature(opp, "Contract.pdf", "rossi@example.net", "sent", signer_name="Anna Rossi")
    hs.callback(opp, signed, "signed")
    _run, declined = hs.signature(other, "Mandate.pdf", "bianchi@example.net", "sent", created_at=week_ago)
    hs.callback(other, declined, "declined", created_at=week_ago)
    hs.signature(other, "Waiver.pdf", "verdi@example.net", "sent", provider="acme")
    db.session.commit()
    return {"opp": opp, "other": other, "installer": installer, "reports": reports, "exports": exports}


@pytest.mark.parametrize("tab", ["reports", "exports", "signatures"])
def test_new_tabs_are_listed_and_render(client, make, data, tab):
    client.login(make.user("manager"))
    page = client.get(f"/account/history/{tab}").get_data(as_text=True)
    assert f'href="/account/history/{tab}" aria-current="page"' in page
    assert "Rossi kitchen" in page and "Bianchi roof" in page


def test_reports_statuses_errors_and_the_configured_template_while_waiting(client, make, data):
    client.login(make.user("manager"))
    body = table(client, "/account/history/reports")
    assert ">true<" in body and ">false<" in body and "550 mailbox unavailable" in body
    assert "Quote" in body and "Scheduled" in body and "Retry" in body
    body = table(client, "/account/history/reports?status=not_sent")
    assert "Survey" in body and "Offer" not in body
    body = table(client, "/account/history/reports?status=scheduled")
    assert "Quote" in body and "Survey" not in body and "Offer" not in body


@pytest.mark.parametrize("url,present,absent", [
    ("/account/history/reports?opportunity=bianchi", ["Survey"], ["Offer"]),
    ("/account/history/reports?template=Offer", ["rossi@example.net"], ["Survey"]),
    ("/account/history/reports?template=Quote", ["Scheduled"], ["Offer", "Survey"]),
    ("/account/history/reports?file=survey", ["Survey"], ["Offer"]),
    ("/account/history/reports?recipient=ROSSI", ["Offer"], ["Survey"]),
    ("/account/history/reports?credentials=Backup%20SMTP", ["Survey"], ["Offer"]),
    ("/account/history/reports?sender=noreply", ["Offer", "Survey"], ["Quote"]),
    ("/account/history/exports?template=Yearly", ["Bianchi roof"], ["Rossi kitchen"]),
    ("/account/history/exports?type=xlsx", ["Yearly", "XLSX", ".xlsx"], ["Monthly"]),
    ("/account/history/exports?extension=csv", ["Monthly", ".csv"], ["Yearly"]),
    ("/account/history/exports?file=monthly", ["Monthly"], ["Yearly"]),
    ("/account/history/exports?recipient=bianchi", ["Yearly"], ["Monthly"]),
    ("/account/history/signatures?document=mandate", ["Mandate.pdf"], ["Contract.pdf", "Waiver.pdf"]),
    ("/account/history/signatures?signer=anna", ["Contract.pdf"], ["Mandate.pdf"]),
    ("/account/history/signatures?provider=acme", ["Waiver.pdf", "Acme Sign"], ["Contract.pdf"]),
    ("/account/history/signatures?provider=nope", ["Waiver.pdf", "Contract.pdf"], []),
    ("/account/history/signatures?action=external_source", ["External-source action"],
     ["Send report for e-signature", "Waiver.pdf"]),
    ("/account/history/signatures?status=signed", ["Contract.pdf"], ["Mandate.pdf", "Waiver.pdf"]),
    ("/account/history/signatures?status=declined", ["Mandate.pdf"], ["Contract.pdf"]),
    ("/account/history/signatures?status=sent", ["Waiver.pdf"], ["Contract.pdf", "Mandate.pdf"]),
])
def test_text_and_select_filters(client, make, data, url, present, absent):
    client.login(make.user("manager"))
    body = table(client, url)
    for text in present:
        assert text in body, f"{text!r} missing at {url}"
    for text in absent:
        assert text not in body, f"{text!r} shown at {url}"


@pytest.mark.parametrize("tab,old,new", [("reports", "Survey", "Offer"), ("exports", "Yearly", "Monthly"),
                                         ("signatures", "Mandate.pdf", "Contract.pdf")])
def test_date_filters(client, make, data, tab, old, new):
    client.login(make.user("manager"))
    today = utcnow().date()
    body = table(client, f"/account/history/{tab}?when_from={today.isoformat()}")
    assert new in body and old not in body
    body = table(client, f"/account/history/{tab}?when_to={(today - timedelta(days=3)).isoformat()}")
    assert old in body and new not in body
    body = table(client, f"/account/history/{tab}?when_from={(today + timedelta(days=1)).isoformat()}")
    assert "No action matches these filters." in body


@pytest.mark.parametrize("tab,key,first,last", [
    ("reports", "template", "Offer", "Survey"), ("reports", "recipient", "bianchi@", "rossi@"),
    ("reports", "file", "Offer-", "Survey-"), ("exports", "template", "Monthly", "Yearly"),
    ("exports", "type", "Monthly", "Yearly"), ("signatures", "document", "Contract.pdf", "Waiver.pdf"),
    ("signatures", "signer", "bianchi@", "verdi@"), ("signatures", "opportunity", "Bianchi roof", "Rossi kitchen"),
])
def test_every_column_sorts_both_ways(client, make, data, tab, key, first, last):
    client.login(make.user("manager"))
    body = table(client, f"/account/history/{tab}?sort={key}&dir=asc")
    assert body.index(first) < body.index(last)
    body = table(client, f"/account/history/{tab}?sort={key}&dir=desc")
    assert body.index(last) < body.index(first)


def test_every_column_of_the_new_tabs_filters_and_sorts():
    from services.history import TABS

    for key in ("reports", "exports", "signatures"):
        for col in TABS[key].columns:
            assert col.filter in ("text", "select", "date") and col.sortable and col.expr is not None, (key, col.key)


def test_select_options_come_from_the_rows_the_user_may_see(client, make, data):
    client.login(make.user("manager"))
    page = client.get("/account/history/reports").get_data(as_text=True)
    assert '<option value="Survey"' in page and '<option value="Backup SMTP"' in page
    switch(client, make.user("partner", company=data["installer"]))
    page = client.get("/account/history/reports").get_data(as_text=True)
    assert '<option value="Offer"' in page
    assert "Survey" not in page and "Backup SMTP" not in page and "Bianchi roof" not in page
    page = client.get("/account/history/signatures").get_data(as_text=True)
    assert "Mandate.pdf" not in page and "Waiver.pdf" not in page and "verdi@" not in page
    # Providers are settings, not a company's data: the select lists the registered ones, by label.
    assert '<option value="simulator" >Built-in simulator' in page and '<option value="acme" >Acme Sign' in page


def test_download_links_only_for_users_who_may_download(client, make, data):
    offer, monthly = data["reports"]["offer"], data["exports"]["csv"]
    offer_url = f"/opportunities/{offer.opportunity_id}/files/{offer.id}"
    monthly_url = f"/opportunities/{monthly.opportunity_id}/files/{monthly.id}"
    assert client.get(offer_url).status_code == 302  # not logged in: to the login page
    client.login(make.user("manager"))
    assert f'href="{offer_url}"' in table(client, "/account/history/reports")
    assert f'href="{monthly_url}"' in table(client, "/account/history/exports")
    assert client.get(offer_url).data == b"%PDF-1.4 Offer"
    assert client.get(monthly_url).status_code == 200
    # The assigned installer downloads the report, but an export holds other opportunities: name only, 404.
    switch(client, make.user("partner", company=data["installer"]))
    assert f'href="{offer_url}"' in table(client, "/account/history/reports")
    body = table(client, "/account/history/exports")
    assert monthly.filename in body and f'href="{monthly_url}"' not in body
    assert client.get(offer_url).status_code == 200 and client.get(monthly_url).status_code == 404
    # Another company's user: neither the row nor the file.
    switch(client, make.partner())
    assert offer.filename not in table(client, "/account/history/reports")
    assert client.get(offer_url).status_code == 404


def test_file_names_are_escaped(client, make, data):
    hs.report(data["opp"], "Offer", "x@example.net", filename="<b>bold</b>.pdf")
    db.session.commit()
    client.login(make.user("manager"))
    body = table(client, "/account/history/reports?file=bold")
    assert "&lt;b&gt;bold&lt;/b&gt;.pdf" in body and "<b>bold</b>" not in body


def test_external_source_runs_have_a_label(app):
    from flask import render_template_string

    with app.test_request_context():
        assert render_template_string("{{ run_kind_label('external_source') }}") == "External-source action"
        assert render_template_string("{{ run_kind_label('esignature') }}") == "Send report for e-signature"
