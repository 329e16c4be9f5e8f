"""Operations figures (issue 14), one small function each; main() merges them into the one JSON line.

- simulate_p95_ms (D11): the dry run of opening a substate with chains (services.dry_run.simulate, the real
  engine in a rolled-back transaction) on a flow of 10 states × 10 substates × 10 actions. The first
  substate's opening chains through CHAIN substates (each opens the next); each of them has 10 actions:
  open the next substate, send an email to the client (rendered in the client's language), assign an
  installer (the first one), add history entries, one left out by its channel, two scheduled after working
  hours and one on close. p95 over --repeat dry runs after one warm-up; the worse of SQLite and PostgreSQL
  when --pg (default TEST_DATABASE_URL) is given.

- bulk_retry_10k_s (E10): queuing the retry of 10,000 failed runs, as bench/bulk_retry.py measures it.

    .venv/bin/python bench/operations.py [--repeat 30] [--chain 3] [--runs 10000] [--pg postgresql://…]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from support import percentile, worse_of_backends

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STATES, SUBSTATES, ACTIONS = 10, 10, 10


def _seed_flow(chain: int):
    """The 10 × 10 × 10 flow, its records and one opportunity; returns (type, first substate, user, opp)."""
    from extensions import db
    from models import (
        Action,
        AssignmentRule,
        AssignmentRuleCompany,
        Channel,
        Customer,
        EmailTemplate,
        Opportunity,
        OpportunityType,
        PartnerCompany,
        SmtpCredential,
        State,
        Substate,
        User,
    )

    db.create_all()
    user = User(email="manager@bench", name="Bench Manager", role="manager", language="it")
    user.set_password("bench password 1")
    web, shop = Channel(name="Web"), Channel(name="Shop")
    company = PartnerCompany(name="Solare Nord", kind="installer", email="info@solare.example", language="en")
    tmpl = EmailTemplate(name="Reminder", subjects={"it": "Promemoria: {{ opportunity.name }}",
                                                    "en": "Reminder: {{ opportunity.name }}"},
                         bodies={"it": "<p>Gentile {{ recipient.name }}, {{ opportunity.name }}.</p>",
                                 "en": "<p>Dear {{ recipient.name }}, {{ opportunity.name }}.</p>"})
    cred = SmtpCredential(name="Mail", host="127.0.0.1", port=1, security="none", from_address="noreply@bench")
    opp_type = OpportunityType(name="Solar", name_i18n={})
    db.session.add_all([user, web, shop, company, tmpl, cred, opp_type])
    for s in range(STATES):
        state = State(name=f"State {s}", name_i18n={}, position=s)
        state.substates = [Substate(name=f"Step {s}.{i}", name_i18n={}, position=i) for i in range(SUBSTATES)]
        opp_type.states.append(state)
    db.session.flush()
    db.session.add(AssignmentRule(partner_kind="installer", strategy="round_robin", active=True,
                                  companies=[AssignmentRuleCompany(company_id=company.id, weight=1)]))
    subs = opp_type.substates
    for n, sub in enumerate(subs):
        nxt = subs[(n + 1) % len(subs)]
        chained = n < chain
        plan = [("on_open", "open_substate" if chained else "add_history_entry",
                 {"substate_id": nxt.id} if chained else {"text": "no chain", "author_id": user.id}),
                ("on_open", "send_email", {"email_template_id": tmpl.id, "smtp_credential_id": cred.id,
                                           "recipient": "client", "extra_user_ids": []}),
                ("on_open", "assign_installer", {"reassign": False})]
        plan += [("on_open", "add_history_entry", {"text": f"Entry {i} for {{{{ opportunity.name }}}}",
                                                   "author_id": user.id}) for i in range(3)]
        plan += [("on_open", "add_history_entry", {"text": "other channel", "author_id": user.id})]
        plan += [("scheduled", "add_history_entry", {"text": "later", "author_id": user.id})] * 2
        plan += [("on_close", "add_history_entry", {"text": "closed", "author_id": user.id})]
        assert len(plan) == ACTIONS
        for position, (group, kind, config) in enumerate(plan):
            action = Action(substate=sub, group=group, kind=kind, config=config, position=position, enabled=True)
            if config.get("text") == "other channel":
                action.channels = [shop]
            if group == "scheduled":
                action.delay_amount, action.delay_unit, action.respect_working_hours = 2, "hours", True
            db.session.add(action)
    customer = Customer(name="Mario Rossi", email="mario@example.it", language="it")
    opp = Opportunity(name="Impianto Rossi", type=opp_type, channel=web, customer=customer, owner=user)
    db.session.add(opp)
    db.session.commit()
    return opp_type.id, subs[0].id, user.id, opp.id


def measure_simulate(url: str, repeat: int, chain: int) -> dict:
    """Seed, then time `repeat` dry runs (after one warm-up); returns the figures on this backend."""
    from app import create_app
    from extensions import db
    from models import ActionRun, OpportunityType, Substate, User
    from services import dry_run

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        type_id, sub_id, user_id, opp_id = _seed_flow(chain)
        times, runs = [], 0
        for i in range(repeat + 1):
            opp_type, sub = db.session.get(OpportunityType, type_id), db.session.get(Substate, sub_id)
            user, opp = db.session.get(User, user_id), db.session.get(dry_run.Opportunity, opp_id)
            started = time.perf_counter()
            result = dry_run.simulate(opp_type, sub, "open", user, opp)
            if i:
                times.append((time.perf_counter() - started) * 1000)
            runs = sum(result.counts.values())
        assert db.session.execute(db.select(db.func.count(ActionRun.id))).scalar() == 0  # nothing kept
        db.session.remove()
        db.engine.dispose()
    return {"simulate_p50_ms": round(percentile(times, 50), 1), "simulate_p95_ms": round(percentile(times, 95), 1),
            "runs_per_dry_run": runs}


def simulate_figure(args) -> dict:
    """simulate_p95_ms: the worse backend's p95 of a dry run with chains."""
    return {"simulate_p95_ms": worse_of_backends(measure_simulate, "simulate_p95_ms", args.pg, args.repeat,
                                                 args.chain)}


def bulk_retry_figure(args) -> dict:
    """bulk_retry_10k_s: queuing the retry of 10,000 failed runs (bench/bulk_retry.py), the worse backend."""
    import bulk_retry

    return {"bulk_retry_10k_s": worse_of_backends(bulk_retry.measure_on, "bulk_retry_10k_s", args.pg, args.runs)}


# Each figure is one function of the parsed arguments returning {name: value}; main() merges them.
FIGURES = [simulate_figure, bulk_retry_figure]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--chain", type=int, default=3, help="substates the first opening chains through")
    parser.add_argument("--runs", type=int, default=10_000, help="failed runs the bulk retry retries")
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    figures: dict = {}
    for figure in FIGURES:
        figures.update(figure(args))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
