"""Field-level refusals: a service names the fields at fault so the route can show them on the form."""

from services import ServiceError


class InvalidData(ServiceError):
    """Data a service refuses, with a translated message per form field (status 422)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()), 422)
        self.errors = errors


def show_on_form(form, err: InvalidData) -> None:
    """Put a service's field messages on the form's fields (unknown names go to the form's own errors).

    A form whose field names differ from the service's data keys maps them in `service_fields`.
    """
    aliases = getattr(form, "service_fields", {})
    for name, message in err.errors.items():
        field = form._fields.get(aliases.get(name, name))
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]
