"""The web server's entry point: `gunicorn wsgi:app` (what `make run` starts). The app is built once per
process and its long-lived objects are then set aside from the garbage collector (app.frozen says why)."""

from app import create_app, frozen

app = frozen(create_app())
