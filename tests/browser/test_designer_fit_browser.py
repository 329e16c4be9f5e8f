"""The flow designer fits its window and keeps focus (issue "Keep every promise already made"): with the side
panel open, every state column and substate can be brought into view inside the board, whose scrollbar stays
on screen; a move made from the keyboard leaves focus on the moved item's button, so pressing again moves on."""

import uuid

import pytest
from playwright.sync_api import expect

from extensions import db
from services import flow as flow_svc
from tests.browser.support import htmx_settled, login, own_flow

pytestmark = pytest.mark.browser

MANAGER = "manager@example.com"

# Where a point of an element can be seen: the middle of the part of it inside the viewport, below the sticky
# top bar. Returns the rectangle, that point, and whether the element (not the panel) is what is drawn there.
SEEN = """(el, edge) => {
  const r = el.getBoundingClientRect(), bar = document.querySelector('.topbar').getBoundingClientRect().bottom;
  const top = Math.max(r.top, bar), bottom = Math.min(r.bottom, innerHeight);
  const x = edge === 'right' ? r.right - 3 : (r.left + r.right) / 2, y = (top + bottom) / 2;
  const hit = document.elementFromPoint(x, y);
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, visibleHeight: bottom - top,
          drawn: !!hit && (el === hit || el.contains(hit)), underPanel: !!hit && !!hit.closest('#panel')};
}"""


@pytest.fixture(scope="module")
def wide_type(live_server):
    """Six states, the first with twelve substates: wider and taller than the board's area at any width."""
    with live_server.app.app_context():
        t = flow_svc.create_type(f"Wide flow {uuid.uuid4().hex[:6]}")
        for s in range(6):
            state = flow_svc.create_state(t, f"Stage {s + 1} of the installation")
            for p in range(12 if s == 0 else 2):
                flow_svc.create_substate(state, f"Step {s + 1}.{p + 1}")
        db.session.commit()
        yield t.id, t.substates[0].id
        db.session.remove()


@pytest.mark.parametrize("width", [1280, 1366, 1440, 1024, 390])
def test_every_column_and_substate_can_be_reached_with_the_panel_open(new_page, wide_type, width):
    type_id, sub_id = wide_type
    page = new_page(viewport={"width": width, "height": 800})
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{type_id}/substates/{sub_id}")
    expect(page.locator("#panel h2")).to_have_text("Step 1.1")
    board = page.locator("#board .board")
    # The board scrolls inside its own area, no taller than the window below the top bar, so its horizontal
    # scrollbar can be seen (at once beside the panel); on a phone its states stack instead.
    box = board.evaluate("""b => ({bottom: b.getBoundingClientRect().bottom, height: b.offsetHeight,
        room: innerHeight - document.querySelector('.topbar').offsetHeight, wide: b.scrollWidth > b.clientWidth})""")
    if width > 640:
        assert box["wide"] and box["height"] <= box["room"], box
    else:  # a phone stacks the states one under another: the page scrolls down, never sideways
        assert not box["wide"], box
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    if width >= 1024:
        assert box["bottom"] <= 800, box
    columns = page.locator("section.state-col")
    expect(columns).to_have_count(6)
    for i in range(6):
        column = columns.nth(i)
        column.evaluate("c => c.scrollIntoView({block: 'nearest', inline: 'nearest'})")
        seen = column.evaluate(SEEN, "right")
        assert 0 <= seen["left"] and seen["right"] <= width, (i, seen)
        assert seen["visibleHeight"] > 20 and seen["drawn"] and not seen["underPanel"], (i, seen)
        last_sub = column.locator(".sub-card").last
        last_sub.evaluate("c => c.scrollIntoView({block: 'nearest', inline: 'nearest'})")
        seen = last_sub.evaluate(SEEN, "middle")
        assert 0 <= seen["left"] and seen["right"] <= width and seen["bottom"] <= 801, (i, seen)  # sub-pixel layout
        assert seen["drawn"] and not seen["underPanel"], (i, seen)
    if width >= 1024:  # beside the board, the panel stays in view while the board scrolls
        panel = page.locator("#panel").bounding_box()
        assert panel["x"] + panel["width"] <= width and 0 <= panel["y"] < 800


@pytest.fixture
def own_type(live_server):
    """A type of this test's own (the demo flows stay as other tests expect them)."""
    with own_flow(live_server.app, "Focus test", (("Documentation", ["Pending documentation", "Documentation validation"]),
                                                   ("Contract", ["Contract sent"]))) as type_id:
        yield type_id


def expect_names(page, *columns: list[str]) -> None:
    for i, names in enumerate(columns):
        expect(page.locator("section.state-col").nth(i).locator(".sub-name")).to_have_text(names)


def press(page, key: str = "Enter") -> None:
    # As a person would, wait the few milliseconds htmx takes to wire up a swapped-in board (it settles).
    htmx_settled(page)
    with page.expect_response(lambda r: "/move" in r.url and r.request.method == "POST") as answer:
        page.keyboard.press(key)
    assert answer.value.status == 200


def expect_focus_on(page, label: str) -> None:
    """document.activeElement is the button named `label` (waits for htmx to finish swapping the board)."""
    expect(page.locator(":focus")).to_have_attribute("aria-label", label)


def test_a_keyboard_move_keeps_focus_on_the_moved_item(new_page, own_type):
    page = new_page()
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{own_type}")
    down, up = "Move down: Pending documentation", "Move up: Pending documentation"
    page.get_by_role("button", name=down).focus()
    press(page)
    expect_names(page, ["Documentation validation", "Pending documentation"], ["Contract sent"])
    expect_focus_on(page, down)
    press(page, "Space")  # pressed again, it moves on: into the next state
    expect_names(page, ["Documentation validation"], ["Pending documentation", "Contract sent"])
    expect_focus_on(page, down)
    press(page)
    expect_names(page, ["Documentation validation"], ["Contract sent", "Pending documentation"])
    # Now last of all, its "down" button is disabled: focus goes to its "up" button, not to the page.
    expect_focus_on(page, up)
    press(page)
    expect_names(page, ["Documentation validation"], ["Pending documentation", "Contract sent"])
    expect_focus_on(page, up)


def test_a_keyboard_move_of_a_state_keeps_focus(new_page, own_type):
    page = new_page()
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{own_type}")
    page.get_by_role("button", name="Move right: Documentation").focus()
    press(page)
    expect(page.locator(".state-name")).to_have_text(["Contract", "Documentation"])
    expect_focus_on(page, "Move left: Documentation")  # "right" is disabled now it is last
