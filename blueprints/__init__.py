"""Blueprints, one package per area."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from blueprints.auth import bp as auth_bp
    from blueprints.automations import bp as automations_bp
    from blueprints.calendar import bp as calendar_bp
    from blueprints.customers import bp as customers_bp
    from blueprints.dashboard import bp as dashboard_bp
    from blueprints.designer import bp as designer_bp
    from blueprints.history import bp as history_bp
    from blueprints.inbox import bp as inbox_bp
    from blueprints.opportunities import bp as opportunities_bp
    from blueprints.progress import bp as progress_bp
    from blueprints.public import bp as public_bp
    from blueprints.settings import bp as settings_bp
    from blueprints.tasks import bp as tasks_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(opportunities_bp)
    app.register_blueprint(history_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(customers_bp, url_prefix="/customers")
    app.register_blueprint(settings_bp, url_prefix="/settings")
    app.register_blueprint(designer_bp, url_prefix="/settings/types")
    app.register_blueprint(public_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(automations_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(progress_bp)
    app.register_blueprint(inbox_bp)
