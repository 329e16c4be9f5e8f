"""Customers in the API (issue 13): list with a text filter and keyset paging, read, create, change —
internal users only (partners get 404, as on the pages), writing for those who may edit customers."""

import pytest

from extensions import db
from models import Customer
from tests.api_support import ApiClient, bearer, count, problem, with_lang

URL = "/api/v1/customers"


@pytest.fixture
def api(client) -> ApiClient:
    return ApiClient(client)


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_create_then_find_it_in_the_list_and_read_it(api, make, role):
    make.customer(name="Bianchi")
    headers = bearer(make.user(role))
    response = api.post(URL, headers=headers, json={"name": "Rossi Mario", "email": "mario@example.it",
                                                    "city": "Torino", "language": "es", "phone": ""})
    assert response.status_code == 201, response.data
    created = response.get_json()
    assert response.headers["Location"].endswith(f"{URL}/{created['id']}")
    assert (created["language"], created["city"], created["phone"]) == ("es", "Torino", None)
    found = api.get(URL, headers=headers, query_string={"q": "torino"}).get_json()
    assert [c["id"] for c in found["items"]] == [created["id"]] and found["next_cursor"] is None
    assert api.get(response.headers["Location"], headers=headers).get_json()["name"] == "Rossi Mario"
    assert api.post(URL, headers=headers, json={"name": "Verdi"}).get_json()["language"] == "it"


def test_the_list_pages_newest_first(api, make):
    ids = [make.customer().id for _ in range(5)]
    headers = bearer(make.user("agent"))
    first = api.get(URL, headers=headers, query_string={"limit": 3}).get_json()
    second = api.get(URL, headers=headers, query_string={"limit": 3, "cursor": first["next_cursor"]}).get_json()
    assert [c["id"] for c in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    problem(api.get(URL, headers=headers, query_string={"cursor": "nonsense"}), 400)


def test_update_changes_only_what_is_sent(api, make):
    customer = make.customer(name="Rossi", city="Milano")
    response = api.patch(f"{URL}/{customer.id}", headers=bearer(make.user("agent")), json={"phone": "+39 011 1234"})
    assert response.status_code == 200, response.data
    got = response.get_json()
    assert (got["name"], got["city"], got["phone"]) == ("Rossi", "Milano", "+39 011 1234")


def test_partners_see_no_customers(api, make):
    customer = make.customer()
    partner = bearer(make.partner())
    before = count(Customer)
    problem(api.get(URL, headers=partner), 404)
    problem(api.get(f"{URL}/{customer.id}", headers=partner), 404)
    problem(api.post(URL, headers=partner, json={"name": "X"}), 404)
    problem(api.patch(f"{URL}/{customer.id}", headers=partner, json={"name": "X"}), 404)
    assert count(Customer) == before


def test_read_only_tokens_change_nothing(api, make):
    customer = make.customer(name="Rossi")
    before = count(Customer)
    read_only = bearer(make.user("admin"), scopes=("read",))
    assert api.get(f"{URL}/{customer.id}", headers=read_only).status_code == 200
    problem(api.post(URL, headers=read_only, json={"name": "X"}), 403)
    problem(api.patch(f"{URL}/{customer.id}", headers=read_only, json={"name": "X"}), 403)
    assert count(Customer) == before
    db.session.expire_all()
    assert customer.name == "Rossi"


@pytest.mark.parametrize("lang,words", [("it", "Inserisci un indirizzo email valido."),
                                        ("es", "Introduce una dirección de email válida."), ("en", "Enter a valid email address.")])
def test_bad_input_is_a_422_naming_the_attribute_in_the_requests_language(api, make, lang, words):
    headers = with_lang(bearer(make.user("admin")), lang)
    customer = make.customer(name="Rossi")
    before = count(Customer)
    refused = problem(api.post(URL, headers=headers, json={"name": "X", "email": "not-an-address"}), 422)
    assert refused["errors"] == {"email": [words]}
    for bad, attribute in [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 161}, "name"),
                           ({"name": "X", "language": "fr"}, "language"), ({"name": 5}, "name"),
                           ({"name": "X", "vat": "1"}, "vat")]:
        assert attribute in problem(api.post(URL, headers=headers, json=bad), 422)["errors"], bad
    problem(api.patch(f"{URL}/{customer.id}", headers=headers, json={"name": None}), 422)
    problem(api.get(f"{URL}/999999", headers=headers), 404)
    assert count(Customer) == before
