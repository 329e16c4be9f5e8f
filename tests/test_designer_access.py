"""D9 on every designer endpoint: managers change flows, other internal users read them, partner users get
404 and anonymous visitors the login page; every POST needs the CSRF token."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Action, FlowChange, OpportunityType, State, Substate, Trigger

READ = "read"  # any internal user
MODIFY = "modify"  # "Opportunity states → Modify opportunity states"

# (endpoint, method, kind of access, url builder over the fixture's ids)
ENDPOINTS = [
    ("designer.index", "GET", READ, lambda f: "/settings/types/"),
    ("designer.create_type", "POST", MODIFY, lambda f: "/settings/types/"),
    ("designer.type_page", "GET", READ, lambda f: f"/settings/types/{f['type']}"),
    ("designer.type_settings", "GET", READ, lambda f: f"/settings/types/{f['type']}/settings"),
    ("designer.save_type_settings", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/settings"),
    ("designer.archive_type", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/archive"),
    ("designer.delete_type", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/delete"),
    ("designer.order", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/order"),
    ("designer.flow_map", "GET", READ, lambda f: f"/settings/types/{f['type']}/map"),
    ("designer.new_state", "GET", MODIFY, lambda f: f"/settings/types/{f['type']}/states/new"),
    ("designer.create_state", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/states/new"),
    ("designer.state_panel", "GET", READ, lambda f: f"/settings/types/{f['type']}/states/{f['state']}"),
    ("designer.save_state", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/states/{f['state']}"),
    ("designer.archive_state", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/states/{f['state']}/archive"),
    ("designer.delete_state", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/states/{f['state']}/delete"),
    ("designer.move_state", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/states/{f['state']}/move"),
    ("designer.new_substate", "GET", MODIFY,
     lambda f: f"/settings/types/{f['type']}/states/{f['state']}/substates/new"),
    ("designer.create_substate", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/states/{f['state']}/substates/new"),
    ("designer.substate_panel", "GET", READ, lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}"),
    ("designer.save_substate", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}"),
    ("designer.archive_substate", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/archive"),
    ("designer.delete_substate", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/delete"),
    ("designer.move_substate", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/move"),
    ("designer.new_action", "GET", MODIFY, lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/actions/new"),
    ("designer.create_action", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/actions/new"),
    ("designer.kind_fields", "GET", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/actions/kind-fields?kind=send_email"),
    ("designer.order_actions", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/actions/on_open/order"),
    ("designer.edit_action", "GET", MODIFY, lambda f: f"/settings/types/{f['type']}/actions/{f['action']}/edit"),
    ("designer.save_action", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/actions/{f['action']}/edit"),
    ("designer.toggle_action", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/actions/{f['action']}/toggle"),
    ("designer.delete_action", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/actions/{f['action']}/delete"),
    ("designer.duplicate_action", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/actions/{f['action']}/duplicate"),
    ("designer.copy_action_form", "GET", MODIFY, lambda f: f"/settings/types/{f['type']}/actions/{f['action']}/copy"),
    ("designer.copy_action", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/actions/{f['action']}/copy"),
    ("designer.new_trigger", "GET", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/triggers/new"),
    ("designer.create_trigger", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/triggers/new"),
    ("designer.trigger_fields", "GET", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/triggers/type-fields?kind=task_status"),
    ("designer.edit_trigger", "GET", MODIFY, lambda f: f"/settings/types/{f['type']}/triggers/{f['trigger']}/edit"),
    ("designer.save_trigger", "POST", MODIFY, lambda f: f"/settings/types/{f['type']}/triggers/{f['trigger']}/edit"),
    ("designer.toggle_trigger", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/triggers/{f['trigger']}/toggle"),
    ("designer.delete_trigger", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/triggers/{f['trigger']}/delete"),
    ("designer.add_required_field", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/required-fields"),
    ("designer.remove_required_field", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/required-fields/remove"),
    ("designer.set_requires_note", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/requires-note"),
    # A dry run changes nothing: any internal user who reads the flow may run one (D11).
    ("designer.dry_run_substate", "POST", READ, lambda f: f"/settings/types/{f['type']}/substates/{f['sub']}/dry-run"),
    ("designer.changes", "GET", READ, lambda f: f"/settings/types/{f['type']}/changes"),
    ("designer.restore_change", "POST", MODIFY,
     lambda f: f"/settings/types/{f['type']}/changes/{f['change']}/restore"),
    ("designer.export_type", "GET", READ, lambda f: f"/settings/types/{f['type']}/export.json"),
    ("designer.import_page", "GET", MODIFY, lambda f: "/settings/types/import"),
    ("designer.import_flow", "POST", MODIFY, lambda f: "/settings/types/import"),
]
IDS = [f"{e}-{m}" for e, m, _a, _u in ENDPOINTS]


@pytest.fixture
def flow(make):
    t = make.flow((2, 1))
    sub = t.substates[0]
    action = make.action(sub, "open_substate", "on_open", {"substate_id": t.substates[1].id})
    trigger = Trigger(substate_id=sub.id, kind="task_status", name="Task completed", config={"status": "completed"})
    db.session.add(trigger)
    db.session.commit()
    change = db.session.scalar(select(FlowChange.id).where(FlowChange.entity == "action",
                                                           FlowChange.entity_id == action.id))
    return {"type": t.id, "state": t.states[0].id, "sub": sub.id, "action": action.id, "trigger": trigger.id,
            "change": change}


def counts() -> tuple:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (OpportunityType, State, Substate,
                                                                                   Action, Trigger))


def snapshot() -> list:
    db.session.expire_all()
    return [(s.id, s.name, s.position, s.state_id, s.archived) for s in db.session.execute(select(Substate)).scalars()]


def test_the_matrix_covers_every_designer_endpoint(app):
    routed = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("designer.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == {(e, m) for e, m, _a, _u in ENDPOINTS}


def _answers(client, flow, endpoints, expected, htmx: bool = True, **kwargs) -> list:
    """The endpoints that did not answer `expected(access)` or changed the flow, as (endpoint, method, status,
    changed); all on one flow and app: a change is named where it happened."""
    wrong = []
    for endpoint, method, access, url in endpoints:
        before = counts(), snapshot()
        response = (client.htmx(method, url(flow), **kwargs) if htmx
                    else client.open(url(flow), method=method, **kwargs))
        changed = (counts(), snapshot()) != before
        if response.status_code != expected(access) or changed:
            wrong.append((endpoint, method, response.status_code, changed))
    return wrong


def test_partner_users_get_404_everywhere(client, make, flow):
    client.login(make.partner())
    assert _answers(client, flow, ENDPOINTS, lambda access: 404) == []
    assert _answers(client, flow, ENDPOINTS, lambda access: 404, htmx=False) == []


def test_internal_users_without_the_permission_read_but_never_change(client, make, flow):
    client.login(make.user("agent"))
    assert _answers(client, flow, ENDPOINTS, lambda access: 200 if access == READ else 403) == []


def test_anonymous_visitors_are_sent_to_login(client, flow):
    wrong = []
    for endpoint, method, _access, url in ENDPOINTS:
        response = client.open(url(flow), method=method)
        if not (response.status_code == 302 and "/login" in response.location):
            wrong.append((endpoint, method, response.status_code))
    assert wrong == []


@pytest.mark.parametrize("endpoint, method, access, url", ENDPOINTS, ids=IDS)
def test_managers_are_served_without_errors(client, make, flow, endpoint, method, access, url):
    client.login(make.user("manager"))
    response = client.htmx(method, url(flow))
    assert response.status_code in (200, 204, 409, 422), response.get_data(as_text=True)[:300]


def test_a_granted_permission_is_enough(client, make, flow):
    from models import UserPermission

    agent = make.user("agent")
    agent.granted.append(UserPermission(name="opportunity_states.modify"))
    db.session.commit()
    client.login(agent)
    response = client.htmx("POST", f"/settings/types/{flow['type']}/substates/{flow['sub']}/move", data={"delta": "1"})
    assert response.status_code == 200


def test_every_post_needs_the_csrf_token(client, make, flow):
    client.login(make.user("manager"))
    posts = [e for e in ENDPOINTS if e[1] == "POST"]
    assert _answers(client, flow, posts, lambda access: 400, csrf=False) == []


@pytest.mark.parametrize("url", [
    "/settings/types/{other}/substates/{sub}",
    "/settings/types/{other}/states/{state}",
    "/settings/types/{other}/actions/{action}/edit",
    "/settings/types/{other}/triggers/{trigger}/edit",
    "/settings/types/999999",
])
def test_ids_from_another_type_are_404(client, make, flow, url):
    client.login(make.user("manager"))
    other = make.flow((1,)).id
    assert client.get(url.format(other=other, **flow)).status_code == 404
