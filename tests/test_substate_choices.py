"""Substates offered across opportunity types ("Copy to…" in the designer, the external-source actions): grouped
by type in the user's language, options reading "State › Substate", every substate once."""

from html.parser import HTMLParser

import pytest

from extensions import db


class Select(HTMLParser):
    """The optgroups of one <select name=...>: [(group label, [(value, text), ...]), ...]."""

    def __init__(self, name: str):
        super().__init__()
        self.name, self.inside, self.groups, self.value = name, False, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self.inside = attrs.get("name") == self.name
        elif self.inside and tag == "optgroup":
            self.groups.append((attrs["label"], []))
        elif self.inside and tag == "option" and attrs.get("value"):
            self.value = attrs["value"]
            assert self.groups, f"option {self.value} outside any group"

    def handle_data(self, data):
        if self.value is not None:
            self.groups[-1][1].append((self.value, data.strip()))
            self.value = None

    def handle_endtag(self, tag):
        if tag == "select":
            self.inside = False


def groups_of(html: str, name: str) -> list[tuple[str, list[tuple[str, str]]]]:
    parser = Select(name)
    parser.feed(html)
    return parser.groups


def assert_no_duplicates(groups) -> None:
    labels = [label for label, _ in groups]
    values = [value for _, options in groups for value, _ in options]
    assert len(labels) == len(set(labels)) and len(values) == len(set(values)), groups


@pytest.fixture
def two_types(make):
    """Two types sharing state and substate names (the factory's "State 1 › Substate 1.1" in both), one with
    Italian names, plus an archived substate."""
    solar = make.flow((2, 1), name="Solar")
    battery = make.flow((2, 1), name="Battery")
    battery.name_i18n = {"it": "Accumulo"}
    battery.states[0].name_i18n = {"it": "Fase uno"}
    battery.states[0].substates[0].name_i18n = {"it": "Passo uno"}
    battery.states[1].substates[0].archived = True
    db.session.commit()
    return solar, battery


def test_copy_to_is_grouped_by_type_without_duplicates(client, make, two_types):
    solar, battery = two_types
    client.login(make.user("manager"))
    action = make.action(solar.substates[0], "open_substate", "on_close", {"substate_id": solar.substates[1].id})
    html = client.htmx("GET", f"/settings/types/{solar.id}/actions/{action.id}/copy").get_data(as_text=True)
    groups = groups_of(html, "target")
    assert_no_duplicates(groups)
    sb = battery.substates
    # Other types first, the action's own type last; its own substate and archived ones are left out.
    assert groups == [
        ("Battery", [(str(sb[0].id), "State 1 › Substate 1.1"), (str(sb[1].id), "State 1 › Substate 1.2")]),
        ("Solar", [(str(s.id), f"{s.state.name} › {s.name}") for s in solar.substates[1:]]),
    ]


def test_external_source_action_lists_are_grouped_by_type_in_the_users_language(client, make, two_types):
    solar, battery = two_types
    client.login(make.user("admin", language="it"))
    html = client.get("/settings/external-sources/actions/new").get_data(as_text=True)
    for name in ("close_ids", "open_ids"):
        groups = groups_of(html, name)
        assert_no_duplicates(groups)
        assert [label for label, _ in groups] == ["Accumulo", "Solar"]
        battery_options = dict(groups[0][1])
        assert battery_options[str(battery.substates[0].id)] == "Fase uno › Passo uno"
        # Archived substates stay listed: an action saved with one keeps it when edited.
        assert battery_options[str(battery.states[1].substates[0].id)] == "State 2 › Substate 2.1"
        all_values = {value for _, options in groups for value, _ in options}
        assert all_values == {str(s.id) for t in (solar, battery) for s in t.substates}
