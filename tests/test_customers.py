"""Customers CRUD (SPEC P3)."""

from sqlalchemy import func, select

from extensions import db
from models import Customer


def test_create_search_edit_customer(client, make):
    client.login(make.user("agent"))
    response = client.post("/customers/new", data={"name": "Luca Ferrari", "email": "luca@example.net",
                                                   "language": "it", "city": "Bologna"})
    assert response.status_code == 302
    customer = db.session.execute(select(Customer)).scalar_one()
    assert customer.language == "it"
    assert "Luca Ferrari" in client.get("/customers/?q=bolo").get_data(as_text=True)
    assert "Luca Ferrari" not in client.get("/customers/?q=madrid").get_data(as_text=True)
    response = client.post(f"/customers/{customer.id}", data={"name": "Luca Ferrari", "email": "", "language": "es"})
    assert response.status_code == 302
    db.session.refresh(customer)
    assert customer.language == "es" and customer.email is None


def test_bad_customer_input_is_422(client, make):
    client.login(make.user("agent"))
    for bad in [{"name": ""}, {"name": "A", "email": "not-an-email"}, {"name": "A", "language": "de"},
                {"name": "A" * 161}]:
        response = client.post("/customers/new", data={"language": "it", **bad})
        assert response.status_code == 422, bad
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def test_customer_with_opportunities_cannot_be_deleted(client, make):
    client.login(make.user("manager"))
    opp = make.opportunity()
    response = client.post(f"/customers/{opp.customer_id}/delete")
    assert response.status_code == 409
    assert "cannot be deleted" in response.get_data(as_text=True)
    lonely = make.customer()
    assert client.post(f"/customers/{lonely.id}/delete").status_code == 302
    assert db.session.get(Customer, lonely.id) is None


def test_partners_have_no_customer_pages(client, make):
    partner = make.partner()
    customer = make.customer()
    client.login(partner)
    for url in ["/customers/", "/customers/new", f"/customers/{customer.id}"]:
        assert client.get(url).status_code == 404
