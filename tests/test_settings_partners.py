"""Settings → Partner companies and channels (SPEC S6)."""

import pytest
from sqlalchemy import select

from extensions import db
from models import (
    Action,
    AssignmentRule,
    Channel,
    PartnerCompany,
)
from tests.settings_support import count, fresh


def company_data(**changes) -> dict:
    data = {"name": "Impianti Rossi", "kind": "installer", "email": "info@rossi.it", "phone": "+39 051 123",
            "province": "BO", "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_create_and_edit_partner_company(client, admin):
    response = client.post("/settings/partners/new", data=company_data(phone=""))
    assert response.status_code == 302
    fresh()
    company = db.session.scalar(select(PartnerCompany))
    assert (company.name, company.kind, company.email, company.phone, company.province, company.active) == (
        "Impianti Rossi", "installer", "info@rossi.it", None, "BO", True)
    assert response.location == f"/settings/partners/{company.id}"
    response = client.post(f"/settings/partners/{company.id}",
                           data=company_data(name="Impianti Rossi & C.", kind="commercial", active=None))
    assert response.status_code == 302
    fresh()
    company = db.session.get(PartnerCompany, company.id)
    assert (company.name, company.kind, company.active) == ("Impianti Rossi & C.", "commercial", False)


@pytest.mark.parametrize("changes,message", [
    ({"name": ""}, "This field is required."),
    ({"name": "x" * 161}, "Field cannot be longer than 160 characters."),
    ({"kind": "wholesaler"}, "Not a valid choice"),
    ({"email": "nope"}, "Invalid email address."),
    ({"name": "ALREADY THERE"}, "Another partner company already has this name."),
])
def test_invalid_partner_company_is_422_and_nothing_saved(client, admin, make, changes, message):
    make.company(name="Already There")
    response = client.post("/settings/partners/new", data=company_data(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    fresh()
    assert count(PartnerCompany) == 1


def test_renaming_a_company_to_anothers_name_is_refused(client, admin, make):
    make.company(name="Alfa")
    beta = make.company(name="Beta")
    response = client.post(f"/settings/partners/{beta.id}", data=company_data(name="alfa"))
    assert response.status_code == 422
    fresh()
    assert db.session.get(PartnerCompany, beta.id).name == "Beta"
    assert client.post(f"/settings/partners/{beta.id}", data=company_data(name="BETA")).status_code == 302


def test_partner_list_filters_by_kind_and_shows_user_counts(client, admin, make):
    inst = make.company("installer", name="Posa Veloce")
    make.company("commercial", name="Vendite Nord")
    make.user("partner", company=inst)
    make.user("partner", company=inst)
    body = client.get("/settings/partners?kind=installer").get_data(as_text=True)
    assert "Posa Veloce" in body and "Vendite Nord" not in body
    assert '<td class="num">2</td>' in body
    body = client.get("/settings/partners?kind=commercial").get_data(as_text=True)
    assert "Vendite Nord" in body and "Posa Veloce" not in body
    partial = client.htmx("GET", "/settings/partners?kind=", headers={"HX-Target": "partner-table"})
    assert "<html" not in partial.get_data(as_text=True) and "Vendite Nord" in partial.get_data(as_text=True)
    assert client.get("/settings/partners?kind=bogus&page=-3").status_code == 200


# --- channels -------------------------------------------------------------------------------------------


def test_create_rename_deactivate_activate_delete_channel(client, admin):
    assert client.post("/settings/channels/new", data={"name": "  Web  "}).status_code == 302
    fresh()
    channel = db.session.scalar(select(Channel))
    assert channel.name == "Web" and channel.active
    assert client.post(f"/settings/channels/{channel.id}", data={"name": "Website"}).status_code == 302
    assert client.post(f"/settings/channels/{channel.id}/deactivate").status_code == 302
    fresh()
    channel = db.session.get(Channel, channel.id)
    assert channel.name == "Website" and not channel.active
    row = client.htmx("POST", f"/settings/channels/{channel.id}/activate")
    text = row.get_data(as_text=True)
    assert row.status_code == 200 and text.lstrip().startswith("<tr") and "Deactivate" in text
    fresh()
    assert db.session.get(Channel, channel.id).active
    assert client.post(f"/settings/channels/{channel.id}/delete").status_code == 302
    fresh()
    assert count(Channel) == 0


@pytest.mark.parametrize("name,message", [
    ("", "This field is required."),
    ("   ", "This field is required."),
    ("x" * 121, "Field cannot be longer than 120 characters."),
    ("PHONE", "Another channel already has this name."),
])
def test_invalid_channel_is_422_and_nothing_saved(client, admin, make, name, message):
    phone = make.channel("Phone")
    other = make.channel("Fair")
    response = client.post("/settings/channels/new", data={"name": name})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = client.post(f"/settings/channels/{other.id}", data={"name": name})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    fresh()
    assert sorted(c.name for c in db.session.scalars(select(Channel))) == ["Fair", "Phone"]
    assert db.session.get(Channel, phone.id).name == "Phone"


def test_channel_used_by_opportunities_cannot_be_deleted(client, admin, make):
    channel = make.channel("Referral")
    make.opportunity(channel=channel)
    response = client.post(f"/settings/channels/{channel.id}/delete")
    assert response.status_code == 409
    assert "1 opportunity uses this channel: it cannot be deleted." in response.get_data(as_text=True)
    make.opportunity(channel=channel)
    response = client.post(f"/settings/channels/{channel.id}/delete")
    assert "2 opportunities use this channel" in response.get_data(as_text=True)
    fresh()
    assert db.session.get(Channel, channel.id) is not None
    # It can still be deactivated.
    assert client.post(f"/settings/channels/{channel.id}/deactivate").status_code == 302


def test_channel_in_an_action_filter_or_assignment_rule_cannot_be_deleted(client, admin, make):
    flow = make.flow((1, 1))
    filtered = make.channel("Filtered")
    ruled = make.channel("Ruled")
    db.session.add(Action(substate=flow.substates[0], group="on_open", kind="send_email", config={},
                          channels=[filtered]))
    db.session.add(AssignmentRule(partner_kind="installer", channel_id=ruled.id))
    db.session.commit()
    response = client.post(f"/settings/channels/{filtered.id}/delete")
    assert response.status_code == 409
    assert "1 automatic action is limited to this channel" in response.get_data(as_text=True)
    response = client.post(f"/settings/channels/{ruled.id}/delete")
    assert response.status_code == 409
    assert "1 assignment criterion uses this channel" in response.get_data(as_text=True)
    fresh()
    assert count(Channel) == 2
