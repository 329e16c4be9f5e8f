"""Forms of Settings → Report templates and Export templates (SPEC S3, A9)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from engine import exports
from engine.kinds.base import options
from services.report_templates import ExportData, ReportData
from services.validation import record_id

PAPER_SIZES = options([("A4", "A4"), ("Letter", "Letter")])
ORIENTATIONS = options([("portrait", _l("Portrait")), ("landscape", _l("Landscape"))])
FILE_FORMATS = options([("csv", "CSV"), ("xlsx", "XLSX (Excel)")])
LANGUAGES = options([("it", _l("Italian")), ("es", _l("Spanish")), ("en", _l("English"))])


class ReportTemplateForm(FlaskForm):
    label = StringField(_l("Label"), render_kw={"maxlength": 120, "autocomplete": "off"})
    html = TextAreaField(_l("HTML with placeholders"), render_kw={"rows": 16, "spellcheck": "false"})
    css = TextAreaField(_l("CSS"), render_kw={"rows": 8, "spellcheck": "false"})
    paper_size = SelectField(_l("Paper size"), choices=PAPER_SIZES, validate_choice=False)
    orientation = SelectField(_l("Orientation"), choices=ORIENTATIONS, validate_choice=False)

    def fill(self, template) -> None:
        """Put a saved template in the form."""
        for name in ("label", "html", "css", "paper_size", "orientation"):
            self[name].data = getattr(template, name) or self[name].data

    def data_of(self) -> ReportData:
        """The form's data as services.report_templates expects it."""
        return ReportData(label=self.label.data or "", html=self.html.data or "", css=self.css.data or "",
                          paper_size=self.paper_size.data or "", orientation=self.orientation.data or "")


class ReportPreviewForm(FlaskForm):
    """Which opportunity and language to preview with (posted with the editor's fields)."""

    class Meta:
        csrf = False  # posted with the editor form, whose token is checked

    preview_opportunity = SelectField(_l("Opportunity"), coerce=record_id, validate_choice=False)
    preview_language = SelectField(_l("Language"), choices=LANGUAGES, validate_choice=False)


class ExportTemplateForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 120, "autocomplete": "off"})
    columns = SelectMultipleField(_l("Columns"), validate_choice=False, widget=ListWidget(prefix_label=False),
                                  option_widget=CheckboxInput())
    file_format = SelectField(_l("File format"), choices=FILE_FORMATS, validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.columns.choices = options(exports.column_choices())

    def fill(self, template) -> None:
        """Put a saved template in the form."""
        self.name.data, self.columns.data = template.name, list(template.columns or [])
        self.file_format.data = template.file_format

    def data_of(self) -> ExportData:
        """The form's data as services.report_templates expects it."""
        return ExportData(name=self.name.data or "", columns=list(self.columns.data or []),
                          file_format=self.file_format.data or "")
