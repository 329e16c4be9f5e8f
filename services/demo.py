"""Demo data that shows the product: a photovoltaic flow from the seeds, partners, users, ~50 opportunities."""

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from extensions import db
from models import (
    Action,
    Activity,
    ActivityType,
    Assignment,
    AssignmentRule,
    AssignmentRuleCompany,
    Channel,
    Customer,
    Opportunity,
    OpportunityType,
    PartnerCompany,
    State,
    Substate,
    SubstateEvent,
    User,
)
from models.base import utcnow
from services import substates

DEMO_PASSWORD = "demo1234"
DEMO_LOGINS = [
    ("admin@example.com", "admin", "Administrator"),
    ("manager@example.com", "manager", "Sales manager"),
    ("installer@example.com", "partner", "Installer company user"),
    ("commercial@example.com", "partner", "Commercial company user"),
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


# (it, es, en) names of the demo's activity types (Settings → Activity types).
ACTIVITY_TYPES = [
    ("Chiamata in uscita", "Llamada saliente", "Outbound call"),
    ("Chiamata in entrata", "Llamada entrante", "Inbound call"),
    ("Email", "Email", "Email"),
    ("Visita", "Visita", "Visit"),
]


SIZES_KWP = ("3 kWp", "4.5 kWp", "6 kWp", "8 kWp", "10 kWp", "20 kWp")
SIZES_KWH = ("5 kWh", "10 kWh", "13.5 kWh", "20 kWh")


def _spread_in_time(opp: Opportunity, now, rng: random.Random) -> None:
    """Give the walk through the flow plausible times between the opportunity's creation and now."""
    events = db.session.execute(
        select(SubstateEvent).where(SubstateEvent.opportunity_id == opp.id).order_by(SubstateEvent.id)
    ).scalars().all()
    span = (now - opp.created_at) / (len(events) + 1)
    at = opp.created_at
    for event in events:
        at += span * rng.uniform(0.5, 1.0)
        event.at = at
        record = next(r for r in opp.substates if r.substate_id == event.substate_id)
        if event.event == "opened":
            record.opened_at = at
        else:
            record.closed_at = at


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


def load(seed: int = 7) -> None:
    """Create the demo records (the caller commits)."""
    rng = random.Random(seed)
    pv = _type(("Impianto fotovoltaico", "Instalación fotovoltaica", "Photovoltaic installation"), PV_FLOW)
    storage = _type(("Sistema di accumulo", "Sistema de almacenamiento", "Battery storage"), STORAGE_FLOW)
    channels = [Channel(name=n) for n in ("Web", "Call center", "Partner referral", "Trade fair")]
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

    admin = _user("admin@example.com", "Anna Amministratrice", "admin", "en")
    manager = _user("manager@example.com", "Marco Manager", "manager", "it", supervisor=admin)
    agent = _user("agent@example.com", "Alicia Agente", "agent", "es", supervisor=manager)
    _user("installer@example.com", "Ivo Installatore", "partner", "it", company=installer)
    _user("instalador@example.com", "Iker Instalador", "partner", "es", company=installer2)
    _user("commercial@example.com", "Carla Commerciale", "partner", "es", company=commercial)
    _user("comercial@example.com", "Carlos Comercial", "partner", "es", company=commercial2)

    customers = []
    for name, lang, city, cap, prov in CUSTOMERS:
        slug = name.lower().replace(" ", ".").replace("í", "i").replace("é", "e").replace("á", "a")
        customers.append(Customer(name=name, language=lang, city=city, postal_code=cap, province=prov,
                                  email=f"{slug}@example.net", phone=f"+39 02 {rng.randint(1000000, 9999999)}"))
    db.session.add_all(customers)
    db.session.flush()

    now = utcnow()
    for i in range(50):
        cust = rng.choice(customers)
        opp_type = pv if i % 5 else storage
        opp = Opportunity(
            # Sizes read the same in every language; the type says what it is.
            name=f"{cust.name} – {rng.choice(SIZES_KWP) if opp_type is pv else rng.choice(SIZES_KWH)}",
            type=opp_type, channel=rng.choice(channels), customer=cust, owner=rng.choice([manager, agent]),
            amount=Decimal(rng.randrange(4000, 40000, 50)), postal_code=cust.postal_code, province=cust.province,
            installer=rng.choice([installer, installer2, None]),
            commercial=rng.choice([commercial, commercial2, None]),
            created_at=now - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1440)),
        )
        db.session.add(opp)
        db.session.flush()
        # Walk the flow: close the first k substates, leave the next one open.
        subs = opp_type.substates
        k = rng.randint(0, len(subs))
        for sub in subs[:k]:
            substates.open_substate(opp, sub.id, None)
            substates.close_substate(opp, sub.id, None)
        if k < len(subs):
            substates.open_substate(opp, subs[k].id, None)
        _spread_in_time(opp, now, rng)
    _work(pv, [installer, installer2], [commercial, commercial2], rng)


def _work(pv: OpportunityType, installers: list, commercials: list, rng: random.Random) -> None:
    """Activity types, assignment criteria, the automatic actions that use them, and the assignments
    and activities the existing opportunities would have by now."""
    types = [ActivityType(name=en, name_i18n={"it": it, "es": es, "en": en}) for it, es, en in ACTIVITY_TYPES]
    db.session.add_all(types)
    installer_rule = AssignmentRule(partner_kind="installer", strategy="round_robin", companies=[
        AssignmentRuleCompany(company_id=c.id, weight=1) for c in installers])
    commercial_rule = AssignmentRule(partner_kind="commercial", strategy="weighted", companies=[
        AssignmentRuleCompany(company_id=c.id, weight=w) for c, w in zip(commercials, (2, 1), strict=True)])
    db.session.add_all([installer_rule, commercial_rule])
    db.session.flush()
    by_name = {s.name: s for s in pv.substates}
    db.session.add_all([
        Action(substate=by_name["Pending documentation"], group="on_open", position=0, kind="assign_commercial",
               config={"reassign": False}),
        Action(substate=by_name["Pending documentation"], group="on_open", position=1, kind="create_activity",
               config={"activity_type_id": types[0].id, "description": "Chiama il cliente {{ client.name }}"}),
        Action(substate=by_name["Installer assignment"], group="on_open", position=0, kind="assign_installer",
               config={"reassign": False}),
    ])
    now = utcnow()
    for opp in db.session.execute(select(Opportunity).order_by(Opportunity.id)).scalars():
        for company_id, kind, rule in ((opp.installer_id, "installer", installer_rule),
                                       (opp.commercial_id, "commercial", commercial_rule)):
            if company_id:
                pending = rng.random() < 0.3
                db.session.add(Assignment(opportunity_id=opp.id, company_id=company_id, partner_kind=kind,
                                          rule_id=rule.id, strategy=rule.strategy, assigned_at=opp.created_at,
                                          status="pending" if pending else "accepted",
                                          responded_at=None if pending else opp.created_at + timedelta(hours=5)))
        if rng.random() < 0.5:
            done = rng.random() < 0.4
            db.session.add(Activity(opportunity_id=opp.id, type_id=rng.choice(types).id,
                                    description=f"Chiamare {opp.customer.name}", created_at=opp.created_at,
                                    completed_at=now if done else None))
