"""Edits and waiting runs (SPEC D13): editing, disabling or deleting a scheduled action with waiting runs lists
them and asks keep / apply / cancel, and does what was chosen; without waiting runs nothing is asked."""

from datetime import time, timedelta

import pytest

from extensions import db
from models import Action, OpportunitySubstate
from services.substates import open_substate
from tests.engine_support import add_action, runs

T = "/settings/types"


@pytest.fixture
def waiting(client, make):
    """A scheduled action (open S2 after 2 days) whose run waits on two opportunities."""
    client.login(make.user("manager"))
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    action = add_action(s1, "scheduled", "open_substate", delay=(2, "days"), substate_id=s2.id)
    opps = [make.opportunity(flow) for _ in range(2)]
    for opp in opps:
        open_substate(opp, s1.id, None)
    db.session.commit()
    return {"flow": flow, "action": action, "opps": opps, "s2": s2, "s3": s3,
            "url": f"{T}/{flow.id}/actions/{action.id}"}


def _edit(client, w, delay="5", unit="days", **extra):
    data = {"group": "scheduled", "delay_amount": delay, "delay_unit": unit, "kind": "open_substate",
            "config-substate_id": str(w["s3"].id), "channel_scope": "all", **extra}
    return client.htmx("POST", w["url"] + "/edit", data=data)


def test_editing_lists_the_waiting_runs_and_saves_nothing_until_a_choice(client, waiting):
    before = [(r.due_at, r.config) for r in runs()]
    answer = _edit(client, waiting)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "This action has 2 runs waiting to run:" in page
    assert all(o.name in page for o in waiting["opps"])
    assert all(f'value="{key}"' in page for key in ("keep", "apply", "cancel"))
    assert 'name="delay_amount" value="5"' in page  # the change is posted again with the choice
    db.session.expire_all()
    action = db.session.get(Action, waiting["action"].id)
    assert action.delay_amount == 2 and [(r.due_at, r.config) for r in runs()] == before


def test_keep_saves_the_action_and_leaves_the_runs_as_planned(client, waiting):
    before = [(r.due_at, r.config, r.status) for r in runs()]
    answer = _edit(client, waiting, waiting="keep")
    assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "flow-changed"
    db.session.expire_all()
    assert db.session.get(Action, waiting["action"].id).delay_amount == 5
    assert [(r.due_at, r.config, r.status) for r in runs()] == before


def test_apply_recomputes_config_and_due_time_from_the_opening(client, waiting):
    answer = _edit(client, waiting, waiting="apply")
    assert answer.status_code == 200
    for run in runs():
        opened = db.session.execute(db.select(OpportunitySubstate.opened_at).where(
            OpportunitySubstate.opportunity_id == run.opportunity_id,
            OpportunitySubstate.substate_id == run.substate_id)).scalar_one()
        assert run.status == "scheduled" and run.due_at == opened + timedelta(days=5)
        assert run.config["substate_id"] == waiting["s3"].id


def test_apply_puts_the_due_time_into_working_hours(client, waiting, make):
    owner = make.user("agent", work_days="1", work_start=time(9), work_end=time(17), timezone="UTC")
    for opp in waiting["opps"]:
        opp.owner = owner
    db.session.commit()
    _edit(client, waiting, delay="3", respect_working_hours="y", waiting="apply")
    for run in runs():
        assert run.due_at.weekday() == 0 and time(9) <= run.due_at.time() < time(17)  # a Monday, 9 to 17
        assert run.due_at >= run.created_at + timedelta(days=3) - timedelta(seconds=1)


def test_cancel_cancels_the_waiting_runs_with_a_reason(client, waiting):
    _edit(client, waiting, waiting="cancel")
    made = runs()
    assert {r.status for r in made} == {"cancelled"} and all(r.finished_at for r in made)
    assert "changed, disabled or deleted" in made[0].reason_text


def test_disabling_asks_keep_or_cancel_and_does_it(client, waiting):
    answer = client.htmx("POST", waiting["url"] + "/toggle", data={"enabled": "0"})
    page = answer.get_data(as_text=True)
    assert "2 runs waiting" in page and 'value="apply"' not in page and 'value="keep"' in page
    assert db.session.get(Action, waiting["action"].id).enabled
    client.htmx("POST", waiting["url"] + "/toggle", data={"enabled": "0", "waiting": "keep"})
    db.session.expire_all()
    assert not db.session.get(Action, waiting["action"].id).enabled
    assert {r.status for r in runs()} == {"scheduled"}  # kept: they still run when due
    client.htmx("POST", waiting["url"] + "/toggle", data={"enabled": "1"})  # enabling asks nothing
    client.htmx("POST", waiting["url"] + "/toggle", data={"enabled": "0", "waiting": "cancel"})
    assert {r.status for r in runs()} == {"cancelled"}


def test_deleting_asks_and_cancel_then_delete(client, waiting):
    answer = client.htmx("POST", waiting["url"] + "/delete")
    assert "2 runs waiting" in answer.get_data(as_text=True)
    assert db.session.get(Action, waiting["action"].id) is not None
    client.htmx("POST", waiting["url"] + "/delete", data={"waiting": "cancel"})
    db.session.expire_all()
    assert db.session.get(Action, waiting["action"].id) is None
    assert {r.status for r in runs()} == {"cancelled"}


def test_no_waiting_runs_no_question(client, make):
    client.login(make.user("manager"))
    flow = make.flow((2,))
    s1, s2 = flow.substates
    action = add_action(s1, "scheduled", "open_substate", delay=(2, "days"), substate_id=s2.id)
    answer = client.htmx("POST", f"{T}/{flow.id}/actions/{action.id}/delete")
    assert answer.status_code == 200 and "waiting" not in answer.get_data(as_text=True)
    assert db.session.get(Action, action.id) is None
