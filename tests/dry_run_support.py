"""A flow for dry-run tests: a substate whose actions assign, email, open another substate (whose own
actions chain back), skip by channel, wait as a scheduled action, and one disabled action."""

from pathlib import Path

from sqlalchemy import select

from engine import dispatch
from extensions import db
from models import Action
from tests.engine_support import add_action


def world(make, cred, tmpl):
    """{"flow", "opp", "a", "b", "c", "owner", "installer", "other_channel"}: opening `a` sets everything off."""
    flow = make.flow((2, 1))
    a, b = flow.states[0].substates
    (c,) = flow.states[1].substates
    owner = make.user("manager", name="Lucía Gómez", email="lucia@oppflow.example", language="es")
    installer = make.company("installer", name="Solare Nord", email="info@solarenord.example", language="en")
    make.rule("installer", companies=[installer])
    customer = make.customer(name="Mario Rossi", email="mario.rossi@example.it", language="it")
    opp = make.opportunity(flow, name="Impianto Rossi", customer=customer, owner=owner)
    other_channel = make.channel("Other channel")
    add_action(a, "on_open", "assign_installer", reassign=False)
    add_action(a, "on_open", "send_email", email_template_id=tmpl.id, smtp_credential_id=cred.id,
               recipient="client", extra_user_ids=[owner.id])
    add_action(a, "on_open", "open_substate", substate_id=b.id)
    add_action(a, "on_open", "add_history_entry", channels=[other_channel], text="Not for this channel",
               author_id=owner.id)
    disabled = add_action(a, "on_open", "add_history_entry", text="Disabled", author_id=owner.id)
    disabled.enabled = False
    add_action(a, "scheduled", "add_history_entry", delay=(2, "days"), text="Two days later", author_id=owner.id)
    add_action(b, "on_open", "send_email", email_template_id=tmpl.id, smtp_credential_id=cred.id, recipient="installer")
    add_action(b, "on_open", "export", export_template_id=make.export_template("Rossi data").id,
               smtp_credential_id=cred.id, recipient="owner", email_template_id=None, extra_address=None)
    add_action(b, "on_open", "open_substate", substate_id=c.id)
    add_action(c, "on_open", "close_substate", substate_id=b.id)
    add_action(b, "on_close", "add_history_entry", text="B closed", author_id=owner.id)
    db.session.commit()
    assert db.session.execute(select(Action).where(Action.enabled.is_(False))).scalars().all() == [disabled]
    return {"flow": flow, "opp": opp, "a": a, "b": b, "c": c, "owner": owner, "installer": installer}


def snapshot(app) -> dict:
    """Every table's rows (sorted), this app's Redis keys, and the files under FILES_DIR."""
    db.session.expire_all()
    tables = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        tables[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    db.session.rollback()
    return {"tables": tables, "redis": redis_keys(app), "files": _files(app)}


def redis_keys(app) -> dict:
    """This app's Redis keys (its queue's, its jobs', its sweeper's) with their contents: the Redis database
    is shared with other test processes, whose keys come and go meanwhile."""
    redis = dispatch.redis_conn(app)
    queue = app.config["RQ_QUEUE"]
    mine = {}
    for key in redis.keys("*"):
        name = key.decode()
        if queue in name:
            mine[name] = redis.lrange(key, 0, -1) if redis.type(key) == b"list" else redis.type(key)
        elif name.startswith("rq:job:") and redis.type(key) == b"hash" and redis.hget(key, "origin") == queue.encode():
            mine[name] = redis.hget(key, "status")
    return mine


def _files(app) -> list[str]:
    root = Path(app.config["FILES_DIR"])
    return sorted(str(p) for p in root.rglob("*")) if root.exists() else []


def flatten(steps, depth=0) -> list[tuple]:
    """The tree as (depth, kind, substate, status, reason) lines, in order."""
    out = []
    for step in steps:
        out.append((depth, step.kind, step.substate, step.status, step.reason))
        out += flatten(step.children, depth + 1)
    return out


