"""What the README promises about the demo: every login it lists exists, and an Italian, Spanish or English
user sees the demo's channels, activity types and email templates in their own language."""

import pytest
from flask_babel import refresh
from sqlalchemy import select

from extensions import db
from models import Activity, Channel, EmailTemplate, Opportunity, User
from services import demo
from tests.ports import closed_port
from tests.test_run import readme_logins

# The demo's names in each language (channels, activity types, email templates).
NAMES = {lang: {names[i] for names in (*demo.CHANNELS, *demo.ACTIVITY_TYPES, *demo.EMAIL_NAMES.values())}
         for i, lang in enumerate(("it", "es", "en"))}


@pytest.fixture
def loaded(engine_app):
    """The demo, its SMTP account pointing at a port this test reserved."""
    with closed_port() as port:
        demo.load(smtp_host="127.0.0.1", smtp_port=port)
        db.session.commit()
        yield


def test_every_readme_login_opens_the_demo_and_the_demo_speaks_each_users_language(loaded, app, client):
    for email in readme_logins():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        assert user is not None, f"README lists {email}, the demo has no such user"
        assert user.active and user.check_password(demo.DEMO_PASSWORD)
        with app.test_client() as other:
            other.environ_base["REMOTE_ADDR"] = "127.9.9.9"
            assert other.login(user, demo.DEMO_PASSWORD).status_code == 302
    assert {login[0] for login in demo.DEMO_LOGINS} == set(readme_logins())
    # One demo load serves the languages too (loading it is the expensive part of these tests).
    for lang in ("it", "es", "en"):
        check_the_demo_speaks(client, lang)


def check_the_demo_speaks(client, lang: str) -> None:
    """An admin who speaks `lang` sees the demo's channels, activity types and email templates in it, and no
    other language's names."""
    admin = db.session.execute(select(User).where(User.email == "admin@example.com")).scalar_one()
    admin.language = lang
    db.session.commit()
    client.login(admin, demo.DEMO_PASSWORD)
    refresh()  # the test's app context outlives requests: forget the locale loading the demo cached
    foreign = set().union(*(NAMES[other] for other in NAMES if other != lang)) - NAMES[lang]
    # An opportunity with activities, whose channel has a name of its own in each language.
    opp = db.session.execute(
        select(Opportunity).join(Activity, Activity.opportunity_id == Opportunity.id).join(Channel)
        .where(Channel.name.in_(["Partner referral", "Trade fair"])).order_by(Opportunity.id).limit(1)
    ).scalar_one()
    pages = {
        "opportunity": client.get(f"/opportunities/{opp.id}"),
        "channels": client.get("/settings/channels"),
        "activity types": client.get("/settings/activity-types"),
        "email templates": client.get("/settings/email-templates"),
    }
    assert all(page.status_code == 200 for page in pages.values())
    html = {name: page.get_data(as_text=True) for name, page in pages.items()}
    assert opp.channel.name_i18n[lang] in html["opportunity"]
    activities = db.session.execute(select(Activity).where(Activity.opportunity_id == opp.id)).scalars().all()
    assert activities and all(a.type.name_i18n[lang] in html["opportunity"] for a in activities)
    for names, page in ((demo.CHANNELS, "channels"), (demo.ACTIVITY_TYPES, "activity types")):
        for triple in names:
            assert triple[("it", "es", "en").index(lang)] in html[page]
    for triple in demo.EMAIL_NAMES.values():
        assert triple[("it", "es", "en").index(lang)] in html["email templates"]
    for page in ("opportunity", "channels", "email templates"):
        shown = [name for name in foreign if f">{name}<" in html[page]]
        assert not shown, f"the {page} page in {lang} shows {shown}"
    # The email templates' subjects were already per language; their names now are too.
    assert all(set(t.name_i18n) == {"it", "es", "en"} for t in db.session.execute(select(EmailTemplate)).scalars())
