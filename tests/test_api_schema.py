"""The JSON API against its own OpenAPI document (SPEC P4): schemathesis generates requests for every
operation of /api/openapi.json (so resources merged later are covered without editing this file) and
sends them in-process (WSGI) with an admin's write token and a partner's token, on a seeded database.

Checks: no server error, every response documented (status code, content type) and valid against its
schema. Bounded and deterministic (few examples per operation, derandomized) to stay well under a minute
per backend. Beside it: the document is OpenAPI 3.1 with a summary or description on every operation, and
a partner's token, through every list of the document, sees no other company's opportunity.
"""

import re

import pytest
import schemathesis
from flask import g
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from extensions import db
from services import api_tokens
from tests.walk_support import seed

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]
MAX_EXAMPLES = 25
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(params=["admin", "partner"])
def api_caller(request, app, make):
    """The seeded world and a write token of one user (an admin, or an installer's partner user)."""
    world = seed(make)
    _, plaintext = api_tokens.create_token(world.users[request.param], "schemathesis", {"read", "write"}, 30)
    db.session.commit()
    app.config["API_RATE_LIMIT"] = "1000000 per minute"
    return {"world": world, "headers": {"Authorization": f"Bearer {plaintext}"}}


def test_every_operation_conforms_to_the_document(app, api_caller):
    """Each operation of the document in turn (one hypothesis run each: a failure names its operation)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            g.pop("_login_user", None)  # the test's app context serves every call: each token sets its user
            case.call_and_validate(headers=api_caller["headers"], checks=CHECKS)

        try:
            run()
        except Exception as err:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {err}") from err


def test_the_document_is_openapi_3_1_with_every_operation_described(client):
    spec = client.get("/api/openapi.json").json
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    operations = [(path, method, op) for path, item in spec["paths"].items()
                  for method, op in item.items() if method in METHODS]
    assert operations
    undocumented = [f"{m.upper()} {p}" for p, m, op in operations if not (op.get("summary") or op.get("description"))]
    assert not undocumented, undocumented
    # Every error an operation gives is problem+json (documented once, as its default response).
    for path, method, op in operations:
        default = op["responses"]["default"]
        if "$ref" in default:
            default = spec["components"]["responses"][default["$ref"].rsplit("/", 1)[-1]]
        assert list(default["content"]) == ["application/problem+json"], f"{method} {path}"


def test_a_partner_token_lists_no_other_companys_opportunity(app, client, make):
    """Every GET list of the document (an operation without path parameters), followed page by page,
    through a partner's token: no opportunity outside the partner's company appears, by id or name."""
    from models import Opportunity

    world = seed(make)
    flow = db.session.get(Opportunity, world.ids["opp_id"]).type
    others = [make.opportunity(flow, name=f"Hidden deal {n}", installer=make.company("installer"))
              for n in range(3)] + [make.opportunity(flow, name="Hidden unassigned deal")]
    partner = world.users["partner"]
    _, plaintext = api_tokens.create_token(partner, "leaks", {"read"}, 30)
    db.session.commit()
    hidden = {o.id for o in others}
    visible = {o.id for o in db.session.execute(db.select(Opportunity)).scalars()} - hidden
    headers = {"Authorization": f"Bearer {plaintext}"}
    spec = client.get("/api/openapi.json").json
    lists = [path for path, item in spec["paths"].items() if "get" in item and "{" not in path]
    assert "/api/v1/opportunities" in lists
    leaks, seen = [], 0
    for path in lists:
        cursor = None
        for _page in range(50):
            g.pop("_login_user", None)
            response = client.get(path, headers=headers, query_string={"limit": 200, **({"cursor": cursor} if cursor else {})})
            if response.status_code == 404 and path != "/api/v1/opportunities":
                break  # a resource for internal users only (customers, flows): hidden from partners as a whole
            assert response.status_code == 200, f"GET {path}: {response.status_code}"
            body = response.json
            text = response.get_data(as_text=True)
            leaks += [f"{path}: {name}" for name in ("Hidden deal", "Hidden unassigned deal") if name in text]
            items = body.get("items", []) if isinstance(body, dict) else body
            for item in items:
                ids = {item.get("opportunity_id"), (item.get("opportunity") or {}).get("id")}
                if path.rstrip("/").endswith("/opportunities"):
                    ids.add(item.get("id"))
                    seen += item.get("id") in visible
                leaks += [f"{path}: opportunity {i}" for i in ids & hidden]
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor:
                break
    assert not leaks, leaks
    assert seen >= 1  # the partner's own opportunity (the walked one, assigned to their company) is listed
