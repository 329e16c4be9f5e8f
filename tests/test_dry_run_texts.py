"""D11 Dry run: the tree shows what each action would write with its placeholders filled for the chosen
opportunity (the designer's summary shows the configured text, placeholders and all)."""

from decimal import Decimal

from services import dry_run
from tests.engine_support import add_action


def _details(result) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    stack = list(result.steps)
    while stack:
        step = stack.pop()
        out.setdefault(step.kind, []).extend(step.details)
        stack.extend(step.children)
    return out


def test_each_written_text_is_shown_filled(app, make):
    flow = make.flow((1, 1))
    sub = flow.substates[0]
    supervisor = make.user("manager", name="Sergio Supervisore", language="it")
    owner = make.user("agent", name="Lucia Bianchi", language="it", supervisor_id=supervisor.id)
    customer = make.customer(name="Mario Rossi", email="mario@example.it", language="it")
    opp = make.opportunity(flow, name="Impianto Rossi", amount=Decimal("12345.5"), owner=owner, customer=customer)
    add_action(sub, "on_open", "create_activity", activity_type_id=make.activity_type("Call").id,
               description="Sollecita la firma di {{ client.name }}")
    add_action(sub, "on_open", "add_history_entry", text="Aperta per {{ opportunity.name }}", author_id=owner.id)
    add_action(sub, "on_open", "create_task", title="Prepara {{ opportunity.name }}", description="",
               responsible="owner")
    add_action(sub, "on_open", "notify_supervisor", message="{{ opportunity.name }} di {{ owner.name }}",
               include_supervisor=True, user_ids=[])

    result = dry_run.simulate(flow, sub, "open", owner, opp)

    details = _details(result)
    assert "Activity: “Sollecita la firma di Mario Rossi”" in details["Create activity"]
    assert "History entry: “Aperta per Impianto Rossi”" in details["Add history entry"]
    assert "Task for Lucia Bianchi: “Prepara Impianto Rossi”" in details["Create task"]
    assert "Notification to Sergio Supervisore: “Impianto Rossi di Lucia Bianchi”" in details["Notify supervisor"]
    assert not any("{{" in line for lines in details.values() for line in lines)
    assert all("{{" not in step.summary for step in result.steps)  # the summaries speak of this opportunity


def test_a_waiting_actions_text_reads_as_it_would_now(app, make):
    flow = make.flow((1, 1))
    sub = flow.substates[0]
    owner = make.user("agent", name="Lucia Bianchi", language="it")
    customer = make.customer(name="Sara Esposito", email="sara@example.it", language="it")
    opp = make.opportunity(flow, name="Impianto Esposito", owner=owner, customer=customer)
    add_action(sub, "scheduled", "create_activity", delay=(2, "days"), activity_type_id=make.activity_type("Call").id,
               description="Sollecita la firma di {{ client.name }}")
    # Longer than a summary shows (60 characters), a placeholder past the cut: filled before it is cut.
    add_action(sub, "scheduled", "add_history_entry", delay=(3, "days"), author_id=owner.id,
               text="Documentazione non ricevuta entro due giorni ({{ owner.name }})")

    result = dry_run.simulate(flow, sub, "open", owner, opp)

    activity, entry = [s for s in result.steps if s.status == "scheduled"]
    assert activity.summary.endswith("Sollecita la firma di Sara Esposito") and "{{" not in activity.summary
    assert "Documentazione non ricevuta entro due giorni (Lucia Bianc" in entry.summary and "{{" not in entry.summary
