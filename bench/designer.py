"""Server time of the flow designer page and of a substate's actions panel, for a type of 10 states × 10
substates × 10 actions each (issue 3, point 9; target: panel p95 ≤ 50 ms).

    .venv/bin/python bench/designer.py [--database-url URL] [--runs 200]

Each request goes through the whole Flask stack in process (routing, login, queries, Jinja), logged in as
a sales manager; the panel is asked for as htmx does (the fragment). Prints p50/p95 per page and ends with
one JSON line: {"designer_page_p95_ms": …, "panel_p95_ms": …, …}.
"""

import argparse
import json
import random
import time
import uuid

from support import database_url, percentile, redis_url

STATES, SUBSTATES, ACTIONS = 10, 10, 10
PASSWORD = "bench-password-1"


def build(db) -> tuple[int, list[int]]:
    """The 10×10×10 type, with every kind of action configured, and what they refer to."""
    from models import (
        Action,
        ActivityType,
        AssignmentRule,
        AssignmentRuleCompany,
        Channel,
        EmailTemplate,
        ExportTemplate,
        ExternalSourceAction,
        OpportunityType,
        PartnerCompany,
        ReportTemplate,
        SmtpCredential,
        State,
        Substate,
        User,
    )

    manager = User(email="bench@example.com", name="Bench Manager", role="manager")
    manager.set_password(PASSWORD)
    company = PartnerCompany(name="Bench installer", kind="installer")
    channels = [Channel(name=f"Channel {i}") for i in range(4)]
    refs = [EmailTemplate(name="Reminder", subjects={}, bodies={}),
            SmtpCredential(name="Mail", host="127.0.0.1", port=25, from_address="noreply@example.com"),
            ReportTemplate(label="Offer"), ExportTemplate(name="Export"),
            ExternalSourceAction(name="Signed", source_name="esign"), ActivityType(name="Call", name_i18n={})]
    db.session.add_all([manager, company, *channels, *refs])
    db.session.flush()
    db.session.add(AssignmentRule(partner_kind="installer", companies=[AssignmentRuleCompany(company_id=company.id)]))
    email, smtp, report, export, external, activity = (r.id for r in refs)
    opp_type = OpportunityType(name="Bench flow", name_i18n={"it": "Flusso", "es": "Flujo"})
    for s in range(STATES):
        state = State(name=f"State {s}", name_i18n={}, position=s)
        for p in range(SUBSTATES):
            state.substates.append(Substate(name=f"Substate {s}.{p}", name_i18n={"it": f"Sottostato {s}.{p}"},
                                            position=p))
        opp_type.states.append(state)
    db.session.add(opp_type)
    db.session.flush()
    subs = opp_type.substates
    rng = random.Random(3)
    mail = {"email_template_id": email, "smtp_credential_id": smtp, "recipient": "client"}
    configs = [
        ("assign_installer", {"reassign": False}),
        ("open_substate", None), ("close_substate", None),
        ("send_email", {**mail, "extra_user_ids": [manager.id]}),
        ("generate_report", {**mail, "report_template_id": report}),
        ("create_activity", {"activity_type_id": activity, "description": "Call {{ client.name }}"}),
        ("esignature", {"report_template_id": report, "recipient": "client", "external_action_id": external}),
        ("export", {"export_template_id": export, "smtp_credential_id": smtp, "recipient": "owner",
                    "email_template_id": None, "extra_address": None}),
    ]
    groups = ["on_open"] * 3 + ["on_close"] * 3 + ["scheduled"] * 4
    for sub in subs:
        positions = {"on_open": 0, "on_close": 0, "scheduled": 0}
        for i in range(ACTIONS):
            kind, config = configs[(sub.id + i) % len(configs)]
            config = config or {"substate_id": rng.choice(subs).id}
            group = groups[i]
            action = Action(substate=sub, group=group, kind=kind, config=config, position=positions[group],
                            delay_amount=4 if group == "scheduled" else None,
                            delay_unit="days" if group == "scheduled" else None)
            if i % 3 == 0:
                action.channels = channels[:2]
            positions[group] += 1
            db.session.add(action)
    db.session.commit()
    return opp_type.id, [s.id for s in subs]


def _private_schema(url: str):
    """On PostgreSQL, a schema of the bench's own (dropped at the end), so no one else's tables are touched."""
    if not url.startswith("postgresql"):
        return url, lambda: None
    from sqlalchemy import create_engine, text

    schema = f"oppflow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", drop


def timed(client, url: str, runs: int, headers=None, urls=None) -> list[float]:
    """Milliseconds per request, after a few warm-up requests."""
    for _ in range(5):
        assert client.get(url, headers=headers).status_code == 200
    times = []
    for i in range(runs):
        target = urls[i % len(urls)] if urls else url
        start = time.perf_counter()
        response = client.get(target, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    redis, redis_proc = redis_url()
    url, drop_schema = _private_schema(database_url(args.database_url))
    try:
        from app import create_app
        from extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis,
                          "SECRET_KEY": uuid.uuid4().hex, "RATELIMIT_KEY_PREFIX": f"bench-{uuid.uuid4().hex}",
                          "WTF_CSRF_ENABLED": False})
        with app.app_context():
            db.create_all()
            type_id, sub_ids = build(db)
            client = app.test_client()
            response = client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
            assert response.status_code == 302, response.status_code
            page = timed(client, f"/settings/types/{type_id}", args.runs)
            panel_urls = [f"/settings/types/{type_id}/substates/{sid}" for sid in sub_ids]
            panel = timed(client, panel_urls[0], args.runs, headers={"HX-Request": "true"}, urls=panel_urls)
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_schema()
        if redis_proc:
            redis_proc.terminate()
    figures = {}
    for name, values in (("designer_page", page), ("panel", panel)):
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"{name:14s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({len(values)} requests, "
              f"{STATES}×{SUBSTATES}×{ACTIONS})")
        figures[f"{name}_p50_ms"], figures[f"{name}_p95_ms"] = round(p50, 1), round(p95, 1)
    print(json.dumps({"designer_page_p95_ms": figures["designer_page_p95_ms"], "panel_p95_ms": figures["panel_p95_ms"],
                      "designer_page_p50_ms": figures["designer_page_p50_ms"], "panel_p50_ms": figures["panel_p50_ms"],
                      "runs": args.runs, "shape": [STATES, SUBSTATES, ACTIONS]}))


if __name__ == "__main__":
    main()
