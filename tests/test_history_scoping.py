"""SPEC H3 in the action history: every tab, filter, option list, page and file download, as users of two
installer and two commercial companies — nothing of another company's opportunities ever shows."""

import pytest
from sqlalchemy import select

from extensions import db
from models import ActionRun, StoredFile
from services.history import tabs
from tests import history_support as hs

KEYS = ["a", "b"]


@pytest.fixture
def world(app, make, tmp_path):
    app.config["FILES_DIR"] = str(tmp_path / "files")
    flow = make.flow((1, 2))
    companies = {f"{kind}_{k}": make.company(kind, name=f"{kind.title()} company {k.upper()}")
                 for kind in ("installer", "commercial") for k in KEYS}
    users = {key: make.user("partner", company=c) for key, c in companies.items()}
    atype = make.activity_type("Site visit")
    boss = make.user("manager", name="Boss")
    opps = {}
    for k in KEYS + ["none"]:
        inst, comm = companies.get(f"installer_{k}"), companies.get(f"commercial_{k}")
        opp = make.opportunity(flow, name=f"Secret deal {k}", installer=inst, commercial=comm)
        opps[k] = opp
        hs.email(opp, f"Template {k}", f"client-{k}@example.net", credentials=f"SMTP {k}")
        hs.email(opp, f"Failing template {k}", f"fail-{k}@example.net", status="failed", run_status="failed",
                 credentials=f"SMTP {k}", error=f"boom {k}")
        hs.activity(opp, atype, completed=k == "a")
        hs.substate(opp, flow.substates[0])
        hs.substate(opp, flow.substates[1], "close_substate", "cancelled", reason="closed_before_due")
        if inst:
            hs.assignment(opp, inst, "accepted")
        if comm:
            hs.assignment(opp, comm)
        hs.report(opp, f"Report tpl {k}", f"report-{k}@example.net", credentials=f"SMTP {k}",
                  filename=f"report-file-{k}.pdf")
        hs.export(opp, f"Export tpl {k}", f"export-{k}@example.net", credentials=f"SMTP {k}",
                  filename=f"export-file-{k}.csv")
        hs.export(opp, f"Export tpl {k}", f"export-fail-{k}@example.net", "xlsx", status="failed",
                  run_status="failed", error=f"export boom {k}", filename=f"export-file-{k}.xlsx")
        _run, request = hs.signature(opp, f"Contract {k}.pdf", f"signer-{k}@example.net", signer_name=f"Signer {k}")
        hs.callback(opp, request, "signed" if k == "a" else "declined", name=f"Signed action {k}")
        # The monitoring rules' runs (issue 11): tasks, notifications to the company's users, entries, triggers.
        _run, task = hs.task_created(opp, f"Task secret {k}", boss)
        hs.tasks_completed(opp, [task])
        hs.notified(opp, [boss] + [users[f"{kind}_{k}"] for kind in ("installer", "commercial") if k in KEYS],
                    f"Note secret {k}")
        hs.history_entry(opp, f"Entry secret {k}", boss)
        hs.trigger_fired(opp, hs.trigger(flow.substates[1], f"Trigger secret {k}"), task)
        # Process automations and linked tasks (T2, T3).
        hs.automation_run(opp, flow.substates[0], f"Automation secret {k}", value=f"Value secret {k}")
        hs.linked_tasks_run(opp, flow.substates[1], task)
    db.session.commit()
    return {"users": users, "opps": opps, "companies": companies}


def _secrets(k: str) -> list[str]:
    return [f"Secret deal {k}", f"Template {k}", f"client-{k}@example.net", f"fail-{k}@example.net",
            f"SMTP {k}", f"boom {k}", f"Report tpl {k}", f"report-{k}@example.net", f"report-file-{k}",
            f"Export tpl {k}", f"export-{k}@example.net", f"export-fail-{k}@", f"export-file-{k}",
            f"Contract {k}", f"signer-{k}@example.net", f"Signer {k}", f"Task secret {k}", f"Note secret {k}",
            f"Entry secret {k}", f"Trigger secret {k}", f"Automation secret {k}", f"Value secret {k}"]


FILTERS = ["", "?opportunity=secret", "?opportunity=deal%20b", "?template=Template%20b", "?credentials=SMTP%20b",
           "?recipient=example.net", "?status=failed", "?status=sent", "?status=not_sent", "?sort=opportunity&dir=asc",
           "?sort=template&page=2", "?before=999999", "?company=Installer%20company%20B", "?when_from=2000-01-01",
           "?type=Site%20visit", "?change=close_substate", "?substate=Substate", "?template=Report%20tpl%20b",
           "?template=Export%20tpl%20b", "?file=file", "?sender=noreply", "?type=csv", "?extension=xlsx",
           "?action=external_source", "?document=contract", "?signer=signer", "?provider=simulator",
           "?status=signed", "?status=declined", "?sort=file&dir=asc", "?sort=signer", "?sort=template&dir=asc",
           "?before=999999.999999", "?task=secret", "?action=completed", "?deadline_to=2100-01-01",
           "?responsible=boss", "?message=secret", "?recipient=o", "?status=read", "?author=boss", "?text=secret",
           "?trigger=Trigger%20secret%20b", "?sort=task&dir=asc", "?sort=message", "?sort=trigger&dir=asc",
           "?sort=text", "?sort=deadline&dir=asc", "?automation=secret", "?value=secret", "?sort=value&dir=asc",
           "?direction=linked_tasks", "?field=system%3Acompany_name", "?sort=automation"]


@pytest.mark.parametrize("viewer", ["installer_a", "commercial_a", "installer_b", "commercial_b"])
def test_no_leak_in_any_tab_filter_or_option(client, world, viewer):
    client.login(world["users"][viewer])
    own = viewer[-1]
    others = [k for k in KEYS if k != own] + ["none"]
    for tab in tabs():
        for query in FILTERS:
            for htmx in (False, True):
                url = f"/account/history/{tab.key}{query}"
                response = client.htmx("GET", url) if htmx else client.get(url)
                assert response.status_code == 200, url
                body = response.get_data(as_text=True)
                for k in others:
                    for secret in _secrets(k):
                        assert secret not in body, f"{viewer} sees {secret!r} at {url}"
        # Their own rows are there: scoping is not simply hiding everything.
        assert f"Secret deal {own}" in client.get(f"/account/history/{tab.key}").get_data(as_text=True)


@pytest.mark.parametrize("viewer", ["installer_a", "commercial_b"])
def test_partner_sees_only_own_companies_in_assignment_tab(client, world, viewer):
    client.login(world["users"][viewer])
    body = client.get("/account/history/assignment").get_data(as_text=True)
    company = world["companies"][viewer].name
    assert company in body
    for key, other in world["companies"].items():
        if key != viewer:
            assert other.name not in body


@pytest.mark.parametrize("viewer", ["installer_a", "commercial_a", "installer_b", "commercial_b"])
def test_downloads_only_own_reports(client, world, viewer):
    """Another company's files are 404 by any URL; of their own, partners download reports, never exports
    (an export holds other opportunities' rows) — and the history links exactly what downloads."""
    client.login(world["users"][viewer])
    own = world["opps"][viewer[-1]]
    stored = db.session.execute(select(StoredFile)).scalars().all()
    assert len(stored) == 9
    for row in stored:
        url = f"/opportunities/{row.opportunity_id}/files/{row.id}"
        allowed = row.opportunity_id == own.id and row.kind == "generate_report"
        response = client.get(url)
        assert response.status_code == (200 if allowed else 404), url
        for forged in (f"/opportunities/{own.id}/files/{row.id}", f"/opportunities/{row.opportunity_id}/files/{row.id}"):
            if not allowed:
                assert client.get(forged).status_code == 404, forged
        if allowed:
            assert response.data == b"%PDF-1.4 " + f"Report tpl {viewer[-1]}".encode()
        tab = "reports" if row.kind == "generate_report" else "exports"
        assert (f'href="{url}"' in client.get(f"/account/history/{tab}").get_data(as_text=True)) == allowed


def test_partner_cannot_retry_anything(client, world):
    client.login(world["users"]["installer_a"])
    for k in KEYS + ["none"]:
        failed = db.session.execute(select(ActionRun).where(ActionRun.opportunity_id == world["opps"][k].id,
                                                            ActionRun.status == "failed")).scalars().all()
        assert {r.kind for r in failed} == {"send_email", "export"}
        for run in failed:
            assert client.post(f"/account/history/runs/{run.id}/retry").status_code == 404
    for tab in ("email", "exports"):
        body = client.get(f"/account/history/{tab}").get_data(as_text=True)
        assert "boom a" in body and 'action="/account/history/runs/' not in body  # failed rows, no Retry form


def test_internal_user_sees_everything(client, make, world):
    client.login(make.user("manager"))
    body = client.get("/account/history/email").get_data(as_text=True)
    for k in KEYS + ["none"]:
        assert f"Secret deal {k}" in body and f"Template {k}" in body


def test_partner_lands_on_home_with_new_assignments(client, world):
    client.login(world["users"]["commercial_a"])
    assert client.get("/").headers["Location"].endswith("/partner")
    body = client.get("/partner").get_data(as_text=True)
    assert "Secret deal a" in body and "Accept or reject" in body
    assert "Secret deal b" not in body and "Secret deal none" not in body
