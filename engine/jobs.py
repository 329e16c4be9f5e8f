"""RQ entry points. Jobs take ids, never objects, and build their own app context."""

from flask import current_app, has_app_context

_app = None


def _application():
    """The worker's preloaded app when there is one, else one built for this process."""
    global _app
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def run_action(run_id: int, kind: str | None = None) -> str:
    """Execute one action run (claim, effect, outcome); a second delivery of the same run does nothing. `kind`
    (the run's, named when it was enqueued) says how the run may be claimed (engine.executor.execute)."""
    from engine.executor import execute

    with _application().app_context():  # a fresh context: a fresh database session per job
        return execute(run_id, kind)


def deliver_webhook(delivery_id: int) -> str:
    """Send one outbound webhook delivery (claim, POST, record); a second delivery of the job does nothing."""
    from engine.webhooks_out import deliver

    with _application().app_context():
        return deliver(delivery_id)


def run_long_job(job_id: int) -> str:
    """Do a slice of a piece of long work (services.progress): claim it, work about a second, queue the rest."""
    from services import progress

    with _application().app_context():
        return progress.run(job_id)
