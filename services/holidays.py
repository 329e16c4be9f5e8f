"""Settings → Holidays (issue 14 item 9): the company's non-working days, optionally per region and
recurring every year, which working-hours scheduling skips (engine.calendar reads `days_off`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import Holiday, User
from services.flow import clean_names
from services.validation import InvalidData

log = logging.getLogger("oppflow")
MAX_REGION = 200

# National holidays offered by "Add national holidays" and loaded by the demo: (month, day, it, es, en).
# The fixed ones recur every year; Easter Monday (Italy) and Good Friday (Spain) move, so they are added
# per year.
NATIONAL = {
    "IT": [(1, 1, "Capodanno", "Año Nuevo", "New Year's Day"), (1, 6, "Epifania", "Epifanía", "Epiphany"),
           (4, 25, "Festa della Liberazione", "Día de la Liberación", "Liberation Day"),
           (5, 1, "Festa del Lavoro", "Día del Trabajo", "Labour Day"),
           (6, 2, "Festa della Repubblica", "Fiesta de la República", "Republic Day"),
           (8, 15, "Ferragosto", "Asunción", "Assumption Day"),
           (11, 1, "Ognissanti", "Todos los Santos", "All Saints' Day"),
           (12, 8, "Immacolata Concezione", "Inmaculada Concepción", "Immaculate Conception"),
           (12, 25, "Natale", "Navidad", "Christmas Day"), (12, 26, "Santo Stefano", "San Esteban", "St Stephen's Day")],
    "ES": [(1, 1, "Capodanno", "Año Nuevo", "New Year's Day"), (1, 6, "Epifania", "Epifanía del Señor", "Epiphany"),
           (5, 1, "Festa del Lavoro", "Fiesta del Trabajo", "Labour Day"),
           (8, 15, "Assunzione", "Asunción de la Virgen", "Assumption Day"),
           (10, 12, "Festa nazionale spagnola", "Fiesta Nacional de España", "Spain's National Day"),
           (11, 1, "Ognissanti", "Todos los Santos", "All Saints' Day"),
           (12, 6, "Giorno della Costituzione", "Día de la Constitución", "Constitution Day"),
           (12, 8, "Immacolata Concezione", "Inmaculada Concepción", "Immaculate Conception"),
           (12, 25, "Natale", "Navidad", "Christmas Day")],
}
# Days counted from Easter Sunday: Easter Monday in Italy, Good Friday in Spain.
MOVABLE = {"IT": (1, "Lunedì dell'Angelo", "Lunes de Pascua", "Easter Monday"),
           "ES": (-2, "Venerdì santo", "Viernes Santo", "Good Friday")}


@dataclass(frozen=True)
class DaysOff:
    """The holidays that apply to one region: exact dates, and (month, day) pairs repeated every year."""

    dates: frozenset
    yearly: frozenset

    def __contains__(self, day: date) -> bool:
        return day in self.dates or (day.month, day.day) in self.yearly


def region_keys(text: str | None) -> set[str]:
    """The provinces or regions a holiday (or an opportunity) names, compared whatever their case."""
    return {part.strip().casefold() for part in (text or "").split(",") if part.strip()}


def applies(holiday: Holiday, regions: set[str]) -> bool:
    """A holiday without region applies everywhere; one with regions only where one of them matches."""
    keys = region_keys(holiday.region)
    return not keys or bool(keys & regions)


def days_off(region: str | None) -> DaysOff:
    """Every holiday that applies to `region` (an opportunity's province or region; None: only those for
    everywhere). The calendar holds tens of rows: read whole, matched in Python like names are."""
    regions = region_keys(region)
    rows = [h for h in db.session.execute(select(Holiday)).scalars() if applies(h, regions)]
    return DaysOff(frozenset(h.day for h in rows if not h.recurring),
                   frozenset((h.day.month, h.day.day) for h in rows if h.recurring))


def list_holidays(year: int | None = None) -> list[Holiday]:
    """The calendar by date; given a year, its dated holidays and every recurring one."""
    stmt = select(Holiday).order_by(Holiday.day, Holiday.id)
    rows = list(db.session.execute(stmt).scalars())
    if year is None:
        return rows
    return sorted((h for h in rows if h.recurring or h.day.year == year), key=lambda h: (h.day.month, h.day.day, h.id))


def _clean(day: date | None, name: str, translations: dict, region: str | None, recurring: bool,
           exclude_id: int | None) -> tuple[str, dict, str | None]:
    errors: dict[str, str] = {}
    try:
        name, i18n = clean_names(name, translations)
    except InvalidData as err:
        errors.update(err.errors)
        i18n = {}
    region = ", ".join(part.strip() for part in (region or "").split(",") if part.strip()) or None
    if region and len(region) > MAX_REGION:
        errors["region"] = _("At most %(max)d characters.", max=MAX_REGION)
    if day is None:
        errors["day"] = _("Enter the date.")
    elif "region" not in errors and _clash(day, region, recurring, exclude_id) is not None:
        errors["day"] = _("The calendar already has a holiday on this date for the same region.")
    if errors:
        raise InvalidData(errors)
    return name, i18n, region


def _clash(day: date, region: str | None, recurring: bool, exclude_id: int | None) -> Holiday | None:
    """Another holiday on the same day for the same regions (a recurring one on the same day and month)."""
    keys = region_keys(region)
    for other in db.session.execute(select(Holiday).where(Holiday.id != (exclude_id or 0))).scalars():
        if region_keys(other.region) != keys:
            continue
        if other.day == day or ((recurring or other.recurring) and (other.day.month, other.day.day) == (day.month, day.day)):
            return other
    return None


def create_holiday(day: date | None, name: str, translations: dict, region: str | None, recurring: bool,
                   actor: User) -> Holiday:
    """Add a holiday; the same date twice for the same region is refused in words."""
    name, i18n, region = _clean(day, name, translations, region, recurring, None)
    holiday = Holiday(day=day, name=name, name_i18n=i18n, region=region, recurring=bool(recurring))
    db.session.add(holiday)
    db.session.flush()
    log.info("holiday %s created by %s", holiday.id, actor.id)
    return holiday


def update_holiday(holiday: Holiday, day: date | None, name: str, translations: dict, region: str | None,
                   recurring: bool, actor: User) -> Holiday:
    """Change a holiday; runs already scheduled keep their due time."""
    name, i18n, region = _clean(day, name, translations, region, recurring, holiday.id)
    holiday.day, holiday.name, holiday.name_i18n = day, name, i18n
    holiday.region, holiday.recurring = region, bool(recurring)
    db.session.flush()
    log.info("holiday %s changed by %s", holiday.id, actor.id)
    return holiday


def delete_holiday(holiday: Holiday, actor: User) -> None:
    """Remove a holiday from the calendar."""
    log.info("holiday %s deleted by %s", holiday.id, actor.id)
    db.session.delete(holiday)
    db.session.flush()


def easter(year: int) -> date:
    """Easter Sunday (Gregorian calendar; the anonymous algorithm of Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def add_national(country: str, year: int, region: str | None, actor: User) -> int:
    """Add a country's national holidays (NATIONAL, MOVABLE) for `year`: the fixed ones as recurring, the
    movable one on its date; those already in the calendar for the same region are left as they are.
    Returns how many were added."""
    if country not in NATIONAL:
        raise InvalidData({"country": _("Choose a country.")})
    if not 1900 <= year <= 2200:
        raise InvalidData({"year": _("Enter a year between %(low)d and %(high)d.", low=1900, high=2200)})
    wanted = [(date(year, m, d), names, True) for m, d, *names in NATIONAL[country]]
    offset, *names = MOVABLE[country]
    wanted.append((easter(year) + timedelta(days=offset), names, False))
    added = 0
    for day, (it, es, en), recurring in wanted:
        try:
            create_holiday(day, en, {"it": it, "es": es, "en": en}, region, recurring, actor)
        except InvalidData:
            continue  # already there (or its name clashes): kept as it is
        added += 1
    return added
