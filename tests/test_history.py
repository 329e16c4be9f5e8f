"""Action history (SPEC §5): tabs, filters, sorting, keyset paging, statuses, retry."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import ActionRun
from models.base import utcnow
from services.history import registry
from tests import history_support as hs


@pytest.fixture
def data(make):
    flow = make.flow((1, 2))
    opp = make.opportunity(flow, name="Rossi kitchen")
    other = make.opportunity(flow, name="Bianchi roof")
    kind = make.activity_type("Outbound call")
    company = make.company("installer", name="Posa Srl")
    hs.email(opp, "Welcome", "rossi@example.net")
    hs.email(other, "Reminder", "bianchi@example.net", status="failed", run_status="failed", error="550 no such user")
    hs.run(opp, "send_email", "scheduled", due_at=utcnow() + timedelta(days=2))
    hs.run(opp, "send_email", "cancelled", reason="closed_before_due")
    hs.activity(opp, kind, completed=True)
    hs.activity(other, kind)
    hs.assignment(opp, company, "accepted")
    hs.substate(opp, flow.substates[0])
    hs.substate(other, flow.substates[1], "close_substate", "skipped", reason="channel")
    db.session.commit()
    return {"opp": opp, "other": other}


def test_account_menu_leads_to_history(client, make):
    client.login(make.user("manager"))
    page = client.get("/account").get_data(as_text=True)
    assert "Action history" in page and "Account information" in page
    assert client.get("/account/history").headers["Location"].endswith("/account/history/email")


@pytest.mark.parametrize("tab", ["email", "activities", "substates", "assignment"])
def test_every_tab_renders(client, make, data, tab):
    client.login(make.user("manager"))
    response = client.get(f"/account/history/{tab}")
    assert response.status_code == 200
    assert "Rossi kitchen" in response.get_data(as_text=True)


def test_unknown_tab_is_404(client, make):
    client.login(make.user("manager"))
    assert client.get("/account/history/nope").status_code == 404


def test_email_statuses_errors_and_reasons(client, make, data):
    client.login(make.user("manager"))
    body = client.get("/account/history/email").get_data(as_text=True)
    assert ">true<" in body and ">false<" in body
    assert "550 no such user" in body
    assert "Scheduled" in body and "due" in body
    assert "The substate was closed before the action was due." in body
    assert "Retry" in body


def test_filters_text_select_status_and_dates(client, make, data):
    client.login(make.user("manager"))
    body = client.htmx("GET", "/account/history/email?opportunity=bianchi").get_data(as_text=True)
    assert "Bianchi roof" in body and "Rossi kitchen" not in body
    body = client.htmx("GET", "/account/history/email?template=Welcome").get_data(as_text=True)
    assert "rossi@example.net" in body and "bianchi@example.net" not in body
    body = client.htmx("GET", "/account/history/email?status=not_sent").get_data(as_text=True)
    assert "bianchi@example.net" in body and "rossi@example.net" not in body
    body = client.htmx("GET", "/account/history/activities?status=completed").get_data(as_text=True)
    assert "Rossi kitchen" in body and "Bianchi roof" not in body
    body = client.htmx("GET", "/account/history/substates?change=close_substate").get_data(as_text=True)
    assert "Bianchi roof" in body and "Not for this opportunity" in body and "Rossi kitchen" not in body
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    body = client.htmx("GET", f"/account/history/email?when_from={tomorrow}").get_data(as_text=True)
    assert "No action matches these filters." in body
    assert client.get("/account/history/email?when_from=garbage&before=x.y&page=-3").status_code == 200


def test_names_are_the_changed_substate_and_the_users_language(client, make):
    flow = make.flow((2,))
    sent, signed = flow.substates
    sent.name, sent.name_i18n = "Contract sent", {"it": "Contratto inviato", "es": "Contrato enviado"}
    call = make.activity_type("Outbound call")
    call.name_i18n = {"it": "Chiamata in uscita"}
    opp = make.opportunity(flow)
    hs.substate(opp, sent, "close_substate", owner=signed)  # "Contract signed" opening closes "Contract sent"
    hs.activity(opp, call)
    db.session.commit()
    client.login(make.user("admin", language="it"))
    row = client.htmx("GET", "/account/history/substates").get_data(as_text=True)
    assert "Contratto inviato" in row and signed.name not in row
    page = client.get("/account/history/activities").get_data(as_text=True)
    assert page.count("Chiamata in uscita") == 2  # the row and the filter's option
    assert '<option value="Outbound call"' in page  # the option still filters by the stored name


def test_htmx_gets_the_table_alone_and_sorting(client, make, data):
    client.login(make.user("manager"))
    body = client.htmx("GET", "/account/history/email?sort=opportunity&dir=asc").get_data(as_text=True)
    assert body.lstrip().startswith('<div id="history-table">')
    assert body.index("Bianchi roof") < body.index("Rossi kitchen")
    assert 'hx-push-url="true"' in body
    full = client.get("/account/history/email", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in full.get_data(as_text=True)


def test_keyset_paging_deep(client, make, monkeypatch):
    monkeypatch.setattr(registry, "PAGE_SIZE", 3)
    opp = make.opportunity(name="Paged")
    runs = [hs.substate(opp, opp.type.substates[0]) for _ in range(8)]
    db.session.commit()
    client.login(make.user("manager"))
    seen, url = [], "/account/history/substates"
    while url:
        response = client.htmx("GET", url)
        body = response.get_data(as_text=True)
        seen += sorted((r.id for r in runs if f'id="run-{r.id}"' in body), reverse=True)
        marker = 'rel="next"'
        url = None
        if marker in body:
            href = body[:body.index(marker)].rsplit('href="', 1)[1].split('"', 1)[0]
            url = href.replace("&amp;", "&")
    assert seen == sorted((r.id for r in runs), reverse=True)


def test_retry_creates_a_new_attempt_shown_in_history(client, make, data):
    client.login(make.user("manager"))
    failed = db.session.execute(select(ActionRun).where(ActionRun.status == "failed")).scalar_one()
    response = client.post(f"/account/history/runs/{failed.id}/retry", data={"next": "/account/history/email"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/history/email")
    new = db.session.execute(select(ActionRun).where(ActionRun.parent_run_id == failed.id)).scalar_one()
    assert new.trigger == "retry"
    assert f'id="run-{new.id}"' in client.get("/account/history/email").get_data(as_text=True)
    # A run that did not fail cannot be retried.
    assert client.post(f"/account/history/runs/{new.id}/retry").status_code == 409


def test_retry_needs_permission_and_csrf(client, make, data):
    failed = db.session.execute(select(ActionRun).where(ActionRun.status == "failed")).scalar_one()
    client.login(make.user("viewer") if "viewer" in _roles() else make.user("partner", company=make.company()))
    assert client.post(f"/account/history/runs/{failed.id}/retry").status_code in (403, 404)
    client.login(make.user("manager"))
    assert client.post(f"/account/history/runs/{failed.id}/retry", csrf=False).status_code == 400
    assert not db.session.execute(select(ActionRun).where(ActionRun.parent_run_id == failed.id)).first()


def _roles():
    from models import ROLES

    return ROLES


def test_opportunity_timeline_lists_its_runs_newest_first(client, make, data):
    client.login(make.user("manager"))
    body = client.get(f"/opportunities/{data['opp'].id}").get_data(as_text=True)
    runs = db.session.execute(select(ActionRun).where(ActionRun.opportunity_id == data["opp"].id)
                              .order_by(ActionRun.id.desc())).scalars().all()
    positions = [body.index(f'id="timeline-run-{r.id}"') for r in runs]
    assert positions == sorted(positions) and len(runs) == 6
    assert "The substate was closed before the action was due." in body


def test_a_failure_the_engine_will_retry_says_when_and_which_attempt(client, make):
    opp = make.opportunity(name="Verdi garage")
    due = utcnow() + timedelta(minutes=10)
    r = hs.email(opp, "Welcome", "verdi@example.net", status="failed", run_status="pending", attempts=1,
                 due_at=due, error="451 4.3.0 Try again later")
    db.session.commit()
    client.login(make.user("manager"))
    for url in ("/account/history/email", f"/opportunities/{opp.id}"):
        body = client.get(url).get_data(as_text=True)
        row = body[body.index(f'run-{r.id}"'):]
        row = row[:row.index("</tr>")]
        assert "Will retry" in row and "(attempt 2 of 5)" in row and "451 4.3.0 Try again later" in row
        assert ">false<" not in row and "/retry" not in row  # not final, so no Retry either


def test_email_template_names_show_in_the_users_language(client, make):
    from models import EmailTemplate

    db.session.add(EmailTemplate(name="Contract sent", subjects={}, bodies={},
                                 name_i18n={"it": "Contratto inviato", "es": "Contrato enviado"}))
    hs.email(make.opportunity(name="Neri roof"), "Contract sent", "neri@example.net")
    db.session.commit()
    user = make.user("manager", language="it")
    client.login(user)
    client.post("/language", data={"lang": "it"})
    body = client.get("/account/history/email").get_data(as_text=True)
    assert "Contratto inviato" in body and "Contract sent</td>" not in body
    assert client.get("/account/history/email?template=Contract+sent").get_data(as_text=True).count("Neri roof") == 1
