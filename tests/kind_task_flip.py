"""A kind used only by the trigger tests: sets the opportunity's tasks whose title contains
config["title"] back to "todo" and then to config["status"] (default "completed") — two status changes in
the run's chain, as an action that completes tasks would make (seed 002, M4)."""

from sqlalchemy import select

from engine.kinds.base import Kind
from extensions import db
from models import Task
from services.events import Chain
from services.tasks import change_status


class TaskFlip(Kind):
    key = "task_flip"
    label = "Flip tasks (tests)"

    def execute(self, run) -> dict:
        config = run.config or {}
        tasks = db.session.execute(select(Task).where(Task.opportunity_id == run.opportunity_id)
                                   .order_by(Task.id)).scalars().all()
        changed = []
        for task in tasks:
            if (config.get("title") or "") in task.title:
                for status in ("todo", config.get("status") or "completed"):
                    change_status(task, status, None, run_id=run.id, chain=Chain.from_run(run))
                changed.append(task.id)
        return {"task_ids": changed}


KIND = TaskFlip()
