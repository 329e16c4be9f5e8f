"""The form of Settings → Custom fields; services.custom_fields validates the data.

A choice's options come as parallel rows of inputs (option_key, option_name, option_it, option_es, option_en):
plain inputs that work without JavaScript, read by `field_data`."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField

from blueprints.designer.forms import NameForm
from blueprints.settings.forms import MultiCheckboxField, options
from models.fields import FIELD_TYPES
from services.custom_fields import KEY_MAX, FieldData
from services.validation import record_id_or_none

OPTION_INPUTS = ("key", "name", "it", "es", "en")
BLANK_OPTION_ROWS = 3


class CustomFieldForm(NameForm):
    """A custom field's name and translations, key, type, opportunity types and required flag."""

    key = StringField(_l("Key"), render_kw={"maxlength": KEY_MAX, "autocomplete": "off", "spellcheck": "false"},
                      description=_l("Names the field in placeholders and exports, e.g. power_kwp. Empty: made "
                                     "from the name. It cannot change once opportunities have a value."))
    field_type = SelectField(_l("Type"), choices=options(FIELD_TYPES), validate_choice=False, default="text")
    type_ids = MultiCheckboxField(_l("Opportunity types"), coerce=record_id_or_none, validate_choice=False,
                                  description=_l("None ticked: every opportunity type."))
    required = BooleanField(_l("Required: it cannot be emptied on an opportunity"))

    def __init__(self, *args, types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.type_ids.choices = [(t.id, t.label) for t in types]

    def fill(self, custom) -> None:
        """Show a saved field."""
        self.fill_names(custom)
        self.key.data, self.field_type.data, self.required.data = custom.key, custom.field_type, custom.required
        self.type_ids.data = [t.id for t in custom.types]

    def field_data(self, formdata) -> FieldData:
        """The form's data as services.custom_fields expects it, with the option rows."""
        return FieldData(name=self.name.data or "", translations=self.translations(), key=self.key.data or "",
                         field_type=self.field_type.data or "", options=option_rows(formdata),
                         type_ids=[i for i in (self.type_ids.data or []) if i is not None],
                         required=bool(self.required.data))


def option_rows(formdata) -> list[dict]:
    """The option rows as posted (blank ones included: the service skips them)."""
    columns = [formdata.getlist(f"option_{name}") for name in OPTION_INPUTS]
    count = min(max((len(c) for c in columns), default=0), 200)
    return [{name: (col[i] if i < len(col) else "")[:200] for name, col in zip(OPTION_INPUTS, columns, strict=True)}
            for i in range(count)]


def saved_option_rows(custom) -> list[dict]:
    """A saved field's options as rows of the form."""
    return [{"key": o["key"], "name": o.get("name", ""), **{lang: (o.get("name_i18n") or {}).get(lang, "")
                                                             for lang in ("it", "es", "en")}}
            for o in (custom.options or [])] if custom else []


def with_blank_rows(rows: list[dict], blank: int = BLANK_OPTION_ROWS) -> list[dict]:
    """The filled rows, then empty ones to add options in."""
    filled = [r for r in rows if any((r.get(k) or "").strip() for k in OPTION_INPUTS)]
    return filled + [dict.fromkeys(OPTION_INPUTS, "") for _ in range(blank)]
