"""The palette a scheduled activity's colour is chosen from (M5), by name: the seed's example is yellow
for calls and green for meetings. A colour is always shown with its name, never alone; stored as #rrggbb.
Calendars (their cards) and the opportunity page read it from here."""

from flask_babel import lazy_gettext as _l

COLOURS = {
    "#f2c94c": _l("Yellow"),
    "#27ae60": _l("Green"),
    "#2f80ed": _l("Blue"),
    "#eb5757": _l("Red"),
    "#9b51e0": _l("Purple"),
    "#f2994a": _l("Orange"),
    "#828282": _l("Grey"),
}
DEFAULT_COLOUR = "#2f80ed"


def colour_name(colour: str | None) -> str:
    """The palette's name of a colour, in the reader's language (the code itself if it is not in it)."""
    return str(COLOURS.get((colour or "").lower(), colour or ""))
