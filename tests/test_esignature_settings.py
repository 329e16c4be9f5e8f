"""Settings → Electronic signature (SPEC S10): an admin chooses the provider in use, or none; the choice
outlives the environment's default, reaches the designer's prerequisites and is refused when unknown."""

from engine import signature
from engine.kinds import get_kind
from extensions import db
from models import AppSetting


def test_admin_switches_signatures_off_and_back_on(client, admin, make, app):
    flow = make.flow((1,))
    kind = get_kind("esignature")
    assert signature.active_key() == "simulator"  # the environment's default while nothing is chosen
    page = client.get("/settings/esignature").get_data(as_text=True)
    assert '<option selected value="simulator">' in page

    response = client.post("/settings/esignature", data={"provider": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert signature.active() is None
    assert "needs a signature provider" in kind.prerequisites(flow.substates[0])[0].message
    page = client.get("/settings/esignature").get_data(as_text=True)
    assert "No signature provider is configured." in page

    app.config["ESIGN_PROVIDER"] = ""  # a stored choice wins over the environment's default
    assert client.post("/settings/esignature", data={"provider": "simulator"}).status_code == 302
    db.session.expire_all()
    assert signature.active_key() == "simulator"
    assert not [n for n in kind.prerequisites(flow.substates[0]) if "provider" in n.message]


def test_unknown_provider_is_refused_in_words_and_nothing_is_saved(client, admin):
    response = client.post("/settings/esignature", data={"provider": "docusign-fake"})
    assert response.status_code == 422
    assert "Choose one of the installed providers." in response.get_data(as_text=True)
    assert db.session.get(AppSetting, "esign_provider") is None


def test_the_choice_is_in_the_users_language(client, make):
    client.login(make.user("admin", language="it"))
    page = client.get("/settings/esignature").get_data(as_text=True)
    assert "Firma elettronica" in page
