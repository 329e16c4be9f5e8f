"""Demo data for seed 003: custom fields in three languages with values on every opportunity, a process
automation whose field ticks "Convalida documentazione" (the replay fills the field instead of closing the
substate by hand), a second one waiting to be activated, a required field and a note, and linked tasks."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import select

from extensions import db
from models import CustomField, Opportunity, OpportunityType, ProcessAutomation, SubstateRequirement, User
from models.base import utcnow
from services import field_values as fv

# key, type, (it, es, en) name, options [(key, (it, es, en))], the types it applies to ("pv", "storage", both)
FIELDS = [
    ("pod_code", "text", ("Codice POD", "Código POD", "POD code"), [], ("pv",)),
    ("power_kwp", "number", ("Potenza impianto (kWp)", "Potencia de la instalación (kWp)", "System power (kWp)"),
     [], ("pv",)),
    ("roof", "choice", ("Tipo di tetto", "Tipo de tejado", "Roof type"), [
        ("pitched", ("A falda", "Inclinado", "Pitched")), ("flat", ("Piano", "Plano", "Flat")),
        ("ground", ("A terra", "En suelo", "Ground-mounted"))], ("pv",)),
    ("incentive", "yes_no", ("Incentivo richiesto", "Incentivo solicitado", "Incentive requested"), [],
     ("pv", "storage")),
    ("survey_date", "date", ("Data sopralluogo", "Fecha de la visita", "Survey date"), [], ("storage",)),
    ("tech_notes", "long_text", ("Note tecniche", "Notas técnicas", "Technical notes"), [], ("pv", "storage")),
]
# The substate the walk ticks by filling a field (the process automation), instead of closing it by hand.
FILLED_BY_FIELD = {"Documentation validation": "pod_code"}
SOURCES = ["Sito web", "Passaparola", "Fiera Milano", "Campagna Facebook", "Rivenditore"]
LINKED_TASKS = ["Richiedi il documento d'identità", "Richiedi l'ultima bolletta elettrica"]


def _names(names: tuple[str, str, str]) -> dict:
    return {"it": names[0], "es": names[1], "en": names[2]}


def define(pv: OpportunityType, storage: OpportunityType, admin: User) -> dict[str, CustomField]:
    """The custom fields, the process automations and the required field and note."""
    types = {"pv": pv, "storage": storage}
    fields = {}
    for position, (key, kind, names, options, applies) in enumerate(FIELDS):
        fields[key] = CustomField(
            key=key, field_type=kind, name=names[2], name_i18n=_names(names), position=position,
            options=[{"key": k, "name": n[2], "name_i18n": _names(n)} for k, n in options],
            types=[types[t] for t in applies])
    db.session.add_all(fields.values())
    db.session.flush()
    sub = {s.name: s for s in pv.substates + storage.substates}
    db.session.add_all([
        ProcessAutomation(name="Codice POD → Convalida documentazione", custom_field_id=fields["pod_code"].id,
                          type_id=pv.id, substate_id=sub["Documentation validation"].id, active=True,
                          field_name="POD code", substate_name="Documentation validation", created_by_id=admin.id),
        # Made but not switched on: the panel shows "1 of 10 active".
        ProcessAutomation(name="Data sopralluogo → Sopralluogo eseguito", custom_field_id=fields["survey_date"].id,
                          type_id=storage.id, substate_id=sub["Survey done"].id, active=False,
                          field_name="Survey date", substate_name="Survey done", created_by_id=admin.id),
        SubstateRequirement(substate_id=sub["Contract signed"].id, custom_field_id=fields["power_kwp"].id),
    ])
    sub["Case closed"].requires_note = True
    return fields


def fill(opps: list[Opportunity], fields: dict[str, CustomField], rng: random.Random) -> None:
    """Values as the owners typed them when they created the opportunities (no automation listens yet)."""
    for opp in opps:
        opp.contact_person = opp.customer.name
        opp.acquisition_source = rng.choice(SOURCES)
        values = {"incentive": rng.random() < 0.6}
        if opp.type.name == "Photovoltaic installation":
            values["power_kwp"] = Decimal(opp.name.rsplit("–", 1)[-1].split()[0].replace(",", "."))
            values["roof"] = rng.choice(["pitched", "pitched", "flat", "ground"])
        for key, value in values.items():
            row = fv.FieldValue(opportunity_id=opp.id, field_id=fields[key].id)
            fv._fill_row(row, fv.custom_ref(fields[key]), value)
            db.session.add(row)


def pod_code(opp_id: int) -> str:
    """A plausible Italian POD (point of delivery) code, the same for the same opportunity."""
    return f"IT001E{opp_id * 7919 % 100000000:08d}"


def link_tasks(rng: random.Random) -> None:
    """Linked tasks under "Documentazione in sospeso" where it is still open: the owner's checklist."""
    from models import OpportunitySubstate, Substate
    from services.linked_tasks import add_linked_task
    from services.tasks import change_status

    rows = db.session.execute(
        select(OpportunitySubstate).join(Substate).where(Substate.name == "Pending documentation",
                                                         OpportunitySubstate.status == "open")).scalars().all()
    for record in rows:
        opp = record.opportunity
        owner = opp.owner
        tasks = [add_linked_task(opp, record.substate_id, owner, title, responsible_id=owner.id,
                                 deadline=utcnow().replace(microsecond=0))
                 for title in LINKED_TASKS]
        if rng.random() < 0.5:
            change_status(tasks[0], "completed", owner)
    db.session.commit()
