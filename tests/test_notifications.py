"""In-app notifications (P5): assignments tell the company's users, final failures tell the owner."""

from sqlalchemy import select

from extensions import db
from models import Notification
from services import assignment as assign_svc
from services import notifications as svc
from tests import history_support as hs


def test_assignment_notifies_every_user_of_the_company(client, make):
    company = make.company("installer")
    users = [make.user("partner", company=company) for _ in range(2)]
    outsider = make.partner("installer")
    make.rule("installer", companies=[company])
    opp = make.opportunity(name="Verdi solar")
    assign_svc.assign(opp, "installer")
    db.session.commit()
    for user in users:
        assert svc.unread_count(user) == 1
    assert svc.unread_count(outsider) == 0
    client.login(users[0])
    assert ">1<" in client.get("/notifications/bell").get_data(as_text=True)
    body = client.get("/notifications").get_data(as_text=True)
    assert "Verdi solar was assigned to your company." in body
    assert svc.unread_count(users[0]) == 0 and svc.unread_count(users[1]) == 1
    assert "badge" not in client.get("/notifications/bell").get_data(as_text=True)


def test_final_failure_notifies_the_owner(app, make):
    from engine import executor

    owner = make.user("manager")
    opp = make.opportunity(name="Neri garage", owner_id=owner.id)
    run = hs.run(opp, "send_email", "running", claimed_by="tok", attempts=9)
    db.session.commit()
    assert executor._failed(run.id, "tok", 9, "550 rejected", transient=False)
    note = db.session.execute(select(Notification).where(Notification.user_id == owner.id)).scalar_one()
    assert note.text == "An automatic action failed on Neri garage: 550 rejected"
    assert note.link == f"/opportunities/{opp.id}"


def test_lost_lease_records_no_notification(app, make):
    from engine import executor

    owner = make.user("manager")
    opp = make.opportunity(owner_id=owner.id)
    run = hs.run(opp, "send_email", "running", claimed_by="other", attempts=9)
    db.session.commit()
    executor._failed(run.id, "tok", 9, "boom", transient=False)
    assert not db.session.execute(select(Notification)).first()


def test_bell_in_header(client, make):
    client.login(make.user("manager"))
    body = client.get("/account").get_data(as_text=True)
    assert 'hx-get="/notifications/bell"' in body and "Action history" in body
