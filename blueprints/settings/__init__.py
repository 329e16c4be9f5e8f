from flask import Blueprint

bp = Blueprint("settings", __name__)

from blueprints.settings import (  # noqa: E402,F401
    absences,
    activity_types,
    assignment,
    channels,
    custom_fields,
    email_templates,
    export_templates,
    external_sources,
    holidays,
    locations,
    partners,
    report_templates,
    routes,
    smtp,
    users,
    webhooks,
)
