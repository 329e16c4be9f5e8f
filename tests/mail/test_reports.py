"""A6 and S3 (SPEC): report templates checked at save, previewed as PDF with fetches confined; generate
report through real workers — the PDF arrives attached, opens with pypdf and holds the client's name, and
the download route gives exactly those bytes to authorised users only."""

import hashlib
import http.server
import io
import threading
from pathlib import Path

import pytest
from flask import g
from pypdf import PdfReader
from sqlalchemy import func, select

from engine import pdf
from extensions import db
from models import ActionRun, ReportTemplate, StoredFile
from services.substates import open_substate
from tests.engine_support import runs, wait_for
from tests.mail import support
from tests.mail.conftest import free_port, worker_env

REPORT_HTML = ("<h1>{{ opportunity.name }}</h1>\n<p>{{ client.name }} — {{ opportunity.amount }}</p>\n"
               "<p>{{ client.address }}</p>")
ROUTES = [("GET", "/settings/report-templates"), ("GET", "/settings/report-templates/new"),
          ("POST", "/settings/report-templates/new"), ("GET", "/settings/report-templates/{id}"),
          ("POST", "/settings/report-templates/{id}"), ("POST", "/settings/report-templates/{id}/delete"),
          ("POST", "/settings/report-templates/preview")]


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def report(label="Offer", html=REPORT_HTML, **kw) -> ReportTemplate:
    record = ReportTemplate(label=label, html=html, css="h1 { color: #234; }", paper_size="A4", **kw)
    db.session.add(record)
    db.session.commit()
    return record


def form(**changes) -> dict:
    return {"label": "Offer letter", "html": REPORT_HTML, "css": "h1 { font-size: 20px; }", "paper_size": "A4",
            "orientation": "portrait", **changes}


@pytest.fixture
def files_app(mail_app, tmp_path):
    mail_app.config["FILES_DIR"] = str(tmp_path / "files")
    return mail_app


def env(app) -> dict:
    return {**worker_env(app), "FILES_DIR": app.config["FILES_DIR"]}


def report_world(make, server, **kw):
    w = support.world(make, support.credentials(server), support.template())
    w["report"] = report()
    w["action"].config = {"report_template_id": w["report"].id, "email_template_id": w["action"].config[
        "email_template_id"], "smtp_credential_id": w["action"].config["smtp_credential_id"], "recipient": "client",
        **kw}
    w["action"].kind = "generate_report"
    db.session.commit()
    return w


def final_run(timeout: float = 30.0) -> ActionRun:
    return wait_for(lambda: next((r for r in runs(kind="generate_report") if r.is_final), None), timeout=timeout,
                    message="the generate-report run to end")


# -- settings ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role,status", [("admin", None), ("manager", 403), ("partner", 404)])
def test_settings_pages_admin_only(client, make, method, url, role, status):
    saved = report(label="Saved")
    client.login(make.partner() if role == "partner" else make.user(role))
    response = client.open(url.format(id=saved.id), method=method, data=form(label="Changed"))
    if status is None:
        assert response.status_code in (200, 302, 422)
    else:
        assert response.status_code == status
        db.session.rollback()
        assert [t.label for t in db.session.scalars(select(ReportTemplate))] == ["Saved"]


def test_create_edit_and_tile(client, make):
    client.login(make.user("admin"))
    assert 'href="/settings/report-templates"' in client.get("/settings/").get_data(as_text=True)
    assert client.post("/settings/report-templates/new", data=form(orientation="landscape")).status_code == 302
    db.session.rollback()
    saved = db.session.scalar(select(ReportTemplate))
    assert saved.label == "Offer letter" and saved.orientation == "landscape"
    assert client.post(f"/settings/report-templates/{saved.id}", data=form(label="Offer")).status_code == 302
    db.session.rollback()
    assert db.session.get(ReportTemplate, saved.id).label == "Offer"


@pytest.mark.parametrize("changes,message", [
    ({"html": "<p>one</p>\n<p>{{ client.name </p>"}, "Line 2: unexpected"),
    ({"html": "<p>{{ ''.__class__ }}</p>"}, "“__class__” is not a placeholder"),
    ({"css": "a\n{% include 'x' %}"}, "cannot include, import or extend"),
    ({"html": ""}, "Write the report"),
    ({"label": ""}, "Enter a label."),
    ({"paper_size": "A0"}, "Choose a paper size."),
])
def test_bad_template_is_refused_at_save_with_line_and_reason(client, make, changes, message):
    client.login(make.user("admin"))
    response = client.post("/settings/report-templates/new", data=form(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ReportTemplate)) == 0


def test_preview_is_a_pdf_with_the_client_name(client, make):
    flow = make.flow((1,))
    opp = make.opportunity(flow, name="Impianto Verdi", customer=make.customer(name="Giulia Verdi"))
    db.session.commit()
    client.login(make.user("admin"))
    response = client.post("/settings/report-templates/preview",
                           data=form(preview_opportunity=opp.id, preview_language="it"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Giulia Verdi" in text_of(response.data) and "Impianto Verdi" in text_of(response.data)
    assert client.post("/settings/report-templates/preview", data=form(preview_opportunity=opp.id,
                       html="{{ x.__class__ }}")).status_code == 422
    assert client.post("/settings/report-templates/preview", data=form()).status_code == 422


class _Spy(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802
        _Spy.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_rendering_fetches_nothing_remote_and_reads_no_local_file_outside_static(app):
    server = http.server.HTTPServer(("127.0.0.1", free_port()), _Spy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        html = (f'<p>Secret</p><img src="{base}/img.png"><img src="file:///etc/passwd">'
                f'<link rel="stylesheet" href="{base}/x.css"><img src="/static/../../../../etc/passwd">'
                f'<a href="{base}/link">link</a>')
        css = f"@import url({base}/imported.css); body {{ background: url({base}/bg.png); }}"
        content = pdf.html_to_pdf(pdf.document(html, css, "A4", "portrait", "en"))
    finally:
        server.shutdown()
        server.server_close()
    assert _Spy.hits == []
    passwd = Path("/etc/passwd").read_text()
    assert "root:" not in text_of(content) and passwd.encode()[:64] not in content
    assert "Secret" in text_of(content)


# -- generate report through real workers -----------------------------------------------------------

def test_report_arrives_attached_and_downloads_as_sent(files_app, make, client, smtp_server, workers):
    server = smtp_server()
    w = report_world(make, server)
    workers.start(1, **env(files_app))
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (msg,) = server.wait_for(1)
    run = final_run()
    assert run.status == "succeeded", run.error
    (part,) = list(msg.iter_attachments())
    sent = part.get_payload(decode=True)
    assert part.get_content_type() == "application/pdf" and part.get_filename() == f"Offer-{w['opp'].id}.pdf"
    assert "Mario Rossi" in text_of(sent) and "Impianto Rossi" in text_of(sent)
    assert "12.345,50" in text_of(sent)  # the Italian client's locale
    stored = db.session.scalar(select(StoredFile))
    assert stored.sha256 == hashlib.sha256(sent).hexdigest() == run.result["files"][0]["sha256"]
    assert stored.run_id == run.id and run.result["emails"][0]["status"] == "sent"

    url = f"/opportunities/{w['opp'].id}/files/{stored.id}"
    client.login(w["owner"])
    response = client.get(url)
    assert response.status_code == 200 and hashlib.sha256(response.data).hexdigest() == stored.sha256
    assert url in client.get(f"/opportunities/{w['opp'].id}").get_data(as_text=True)  # listed on the page
    assert client.get(f"/opportunities/{w['opp'].id}/files/{stored.id + 1}").status_code == 404
    g.pop("_login_user", None)  # the test's app context is the requests' too: forget the cached user
    other = files_app.test_client()
    other.login(make.partner())
    assert other.get(url).status_code == 404


def test_attachment_over_the_size_limit_fails_with_a_clear_error(files_app, make, smtp_server, workers):
    server = smtp_server()
    w = report_world(make, server)
    files_app.config["MAIL_MAX_BYTES"] = 2000
    workers.start(1, **env(files_app))
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    run = final_run()
    assert run.status == "failed" and run.attempts == 1
    assert "over the limit" in run.error and "MAIL_MAX_BYTES" in run.error
    assert server.messages == []


def test_smtp_down_retries_then_fails(files_app, make, workers):
    port = free_port()
    w = support.world(make, support.credentials(None, security="none", port=port), support.template())
    w["action"].kind = "generate_report"
    w["action"].config = {**w["action"].config, "report_template_id": report().id}
    db.session.commit()
    workers.start(1, **env(files_app))
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    run = final_run()
    assert run.status == "failed" and run.attempts == files_app.config["ENGINE_MAX_ATTEMPTS"]
    assert run.error.startswith("Connection refused")
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 1  # the same file each attempt


