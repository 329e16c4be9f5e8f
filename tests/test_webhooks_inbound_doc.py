"""docs/webhooks-inbound.md's curl example, run as written (openssl signs it) against the app served on a
loopback port: the event is accepted and its trigger opens the substate; sent again, it is a replay."""

import json
import re
import subprocess
import threading
from pathlib import Path

from werkzeug.serving import make_server

from extensions import db
from models import Trigger
from services import external_sources
from services.substates import open_substate
from tests.engine_support import status_of

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks-inbound.md"


def _script(secret: str, url: str, opp_id: int) -> str:
    block = re.search(r"```sh\n(.*?)```", DOC.read_text(), re.S).group(1)
    block = block.replace("SECRET='whsec_…'", f"SECRET='{secret}'")
    block = re.sub(r"URL='[^']*'", f"URL='{url}'", block)
    return block.replace('"opportunity_id":1042', f'"opportunity_id":{opp_id}')


def test_the_documented_curl_example_is_accepted_and_opens_the_substate(app, make):
    flow = make.flow((1, 1))
    opp = make.opportunity(flow)
    s1, s2 = flow.substates
    open_substate(opp, s1.id, None)
    _source, secret = external_sources.create_source("crm", "CRM")
    db.session.add(Trigger(substate_id=s2.id, kind="external_event", name="Paid", enabled=True, config={
        "source": "crm", "event_type": "payment.received",
        "conditions": [{"path": "data.amount", "op": "gt", "value": "1000"}]}))
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        script = _script(secret, f"http://127.0.0.1:{server.server_port}/hooks/crm", opp.id)
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
        answer = json.loads(done.stdout)
        assert answer["ok"] is True and answer["opportunity_id"] == opp.id, done
        assert [run["status"] for run in answer["runs"]] == ["succeeded"]
        assert status_of(opp, s2) == "open"
        # The same body signed at the same second is the same event: a replay.
        fixed = script.replace("$(date +%s%N)", "fixed-" + str(opp.id) + secret[-8:])
        first = json.loads(subprocess.run(["bash", "-c", fixed], capture_output=True, text=True, timeout=30).stdout)
        again = json.loads(subprocess.run(["bash", "-c", fixed], capture_output=True, text=True, timeout=30).stdout)
        assert first["ok"] is True and again == {"ok": False, "error": "This event was already received."}
    finally:
        server.shutdown()
        thread.join(5)
