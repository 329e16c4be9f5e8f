"""Types, states and substates: the designer page, its board (drag and drop, move buttons), the panels
that create, rename, archive and delete them, and the flow map. Reads for internal users; every change
needs "Modify opportunity states" (D9)."""

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from blueprints.designer import bp
from blueprints.designer.forms import NameForm, SubstateForm
from blueprints.designer.views import (
    EDIT_PERMISSION,
    TABS,
    can_edit,
    flow_changed,
    get_state,
    get_substate,
    get_type,
    render_board,
    render_panel,
    render_substate,
    wants_fragment,
)
from blueprints.page_cache import cached_page
from extensions import db
from services import ServiceError, flowmap
from services import flow as svc
from services.access import internal_required, permission_required
from services.validation import InvalidData, show_on_form


def _flag() -> bool:
    return request.form.get("archived") == "1"


def _archived_note() -> str:
    """What screen readers hear after Archive or Restore (focus.js reads it out)."""
    return _("Archived") if _flag() else _("Restored")


def _redirect_htmx(url: str):
    """Leave the page: htmx follows HX-Redirect, a plain form the 302."""
    if request.htmx:
        return "", 204, {"HX-Redirect": url}
    return redirect(url)


# -- types ---------------------------------------------------------------------------------------------

@bp.route("/")
@internal_required
def index():
    """The opportunity types, with a form to create one."""
    return render_template("designer/index.html", types=svc.list_types(), form=NameForm(), can_edit=can_edit())


@bp.route("/", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def create_type():
    """Create an opportunity type and open its designer."""
    form = NameForm()
    try:
        opp_type = svc.create_type(form.name.data, form.translations())
        db.session.commit()
        return redirect(url_for("designer.type_page", type_id=opp_type.id))
    except InvalidData as err:
        db.session.rollback()
        show_on_form(form, err)
    return render_template("designer/index.html", types=svc.list_types(), form=form, can_edit=True), 422


@bp.route("/<int:type_id>")
@internal_required
@cached_page
def type_page(type_id: int):
    """The designer of a type: states as columns of substates, and the side panel; htmx gets the board."""
    opp_type = get_type(type_id)
    if wants_fragment() and request.htmx.target == "board":
        return render_board(opp_type)
    return render_panel(opp_type, "designer/_panel_empty.html")


@bp.route("/<int:type_id>/settings")
@internal_required
def type_settings(type_id: int):
    """Panel: the type's name and translations, archive and delete."""
    opp_type = get_type(type_id)
    form = NameForm(formdata=None)
    form.fill_names(opp_type)
    return render_panel(opp_type, "designer/_panel_type.html", form=form)


@bp.route("/<int:type_id>/settings", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def save_type_settings(type_id: int):
    """Rename the type."""
    opp_type = get_type(type_id)
    form = NameForm()
    try:
        svc.rename_type(opp_type, form.name.data, form.translations())
        db.session.commit()
        return flow_changed(render_panel(opp_type, "designer/_panel_type.html", form=form, saved=True))
    except InvalidData as err:
        db.session.rollback()
        show_on_form(form, err)
        return render_panel(opp_type, "designer/_panel_type.html", 422, form=form)


@bp.route("/<int:type_id>/archive", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def archive_type(type_id: int):
    """Archive the type (archived=1) or bring it back (archived=0)."""
    opp_type = get_type(type_id)
    svc.set_type_archived(opp_type, _flag())
    db.session.commit()
    form = NameForm(formdata=None)
    form.fill_names(opp_type)
    return flow_changed(render_panel(opp_type, "designer/_panel_type.html", form=form, announce=_archived_note()))


@bp.route("/<int:type_id>/delete", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def delete_type(type_id: int):
    """Delete the type with its flow (refused while opportunities use it)."""
    svc.delete_type(get_type(type_id))
    db.session.commit()
    return _redirect_htmx(url_for("designer.index"))


@bp.route("/<int:type_id>/order", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def order(type_id: int):
    """Save the board's order as a drag left it: states, and substates within and between states."""
    opp_type = get_type(type_id)
    try:
        svc.apply_board(opp_type, svc.parse_board(request.form.getlist("order")))
        db.session.commit()
    except ServiceError as err:
        db.session.rollback()
        return render_board(get_type(type_id), 422, err.message)
    return render_board(opp_type, announce=_("Moved"))


@bp.route("/<int:type_id>/map")
@internal_required
def flow_map(type_id: int):
    """The flow map (D10): substates and the edges their actions form, loops highlighted."""
    opp_type = get_type(type_id)
    return render_template("designer/map.html", opp_type=opp_type, fmap=flowmap.build_map(opp_type))


# -- states --------------------------------------------------------------------------------------------

@bp.route("/<int:type_id>/states/new")
@permission_required(EDIT_PERMISSION)
def new_state(type_id: int):
    """Panel: the form for a new state."""
    return render_panel(get_type(type_id), "designer/_panel_state.html", form=NameForm(formdata=None), state=None)


@bp.route("/<int:type_id>/states/new", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def create_state(type_id: int):
    """Add a state at the end of the type."""
    opp_type = get_type(type_id)
    form = NameForm()
    try:
        state = svc.create_state(opp_type, form.name.data, form.translations())
        db.session.commit()
    except InvalidData as err:
        db.session.rollback()
        show_on_form(form, err)
        return render_panel(opp_type, "designer/_panel_state.html", 422, form=form, state=None)
    url = url_for("designer.state_panel", type_id=type_id, state_id=state.id)
    return flow_changed(render_panel(opp_type, "designer/_panel_state.html", form=form, state=state, saved=True),
                        push_url=url)


@bp.route("/<int:type_id>/states/<int:state_id>")
@internal_required
def state_panel(type_id: int, state_id: int):
    """Panel: a state's name and translations, archive, delete."""
    opp_type = get_type(type_id)
    state = get_state(opp_type, state_id)
    form = NameForm(formdata=None)
    form.fill_names(state)
    return render_panel(opp_type, "designer/_panel_state.html", form=form, state=state)


@bp.route("/<int:type_id>/states/<int:state_id>", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def save_state(type_id: int, state_id: int):
    """Rename a state."""
    opp_type = get_type(type_id)
    state = get_state(opp_type, state_id)
    form = NameForm()
    try:
        svc.rename_state(state, form.name.data, form.translations())
        db.session.commit()
    except InvalidData as err:
        db.session.rollback()
        show_on_form(form, err)
        return render_panel(opp_type, "designer/_panel_state.html", 422, form=form, state=state)
    return flow_changed(render_panel(opp_type, "designer/_panel_state.html", form=form, state=state, saved=True))


@bp.route("/<int:type_id>/states/<int:state_id>/archive", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def archive_state(type_id: int, state_id: int):
    """Archive a state (archived=1) or bring it back (archived=0)."""
    opp_type = get_type(type_id)
    state = svc.set_state_archived(get_state(opp_type, state_id), _flag())
    db.session.commit()
    form = NameForm(formdata=None)
    form.fill_names(state)
    return flow_changed(render_panel(opp_type, "designer/_panel_state.html", form=form, state=state,
                                     announce=_archived_note()))


@bp.route("/<int:type_id>/states/<int:state_id>/delete", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def delete_state(type_id: int, state_id: int):
    """Delete a state and its substates (refused while opportunities use them)."""
    opp_type = get_type(type_id)
    svc.delete_state(get_state(opp_type, state_id))
    db.session.commit()
    return flow_changed(render_panel(opp_type, "designer/_panel_empty.html",
                                     notice=_("The state was deleted.")),
                        push_url=url_for("designer.type_page", type_id=type_id))


@bp.route("/<int:type_id>/states/<int:state_id>/move", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def move_state(type_id: int, state_id: int):
    """Move a state one place left or right (delta=-1 or 1): the keyboard's drag and drop."""
    opp_type = get_type(type_id)
    svc.shift_state(get_state(opp_type, state_id), 1 if request.form.get("delta") == "1" else -1)
    db.session.commit()
    return render_board(get_type(type_id), announce=_("Moved"))


# -- substates -----------------------------------------------------------------------------------------

@bp.route("/<int:type_id>/states/<int:state_id>/substates/new")
@permission_required(EDIT_PERMISSION)
def new_substate(type_id: int, state_id: int):
    """Panel: the form for a new substate of a state."""
    opp_type = get_type(type_id)
    return render_panel(opp_type, "designer/_panel_new_substate.html", form=SubstateForm(formdata=None),
                        state=get_state(opp_type, state_id))


@bp.route("/<int:type_id>/states/<int:state_id>/substates/new", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def create_substate(type_id: int, state_id: int):
    """Add a substate at the end of a state and open its panel."""
    opp_type = get_type(type_id)
    state = get_state(opp_type, state_id)
    form = SubstateForm()
    try:
        sub = svc.create_substate(state, form.name.data, form.translations(),
                                  partner_can_act=form.partner_can_act.data)
        db.session.commit()
    except InvalidData as err:
        db.session.rollback()
        show_on_form(form, err)
        return render_panel(opp_type, "designer/_panel_new_substate.html", 422, form=form, state=state)
    url = url_for("designer.substate_panel", type_id=type_id, substate_id=sub.id)
    return flow_changed(render_substate(opp_type, sub, "actions"), push_url=url)


@bp.route("/<int:type_id>/substates/<int:substate_id>")
@internal_required
def substate_panel(type_id: int, substate_id: int):
    """Panel: a substate's tabs — Automatic actions, Triggers, Required fields, Linked tasks, Settings."""
    opp_type = get_type(type_id)
    tab = request.args.get("tab", "actions")
    return render_substate(opp_type, get_substate(opp_type, substate_id), tab if tab in TABS else "actions")


@bp.route("/<int:type_id>/substates/<int:substate_id>", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def save_substate(type_id: int, substate_id: int):
    """Rename a substate; set whether partner users may act on it."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    form = SubstateForm()
    try:
        svc.update_substate(sub, form.name.data, form.translations(), partner_can_act=form.partner_can_act.data)
        db.session.commit()
    except InvalidData as err:
        db.session.rollback()
        show_on_form(form, err)
        return render_substate(opp_type, sub, "settings", 422, form=form)
    return flow_changed(render_substate(opp_type, sub, "settings", form=form, saved=True))


@bp.route("/<int:type_id>/substates/<int:substate_id>/archive", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def archive_substate(type_id: int, substate_id: int):
    """Archive a substate (archived=1) or bring it back (archived=0)."""
    opp_type = get_type(type_id)
    sub = svc.set_substate_archived(get_substate(opp_type, substate_id), _flag())
    db.session.commit()
    return flow_changed(render_substate(opp_type, sub, "settings", announce=_archived_note()))


@bp.route("/<int:type_id>/substates/<int:substate_id>/delete", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def delete_substate(type_id: int, substate_id: int):
    """Delete a substate and its actions (refused while opportunities or other actions use it)."""
    opp_type = get_type(type_id)
    svc.delete_substate(get_substate(opp_type, substate_id))
    db.session.commit()
    return flow_changed(render_panel(opp_type, "designer/_panel_empty.html",
                                     notice=_("The substate was deleted.")),
                        push_url=url_for("designer.type_page", type_id=type_id))


@bp.route("/<int:type_id>/substates/<int:substate_id>/move", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def move_substate(type_id: int, substate_id: int):
    """Move a substate up or down (delta=-1 or 1), into the neighbouring state past either end."""
    opp_type = get_type(type_id)
    svc.shift_substate(get_substate(opp_type, substate_id), 1 if request.form.get("delta") == "1" else -1)
    db.session.commit()
    return render_board(get_type(type_id), announce=_("Moved"))
