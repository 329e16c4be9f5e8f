"""Assign installer / assign commercial (SPEC A1, A2): which criterion applies, how each strategy picks,
execution through real workers, and the partner's accept or reject."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.errors import Skip
from engine.executor import execute
from engine.kinds import get_kind
from extensions import db
from models import ActionRun, Assignment, Opportunity
from services import assignment as svc
from services.substates import open_substate
from tests.engine_support import add_action, runs, wait_for


def fresh(model, record_id):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, record_id)


def assign_many(make, opp_type, count, kind="installer", **opp_kw):
    """Assign `count` new opportunities through the service; the chosen company ids in order."""
    chosen = []
    for _ in range(count):
        opp = make.opportunity(opp_type, **opp_kw)
        chosen.append(svc.assign(opp, kind).company_id)
        db.session.commit()
    return chosen


# --- which criterion applies --------------------------------------------------------------------------


def test_the_most_specific_matching_criterion_applies(make):
    flow, web = make.flow((1,)), make.channel("Web")
    any_rule = make.rule()
    by_type = make.rule(type_id=flow.id)
    by_channel = make.rule(channel_id=web.id)
    by_province = make.rule(province="MI")
    by_short_prefix = make.rule(postal_prefix="20")
    by_long_prefix = make.rule(postal_prefix="201")
    opp = make.opportunity(flow, channel=web, province="mi", postal_code="20121")
    order = [r.id for r in svc.matching_rules(opp, "installer")]
    assert order == [by_long_prefix.id, by_short_prefix.id, by_province.id, by_channel.id, by_type.id, any_rule.id]
    elsewhere = make.opportunity(flow, province="RM", postal_code="00184")
    assert [r.id for r in svc.matching_rules(elsewhere, "installer")] == [by_type.id, any_rule.id]


def test_a_condition_that_does_not_hold_excludes_the_criterion(make):
    flow, other = make.flow((1,)), make.flow((1,))
    make.rule(type_id=other.id)
    make.rule(postal_prefix="30")
    make.rule(partner_kind="commercial")
    inactive = make.rule()
    inactive.active = False
    db.session.commit()
    opp = make.opportunity(flow, postal_code="20121")
    assert svc.matching_rules(opp, "installer") == []


def test_equally_specific_criteria_go_by_the_oldest(make):
    first, second = make.rule(province="MI"), make.rule(province="MI")
    opp = make.opportunity(province="MI")
    assert [r.id for r in svc.matching_rules(opp, "installer")] == [first.id, second.id]
    assert svc.assign(opp, "installer").rule_id == first.id


def test_a_criterion_without_usable_companies_is_passed_over(make):
    closed = make.company("installer", active=False)
    make.rule(companies=[closed], province="MI")
    fallback = make.rule()
    opp = make.opportunity(province="MI")
    assignment = svc.assign(opp, "installer")
    assert assignment.rule_id == fallback.id and assignment.company_id == fallback.companies[0].company_id


def test_no_matching_criterion_says_why(make):
    make.rule(province="RM")
    opp = make.opportunity(province="MI", postal_code="20121")
    with pytest.raises(svc.NoCandidate) as err:
        svc.assign(opp, "installer")
    assert "No active assignment criterion for installer companies" in err.value.message
    assert "MI" in err.value.message and "20121" in err.value.message


def test_no_active_company_says_why(make):
    make.rule(companies=[make.company("installer", active=False)])
    with pytest.raises(svc.NoCandidate, match="no active installer company"):
        svc.assign(make.opportunity(), "installer")


# --- strategies ---------------------------------------------------------------------------------------


def test_round_robin_takes_turns(make):
    a, b, c = (make.company("installer") for _ in range(3))
    make.rule(companies=[a, b, c])
    flow = make.flow((1,))
    assert assign_many(make, flow, 7) == [a.id, b.id, c.id, a.id, b.id, c.id, a.id]


def test_round_robin_lets_a_company_added_later_catch_up_first(make):
    a, b = make.company("installer"), make.company("installer")
    rule = make.rule(companies=[a])
    flow = make.flow((1,))
    assign_many(make, flow, 2)
    from models import AssignmentRuleCompany

    rule.companies.append(AssignmentRuleCompany(company_id=b.id, weight=1))
    db.session.commit()
    assert assign_many(make, flow, 4) == [b.id, b.id, a.id, b.id]


def test_weighted_gives_in_proportion_to_the_weights(make):
    a, b = make.company("commercial"), make.company("commercial")
    make.rule("commercial", companies=[a, b], strategy="weighted", weights=[2, 1])
    chosen = assign_many(make, make.flow((1,)), 9, kind="commercial")
    assert chosen.count(a.id) == 6 and chosen.count(b.id) == 3
    assert chosen[:6] == [a.id, b.id, a.id, a.id, b.id, a.id]  # interleaved, not runs of one company


def test_least_loaded_picks_the_company_with_fewest_open_assignments(make):
    a, b = make.company("installer"), make.company("installer")
    other_rule = make.rule(companies=[a])
    flow = make.flow((1,))
    assign_many(make, flow, 2)  # a now has two open assignments from another criterion
    make.rule(companies=[a, b], strategy="least_loaded", province="MI")
    assert assign_many(make, flow, 3, province="MI") == [b.id, b.id, a.id]
    # A rejected assignment is no longer a load.
    for assignment in db.session.execute(select(Assignment).where(Assignment.company_id == a.id)).scalars():
        assignment.status = "rejected"
    db.session.commit()
    assert assign_many(make, flow, 1, province="MI") == [a.id]
    assert other_rule.active


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(companies=st.integers(1, 5), assignments=st.integers(0, 25))
def test_round_robin_spreads_evenly_property(app, make, companies, assignments):
    """Through the service and the database: after any number of assignments the counts differ by ≤ 1."""
    members = [make.company("installer") for _ in range(companies)]
    rule = make.rule(companies=members)
    flow = make.flow((1,))
    assign_many(make, flow, assignments)
    counts = dict(db.session.execute(select(Assignment.company_id, func.count()).where(
        Assignment.rule_id == rule.id).group_by(Assignment.company_id)).all())
    spread = [counts.get(c.id, 0) for c in members]
    assert max(spread) - min(spread) <= 1 and sum(spread) == assignments
    rule.active = False  # leave the next example a world of its own
    db.session.commit()


@given(weights=st.lists(st.integers(1, 100), min_size=1, max_size=10), steps=st.integers(1, 300))
def test_strategies_stay_fair_over_any_number_of_assignments(weights, steps):
    """The pure choice: round robin within one; weighted within one of each company's exact share."""
    ids = list(range(1, len(weights) + 1))
    for strategy in ("round_robin", "weighted"):
        counts, last = {}, {}
        for step in range(1, steps + 1):
            chosen = svc.pick(strategy, dict(zip(ids, weights, strict=True)), counts, last)
            counts[chosen], last[chosen] = counts.get(chosen, 0) + 1, step
            if strategy == "round_robin":
                assert max(counts.get(i, 0) for i in ids) - min(counts.get(i, 0) for i in ids) <= 1
            else:
                total = sum(weights)
                assert all(abs(counts.get(i, 0) * total - step * w) < total  # |count − exact share| < 1
                           for i, w in zip(ids, weights, strict=True))


# --- the action kinds ---------------------------------------------------------------------------------


def _run_for(make, kind, opp=None, **config):
    """An on-open action of `kind` on a fresh flow, its substate opened: the run, executed in-process."""
    flow = make.flow((1,))
    (sub,) = flow.substates
    add_action(sub, "on_open", kind, **config)
    opp = opp or make.opportunity(flow)
    if opp.type_id != flow.id:
        opp.type_id = flow.id
    open_substate(opp, sub.id, None)
    db.session.commit()
    (run,) = runs()
    execute(run.id)
    return fresh(ActionRun, run.id), fresh(Opportunity, opp.id)


def test_assign_installer_sets_the_company_and_records_a_pending_assignment(app, make):
    rule = make.rule()
    run, opp = _run_for(make, "assign_installer")
    assert run.status == "succeeded"
    assignment = db.session.execute(select(Assignment)).scalar_one()
    assert opp.installer_id == assignment.company_id == rule.companies[0].company_id
    assert (assignment.status, assignment.run_id, assignment.rule_id) == ("pending", run.id, rule.id)
    assert run.result["assignment_id"] == assignment.id and run.result["strategy"] == "round_robin"


def test_assign_commercial_sets_the_commercial(app, make):
    rule = make.rule("commercial")
    run, opp = _run_for(make, "assign_commercial")
    assert run.status == "succeeded" and opp.commercial_id == rule.companies[0].company_id
    assert opp.installer_id is None


def test_no_match_fails_the_run_with_its_reason(app, make):
    make.rule(province="RM")
    run, opp = _run_for(make, "assign_installer")
    assert run.status == "failed" and run.attempts == 1
    assert "No active assignment criterion for installer companies matches" in run.error
    assert opp.installer_id is None and db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_already_assigned_is_skipped_unless_the_action_reassigns(app, make):
    current, other = make.company("installer"), make.company("installer")
    make.rule(companies=[current, other])
    run, opp = _run_for(make, "assign_installer", opp=make.opportunity(installer=current))
    assert run.status == "skipped" and run.reason == "already_assigned" and "already had" in run.reason_text
    assert opp.installer_id == current.id


def test_reassign_replaces_the_open_assignment(app, make):
    a, b = make.company("installer"), make.company("installer")
    make.rule(companies=[a, b])
    opp = make.opportunity()
    first = svc.assign(opp, "installer")
    db.session.commit()
    kind = get_kind("assign_installer")
    run = ActionRun(opportunity_id=opp.id, kind=kind.key, config={"reassign": True}, trigger="on_open",
                    chain_id="x", status="pending")
    db.session.add(run)
    db.session.commit()
    execute(run.id)
    assert fresh(ActionRun, run.id).status == "succeeded"
    opp = fresh(Opportunity, opp.id)
    assert fresh(Assignment, first.id).status == "replaced"
    assert opp.installer_id == b.id != first.company_id


def test_execute_skip_is_raised_before_any_change(app, make):
    opp = make.opportunity(installer=make.company("installer"))
    run = ActionRun(opportunity=opp, kind="assign_installer", config={}, trigger="on_open", chain_id="y")
    with pytest.raises(Skip):
        get_kind("assign_installer").execute(run)


def test_end_to_end_through_a_worker_partner_then_sees_the_opportunity(client, make, workers):
    """Opening the substate in the UI runs assign_installer in a real worker; the installer's users see
    the opportunity from then on, another installer's users still get 404."""
    chosen, other = make.company("installer"), make.company("installer")
    make.rule(companies=[chosen])
    flow = make.flow((2,))
    s1, _s2 = flow.substates
    add_action(s1, "on_open", "assign_installer")
    opp = make.opportunity(flow, name="Impianto Rossi")
    partner, stranger = make.user("partner", company=chosen), make.user("partner", company=other)
    client.login(partner)
    assert client.get(f"/opportunities/{opp.id}").status_code == 404
    client.post("/logout")
    workers.start(1)
    client.login(make.user("manager"))
    assert client.htmx("POST", f"/opportunities/{opp.id}/substates/{s1.id}/open").status_code == 200
    wait_for(lambda: [r.status for r in runs()] == ["succeeded"], message="assign run succeeded")
    assert fresh(Opportunity, opp.id).installer_id == chosen.id
    client.post("/logout")
    client.login(partner)
    page = client.get(f"/opportunities/{opp.id}")
    assert page.status_code == 200 and "Impianto Rossi" in page.get_data(as_text=True)
    assert "Accept" in page.get_data(as_text=True)
    client.post("/logout")
    client.login(stranger)
    assert client.get(f"/opportunities/{opp.id}").status_code == 404


def test_no_match_through_a_worker_fails_with_the_reason(make, workers):
    flow = make.flow((1,))
    (sub,) = flow.substates
    add_action(sub, "on_open", "assign_commercial")
    opp = make.opportunity(flow)
    workers.start(1)
    open_substate(opp, sub.id, None)
    db.session.commit()
    (run,) = wait_for(lambda: [r for r in runs() if r.is_final], message="run final")
    assert run.status == "failed" and "commercial companies" in run.error and run.attempts == 1


def test_concurrent_workers_keep_round_robin_even(make, workers):
    """Two workers assigning at once from one criterion: each choice sees the ones before it."""
    a, b = make.company("installer"), make.company("installer")
    make.rule(companies=[a, b])
    flow = make.flow((1,))
    (sub,) = flow.substates
    add_action(sub, "on_open", "assign_installer")
    opps = [make.opportunity(flow) for _ in range(12)]
    workers.start(2)
    for opp in opps:
        open_substate(opp, sub.id, None)
    db.session.commit()
    wait_for(lambda: len([r for r in runs() if r.is_final]) == 12, timeout=30, message="twelve runs done")
    assert [r.status for r in runs()] == ["succeeded"] * 12
    counts = dict(db.session.execute(select(Assignment.company_id, func.count())
                                     .group_by(Assignment.company_id)).all())
    assert counts == {a.id: 6, b.id: 6}
