"""Why did it (not) run? The opportunity page's automatic-actions panel: for each action of its substates the
runs it made, with the reason one was skipped or cancelled, or why it made none."""

from extensions import db
from services import why_runs
from services.substates import close_substate, open_substate
from tests.engine_support import add_action


def _explained(opp) -> dict[int, why_runs.ActionWhy]:
    db.session.expire_all()
    return {item.action.id: item for sub in why_runs.explain(opp) for item in sub.actions}


def test_each_reason_a_run_was_not_made_or_did_not_go(client, make):
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    web, phone = make.channel("Web"), make.channel("Phone")
    ran = add_action(s1, "on_open", "open_substate", substate_id=s3.id)
    other_channel = add_action(s1, "on_open", "open_substate", channels=[web], substate_id=s3.id)
    disabled = add_action(s1, "on_open", "open_substate", substate_id=s3.id)
    disabled.enabled = False
    scheduled = add_action(s1, "scheduled", "open_substate", delay=(3, "days"), substate_id=s3.id)
    on_close_later = add_action(s2, "on_close", "open_substate", substate_id=s3.id)
    never_opened = add_action(s3, "on_open", "open_substate", substate_id=s2.id)
    db.session.commit()
    opp = make.opportunity(flow, channel=phone)
    open_substate(opp, s1.id, None)
    db.session.commit()
    added_after = add_action(s1, "on_open", "open_substate", substate_id=s3.id)
    close_substate(opp, s1.id, None)
    db.session.commit()

    why = _explained(opp)
    assert [r.status for r, _who in why[ran.id].runs] == ["pending"] and why[ran.id].why_none is None
    (skipped, _who), = why[other_channel.id].runs
    assert skipped.status == "skipped" and skipped.reason_text == "Not for this opportunity's channel."
    assert why[disabled.id].runs == [] and why[disabled.id].why_none == "The action is disabled."
    assert why[added_after.id].why_none == "The action was added after the substate opened."
    (cancelled, _who), = why[scheduled.id].runs
    assert cancelled.status == "cancelled"
    assert cancelled.reason_text == "The substate was closed before the action was due."
    assert why[on_close_later.id].why_none == "The substate has not been closed on this opportunity."
    assert why[never_opened.id].why_none == "The substate has not been opened on this opportunity."
    # Run now is offered only where it would make a run.
    assert why[ran.id].may_run and not why[other_channel.id].may_run and not why[disabled.id].may_run

    client.login(make.user("manager"))
    panel = client.htmx("GET", f"/opportunities/{opp.id}/actions").get_data(as_text=True)
    for text in ("Not for this opportunity&#39;s channel.", "The action is disabled.",
                 "The action was added after the substate opened.",
                 "The substate was closed before the action was due."):
        assert text in panel, text
    # Run now on the five enabled actions for its channel, and on S1's and S3's on-open actions.
    assert panel.count('name="target" value="action:') == 5 and panel.count('value="substate:') == 2


def test_the_panel_is_internal_and_loaded_from_the_page(client, make):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    partner = make.partner()
    opp = make.opportunity(flow, installer=partner.company)
    agent = make.user("agent")
    client.login(agent)
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert f"/opportunities/{opp.id}/actions" in page and "Automatic actions" in page
    panel = client.htmx("GET", f"/opportunities/{opp.id}/actions").get_data(as_text=True)
    assert "The substate has not been opened on this opportunity." in panel
    assert 'name="target"' not in panel  # an agent sees why, but may not run actions by hand
    client.post("/logout")
    client.login(partner)
    assert f"/opportunities/{opp.id}/actions" not in client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert client.get(f"/opportunities/{opp.id}/actions").status_code == 404
