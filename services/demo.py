"""Demo data that shows the product: a photovoltaic flow from the seeds, partners, users, ~50 opportunities,
and automatic actions whose history comes from replaying the opportunities' past through the engine."""

import random
import unicodedata
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select

from extensions import db
from models import (
    Action,
    ActivityType,
    AppSetting,
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
    Trigger,
    User,
)
from models.base import utcnow
from services import app_settings, auto_pause, demo_process, demo_replay

DEMO_PASSWORD = "demo1234"
# Every demo user: `load` creates exactly these and `make run` prints exactly these, so the two cannot drift
# (tests/test_demo_promises.py checks README's "Demo logins" table against them).
# (email, name, role, language, company key or supervisor's email, what `make run` says about them)
DEMO_LOGINS = [
    ("admin@example.com", "Anna Amministratrice", "admin", "en", None, "Administrator"),
    ("manager@example.com", "Marco Manager", "manager", "it", "admin@example.com", "Sales manager"),
    ("agent@example.com", "Alicia Agente", "agent", "es", "manager@example.com", "Agent"),
    ("installer@example.com", "Ivo Installatore", "partner", "it", "installer", "Installer company user (IT)"),
    ("instalador@example.com", "Iker Instalador", "partner", "es", "installer2", "Installer company user (ES)"),
    ("commercial@example.com", "Carla Commerciale", "partner", "es", "commercial",
     "Commercial company user (IT)"),
    ("comercial@example.com", "Carlos Comercial", "partner", "es", "commercial2", "Commercial company user (ES)"),
]

# (it, es, en) names; the Italian and Spanish ones are the seeds' words.
PV_FLOW = [
    (("Documentazione", "Documentación", "Documentation"), [
        ("Documentazione in sospeso", "Pendiente de documentación", "Pending documentation"),
        ("Convalida documentazione", "Validación de documentación", "Documentation validation"),
    ]),
    (("Contratto", "Contrato", "Contract"), [
        ("Contratto inviato", "Contrato enviado", "Contract sent"),
        ("Contratto firmato", "Contrato firmado", "Contract signed"),
    ]),
    (("Installazione", "Instalación", "Installation"), [
        ("Assegnazione installatore", "Asignación de instalador", "Installer assignment"),
        ("Installazione programmata", "Instalación programada", "Installation scheduled"),
        ("Installazione completata", "Instalación completada", "Installation completed"),
    ]),
    (("Chiusura", "Cierre", "Closing"), [
        ("Collaudo e allacciamento", "Puesta en marcha y conexión", "Commissioning and grid connection"),
        ("Pratica chiusa", "Expediente cerrado", "Case closed"),
    ]),
]
STORAGE_FLOW = [
    (("Sopralluogo", "Visita técnica", "Site survey"), [
        ("Sopralluogo da programmare", "Visita por programar", "Survey to schedule"),
        ("Sopralluogo eseguito", "Visita realizada", "Survey done"),
    ]),
    (("Offerta", "Oferta", "Offer"), [
        ("Offerta inviata", "Oferta enviada", "Offer sent"),
        ("Offerta accettata", "Oferta aceptada", "Offer accepted"),
    ]),
]
CUSTOMERS = [
    ("Marco Rossi", "it", "Milano", "20121", "MI"), ("Giulia Bianchi", "it", "Torino", "10121", "TO"),
    ("Luca Ferrari", "it", "Bologna", "40121", "BO"), ("Sofia Romano", "it", "Roma", "00184", "RM"),
    ("Alessandro Colombo", "it", "Bergamo", "24121", "BG"), ("Chiara Ricci", "it", "Verona", "37121", "VR"),
    ("Matteo Marino", "it", "Napoli", "80121", "NA"), ("Francesca Greco", "it", "Bari", "70121", "BA"),
    ("Lorenzo Bruno", "it", "Firenze", "50121", "FI"), ("Elena Gallo", "it", "Padova", "35121", "PD"),
    ("Javier García", "es", "Madrid", "28001", "M"), ("Lucía Martínez", "es", "Barcelona", "08001", "B"),
    ("Carlos López", "es", "Valencia", "46001", "V"), ("María Sánchez", "es", "Sevilla", "41001", "SE"),
    ("Pablo Fernández", "es", "Bilbao", "48001", "BI"), ("Ana Pérez", "es", "Zaragoza", "50001", "Z"),
    ("John Smith", "en", "Milano", "20122", "MI"), ("Emma Brown", "en", "Roma", "00185", "RM"),
    ("Paolo Conti", "it", "Brescia", "25121", "BS"), ("Sara Esposito", "it", "Genova", "16121", "GE"),
]


# (it, es, en) names of the demo's channels (Settings → Channels).
CHANNELS = [
    ("Web", "Web", "Web"),
    ("Call center", "Centro de llamadas", "Call center"),
    ("Segnalazione partner", "Recomendación de partner", "Partner referral"),
    ("Fiera", "Feria", "Trade fair"),
]
# (it, es, en) names of the demo's email templates; EMAILS holds their texts under the English name.
EMAIL_NAMES = {
    "Contract sent": ("Contratto inviato", "Contrato enviado", "Contract sent"),
    "Offer sent": ("Offerta inviata", "Oferta enviada", "Offer sent"),
}


def _names(names: tuple[str, str, str]) -> dict:
    """The {it, es, en} translations of an (it, es, en) triple."""
    return dict(zip(("it", "es", "en"), names, strict=True))


# (it, es, en) names of the demo's activity types (Settings → Activity types).
ACTIVITY_TYPES = [
    ("Chiamata in uscita", "Llamada saliente", "Outbound call"),
    ("Chiamata in entrata", "Llamada entrante", "Inbound call"),
    ("Email", "Email", "Email"),
    ("Visita", "Visita", "Visit"),
]


SIZES_KWP = ("3 kWp", "4.5 kWp", "6 kWp", "8 kWp", "10 kWp", "20 kWp")
SIZES_KWH = ("5 kWh", "10 kWh", "13.5 kWh", "20 kWh")


def already_loaded() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def _type(names: tuple[str, str, str], flow) -> OpportunityType:
    it, es, en = names
    opp_type = OpportunityType(name=en, name_i18n={"it": it, "es": es, "en": en})
    for s_pos, (state_names, subs) in enumerate(flow):
        state = State(name=state_names[2], name_i18n=dict(zip(("it", "es", "en"), state_names, strict=True)),
                      position=s_pos)
        for pos, sub_names in enumerate(subs):
            state.substates.append(Substate(name=sub_names[2], position=pos,
                                            name_i18n=dict(zip(("it", "es", "en"), sub_names, strict=True))))
        opp_type.states.append(state)
    db.session.add(opp_type)
    return opp_type


def _user(email: str, name: str, role: str, lang: str, **kw) -> User:
    user = User(email=email, name=name, role=role, language=lang, **kw)
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    return user



# The demo's one SMTP account points at a local port where nothing listens, so its emails fail with the
# server's own words, retries follow, and the history shows the failure with its Retry button. Start a
# sink there (`python -m aiosmtpd -n -l localhost:8025`) and a retry goes out. `make run` uses this
# address; tests pass a port they reserved, so a developer's sink on 8025 does not change what they see.
DEMO_SMTP_HOST, DEMO_SMTP_PORT = "localhost", 8025


def demo_smtp(host: str, port: int) -> dict:
    """The demo SMTP account's fields for a server address where nothing is expected to listen."""
    return {"name": f"Demo ({host}:{port}, no server)", "host": host, "port": port, "security": "none",
            "from_address": "vendite@oppflow.example.com", "from_name": "oppflow demo"}


EMAILS = {
    "Contract sent": (
        {"it": "Il suo contratto per {{ opportunity.name }}",
         "es": "Su contrato para {{ opportunity.name }}",
         "en": "Your contract for {{ opportunity.name }}"},
        {"it": "<p>Gentile {{ client.name }},</p><p>le abbiamo inviato il contratto: importo "
               "{{ opportunity.amount }}.</p>",
         "es": "<p>Estimado/a {{ client.name }}:</p><p>le hemos enviado el contrato: importe "
               "{{ opportunity.amount }}.</p>",
         "en": "<p>Dear {{ client.name }},</p><p>we have sent you the contract: amount "
               "{{ opportunity.amount }}.</p>"}),
    "Offer sent": (
        {"it": "La nostra offerta: {{ opportunity.name }}", "es": "Nuestra oferta: {{ opportunity.name }}",
         "en": "Our offer: {{ opportunity.name }}"},
        {"it": "<p>Gentile {{ client.name }}, ecco l'offerta per il suo sistema di accumulo.</p>",
         "es": "<p>Estimado/a {{ client.name }}, esta es la oferta para su sistema de almacenamiento.</p>",
         "en": "<p>Dear {{ client.name }}, here is the offer for your battery storage.</p>"}),
}
# Substates the automation moves, so the people in the replay leave them alone.
CLOSED_BY_AUTOMATION = {"Contract sent"}  # when "Contract signed" opens
OPENED_BY_AUTOMATION = {"Case closed"}  # when "Commissioning and grid connection" closes
# Opened by the trigger when the owner completes the task "Prepara il progetto" (seed 002's example).
OPENED_BY_TASK = {"Installation completed": "Installation scheduled"}


def load(seed: int = 7, smtp_host: str = DEMO_SMTP_HOST, smtp_port: int = DEMO_SMTP_PORT) -> None:
    """Create the demo records, then replay their past through the services and the engine
    (services.demo_replay); commits as it goes. The same seed gives the same demo; its SMTP account
    points at smtp_host:smtp_port."""
    rng = random.Random(seed)
    pv = _type(("Impianto fotovoltaico", "Instalación fotovoltaica", "Photovoltaic installation"), PV_FLOW)
    storage = _type(("Sistema di accumulo", "Sistema de almacenamiento", "Battery storage"), STORAGE_FLOW)
    channels = [Channel(name=names[2], name_i18n=_names(names)) for names in CHANNELS]
    db.session.add_all(channels)
    installer = PartnerCompany(name="Solare Nord Installazioni S.r.l.", kind="installer",
                               email="info@solarenord.example.com", province="MI")
    installer2 = PartnerCompany(name="Instalaciones Sol Levante S.L.", kind="installer",
                                email="info@sollevante.example.com", province="M")
    commercial = PartnerCompany(name="Vendite Energia Sud S.p.A.", kind="commercial",
                                email="info@venditesud.example.com", province="NA")
    commercial2 = PartnerCompany(name="Comercial Verde Ibérica S.L.", kind="commercial",
                                 email="info@verdeiberica.example.com", province="B")
    db.session.add_all([installer, installer2, commercial, commercial2])
    db.session.flush()

    companies = {"installer": installer, "installer2": installer2, "commercial": commercial,
                 "commercial2": commercial2}
    users: dict[str, User] = {}
    for email, name, role, lang, link, _description in DEMO_LOGINS:
        kw = {"company": companies[link]} if role == "partner" else {"supervisor": users.get(link)}
        users[email] = _user(email, name, role, lang, **kw)
    manager, agent = users["manager@example.com"], users["agent@example.com"]

    customers = []
    for name, lang, city, cap, prov in CUSTOMERS:
        slug = unicodedata.normalize("NFKD", name.lower().replace(" ", ".")).encode("ascii", "ignore").decode()
        customers.append(Customer(name=name, language=lang, city=city, postal_code=cap, province=prov,
                                  email=f"{slug}@example.net", phone=f"+39 02 {rng.randint(1000000, 9999999)}"))
    db.session.add_all(customers)
    _automation(pv, storage, [installer, installer2], [commercial, commercial2], demo_smtp(smtp_host, smtp_port))
    _monitoring(pv, storage, manager)
    fields = demo_process.define(pv, storage, users["admin@example.com"])

    now = utcnow()
    created = sorted(now - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1440)) for _ in range(50))
    opps = []
    for i, created_at in enumerate(created):
        cust = rng.choice(customers)
        opp_type = pv if i % 5 else storage
        opps.append(Opportunity(
            # Sizes read the same in every language; the type says what it is.
            name=f"{cust.name} – {rng.choice(SIZES_KWP) if opp_type is pv else rng.choice(SIZES_KWH)}",
            type=opp_type, channel=rng.choice(channels), customer=cust, owner=rng.choice([manager, agent]),
            amount=Decimal(rng.randrange(4000, 40000, 50)), postal_code=cust.postal_code, province=cust.province,
            created_at=created_at,
        ))
    db.session.add_all(opps)
    db.session.flush()
    demo_process.fill(opps, fields, rng)
    steps = [step for opp in opps for step in _walk(opp, now, rng)]
    # The demo's SMTP server is unreachable on purpose (its failures fill the history and the failure inbox):
    # the replay must not pause the email actions (E10), or the demo would show, and dry-run, no email at all.
    app_settings.put(auto_pause.SETTING, "0")
    db.session.commit()
    demo_replay.replay(steps, now)
    db.session.execute(delete(AppSetting).where(AppSetting.key == auto_pause.SETTING))  # the default again
    demo_replay.answer(rng, now)
    demo_process.link_tasks(rng)
    _days_off(users["admin@example.com"], agent, now)


# The Spanish provinces of the demo's clients and partners: Spain's national holidays apply there only.
SPANISH_PROVINCES = "M, B, V, SE, BI, Z"


def _days_off(admin: User, agent: User, now) -> None:
    """Settings → Holidays: Italy's national holidays everywhere (the company works from Italy) and Spain's
    for the Spanish provinces, this year and next, named in it/es/en; and an absence of the agent in two
    weeks, during which the manager stands in. Added after the replay, so the demo's past is unchanged."""
    from services import absences, holidays

    for year in (now.year, now.year + 1):
        holidays.add_national("IT", year, None, admin)
        holidays.add_national("ES", year, SPANISH_PROVINCES, admin)
    start = now.date() + timedelta(days=14)
    absences.create_absence(agent, start, start + timedelta(days=6), "Ferie / Vacaciones / Holiday", admin)
    db.session.commit()


def _walk(opp: Opportunity, now, rng: random.Random) -> list[demo_replay.Step]:
    """The owner's steps through the flow: close the first k substates, leave the next one open, at
    plausible moments between the opportunity's creation and now; the automation does the rest."""
    subs = opp.type.substates
    # A substate the automation opens ends the people's part of the walk.
    last = next((i for i, s in enumerate(subs) if s.name in OPENED_BY_AUTOMATION), len(subs))
    k = rng.randint(0, last)
    events = []
    for sub in subs[:k]:
        # Completing the task is what opens it (the trigger); the task's substate names where it was made.
        events.append(("task", sub) if sub.name in OPENED_BY_TASK else ("open", sub))
        if sub.name in demo_process.FILLED_BY_FIELD:  # filling the field ticks it (a process automation)
            events.append(("field", sub))
        elif sub.name not in CLOSED_BY_AUTOMATION:
            events.append(("close", sub))
    if k < last:
        events.append(("open", subs[k]))
    span = (now - opp.created_at) / (len(events) + 1)
    moment, steps = opp.created_at, []
    for event, sub in events:
        moment += span * rng.uniform(0.5, 1.0)
        steps.append(demo_replay.Step(moment, opp.id, event, sub.id))
    return steps


def _automation(pv: OpportunityType, storage: OpportunityType, installers: list, commercials: list,
                smtp_fields: dict) -> None:
    """Activity types, assignment criteria, an email template per flow, the SMTP account, and the
    automatic actions that use them."""
    types = [ActivityType(name=names[2], name_i18n=_names(names)) for names in ACTIVITY_TYPES]
    db.session.add_all(types)
    db.session.add_all([
        AssignmentRule(partner_kind="installer", strategy="round_robin", companies=[
            AssignmentRuleCompany(company_id=c.id, weight=1) for c in installers]),
        AssignmentRule(partner_kind="commercial", strategy="weighted", companies=[
            AssignmentRuleCompany(company_id=c.id, weight=w) for c, w in zip(commercials, (2, 1), strict=True)]),
    ])
    smtp = SmtpCredential(**smtp_fields)
    templates = {name: EmailTemplate(name=name, name_i18n=_names(EMAIL_NAMES[name]), subjects=subjects, bodies=bodies)
                 for name, (subjects, bodies) in EMAILS.items()}
    db.session.add_all([smtp, *templates.values()])
    db.session.flush()
    call, visit = types[0].id, types[3].id

    def email(name: str) -> dict:
        return {"email_template_id": templates[name].id, "smtp_credential_id": smtp.id, "recipient": "client",
                "extra_user_ids": []}

    sub = {s.name: s for s in pv.substates + storage.substates}
    actions = [
        ("Pending documentation", "on_open", "assign_commercial", {"reassign": False}, None),
        ("Pending documentation", "on_open", "create_activity",
         {"activity_type_id": call, "description": "Chiama il cliente {{ client.name }} per i documenti"}, None),
        ("Contract sent", "on_open", "send_email", email("Contract sent"), None),
        # Reminds to chase the signature, unless the contract is signed before (the run is cancelled).
        ("Contract sent", "scheduled", "create_activity",
         {"activity_type_id": call, "description": "Sollecita la firma di {{ client.name }}"}, (10, "days")),
        ("Contract signed", "on_open", "close_substate", {"substate_id": sub["Contract sent"].id}, None),
        ("Installer assignment", "on_open", "assign_installer", {"reassign": False}, None),
        ("Installation scheduled", "on_open", "create_activity",
         {"activity_type_id": visit, "description": "Sopralluogo tecnico: {{ client.name }}, {{ client.city }}"}, None),
        ("Commissioning and grid connection", "on_close", "open_substate", {"substate_id": sub["Case closed"].id},
         None),
        ("Survey to schedule", "on_open", "assign_commercial", {"reassign": False}, None),
        ("Survey to schedule", "on_open", "create_activity",
         {"activity_type_id": visit, "description": "Fissa il sopralluogo con {{ client.name }}"}, None),
        ("Offer sent", "on_open", "send_email", email("Offer sent"), None),
    ]
    positions: dict[tuple[str, str], int] = {}
    for name, group, kind, config, delay in actions:
        position = positions[(name, group)] = positions.get((name, group), -1) + 1
        action = Action(substate=sub[name], group=group, position=position, kind=kind, config=config)
        if delay:
            action.delay_amount, action.delay_unit = delay
        db.session.add(action)


def _monitoring(pv: OpportunityType, storage: OpportunityType, manager: User) -> None:
    """The supervisor's rules of seed 002: a notification and a history entry when the documentation stays
    pending, the task "Prepara il progetto" whose completion moves the opportunity on (a trigger), a site
    survey scheduled in the calendar, and the task completed by automation when the case closes."""
    sub = {s.name: s for s in pv.substates + storage.substates}
    visit = db.session.execute(select(ActivityType).where(ActivityType.name == "Visit")).scalar_one()
    late = ("{{ opportunity.name }}: la documentazione è in sospeso da un giorno. Responsabile: {{ owner.name }}, "
            "importo {{ opportunity.amount }}.")
    actions = [
        ("Pending documentation", "scheduled", "notify_supervisor",
         {"message": late, "include_supervisor": True, "user_ids": [], "by_email": False,
          "smtp_credential_id": None}, (1, "days")),
        ("Pending documentation", "scheduled", "add_history_entry",
         {"text": "Documentazione non ricevuta entro due giorni ({{ owner.name }})", "author_id": manager.id},
         (2, "days")),
        ("Installation scheduled", "on_open", "create_task",
         {"title": "Prepara il progetto – {{ client.name }}",
          "description": "Progetto esecutivo per {{ opportunity.name }}: {{ client.address }} {{ client.city }}.",
          "responsible": "owner", "responsible_user_id": None, "deadline_amount": 3, "deadline_unit": "days",
          "working_hours": True, "participant_ids": [], "observer_ids": [manager.id]}, None),
        ("Case closed", "on_open", "complete_tasks",
         {"type_ids": [pv.id], "substate_ids": [sub["Installation scheduled"].id]}, None),
        ("Survey to schedule", "on_open", "schedule_activity",
         {"activity_type_id": visit.id, "subject": "Sopralluogo – {{ client.name }}",
          "description": "Sopralluogo tecnico per {{ opportunity.name }}", "due_amount": 2, "due_unit": "days",
          "due_working_hours": True, "duration_minutes": 60, "responsible": "owner", "responsible_user_id": None,
          "colour": "#27ae60", "in_calendar": True, "include_client": True, "invitee_ids": [],
          "address": "{{ client.city }}", "location_id": None, "location_text": "", "link": "",
          "attachment": "none", "attachment_upload": None, "report_template_id": None, "auto_complete": True}, None),
    ]
    for name, group, kind, config, delay in actions:
        position = len([a for a in sub[name].actions if a.group == group])
        action = Action(substate=sub[name], group=group, position=position, kind=kind, config=config,
                        respect_working_hours=group == "scheduled")
        if delay:
            action.delay_amount, action.delay_unit = delay
        db.session.add(action)
    db.session.add(Trigger(
        substate=sub["Installation completed"], kind="task_status", name="Progetto pronto → Installazione completata",
        config={"status": "completed", "title_words": "Prepara il progetto", "responsible_id": None,
                "created_in_substate_id": sub["Installation scheduled"].id},
        as_user_id=None, allow_back=False, enabled=True))
    db.session.flush()
