"""Settings → Channels: list, create, rename, activate/deactivate, delete when unused (SPEC S6)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms import ChannelForm
from extensions import db
from models import Channel
from services import ServiceError
from services import channels as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


def _index(form: ChannelForm, status: int = 200, error: str | None = None):
    return render_template("settings/channels/index.html", form=form, rows=svc.list_channels(),
                           error=error), status


@bp.route("/channels")
@permission_required("settings.manage")
def channels():
    """Channels with how many opportunities and actions use each, and a form to add one."""
    return _index(ChannelForm())


@bp.route("/channels/new", methods=["POST"])
@permission_required("settings.manage")
def channel_create():
    """Create a channel; errors come back on the list's form."""
    form = ChannelForm()
    if form.validate_on_submit():
        try:
            channel = svc.create_channel(form.name.data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Channel %(name)s created.", name=channel.name), "success")
            return redirect(url_for("settings.channels"))
    return _index(form, 422)


@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def channel_edit(channel_id: int):
    """Rename a channel."""
    channel = db.get_or_404(Channel, channel_id)
    form = ChannelForm(obj=channel)
    if form.validate_on_submit():
        try:
            svc.rename_channel(channel, form.name.data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Channel renamed to %(name)s.", name=channel.name), "success")
            return redirect(url_for("settings.channels"))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/channels/form.html", form=form, channel=channel,
                           usage=svc.usage_of(channel)), status


@bp.route("/channels/<int:channel_id>/activate", methods=["POST"])
@permission_required("settings.manage")
def channel_activate(channel_id: int):
    """Activate a channel; htmx gets the channel's row back."""
    return _set_active(channel_id, True)


@bp.route("/channels/<int:channel_id>/deactivate", methods=["POST"])
@permission_required("settings.manage")
def channel_deactivate(channel_id: int):
    """Deactivate a channel (new opportunities cannot pick it); htmx gets the channel's row back."""
    return _set_active(channel_id, False)


def _set_active(channel_id: int, active: bool):
    channel = db.get_or_404(Channel, channel_id)
    svc.set_active(channel, active, current_user)
    db.session.commit()
    if request.htmx:
        return render_template("settings/channels/_row.html", row=svc.usage_of(channel))
    if active:
        flash(_("Channel %(name)s activated.", name=channel.name), "success")
    else:
        flash(_("Channel %(name)s deactivated.", name=channel.name), "success")
    return redirect(url_for("settings.channels"))


@bp.route("/channels/<int:channel_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def channel_delete(channel_id: int):
    """Delete a channel that nothing uses; otherwise say how many use it."""
    channel = db.get_or_404(Channel, channel_id)
    name = channel.name
    try:
        svc.delete_channel(channel, current_user)
    except ServiceError as err:
        db.session.rollback()
        return _index(ChannelForm(), err.status, err.message)
    db.session.commit()
    flash(_("Channel %(name)s deleted.", name=name), "success")
    return redirect(url_for("settings.channels"))
