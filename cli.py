"""Flask CLI commands: demo data, users, encryption keys, translations."""

import subprocess
import sys
from pathlib import Path

import click
from flask import Flask

from extensions import db

ROOT = Path(__file__).resolve().parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--force", is_flag=True, help="Load even if users already exist.")
    def seed_demo(force: bool) -> None:
        """Load the demo data once (types, partners, users, customers, opportunities)."""
        from services import demo

        if demo.already_loaded() and not force:
            click.echo("Demo data already loaded.")
            return
        demo.load()
        db.session.commit()
        click.echo("Demo data loaded.")

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--role", default="admin", type=click.Choice(["admin", "manager", "agent"]))
    @click.password_option()
    def create_user(email: str, name: str, role: str, password: str) -> None:
        """Create an internal user (e.g. the first admin of a production install)."""
        from models import User

        user = User(email=email.strip().lower(), name=name, role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        click.echo(f"User {email} created.")

    @app.cli.command("create-api-token")
    @click.option("--email", required=True, help="The user the token acts as (a partner's token sees what they see).")
    @click.option("--name", default="CLI token", show_default=True)
    @click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "write"]), default=("read",),
                  show_default=True, help="Repeat for several; write implies read.")
    @click.option("--days", default=90, show_default=True, type=int, help="Days until it expires (1-366).")
    def create_api_token(email: str, name: str, scopes: tuple[str, ...], days: int) -> None:
        """Create an API token for a user and print it (it is shown this once), for scripts and integrations."""
        from sqlalchemy import func, select

        from models import User
        from services import api_tokens
        from services.validation import InvalidData

        user = db.session.execute(select(User).where(func.lower(User.email) == email.strip().lower())).scalar()
        if user is None:
            raise click.ClickException(f"No user has the e-mail {email}.")
        try:
            token, plaintext = api_tokens.create_token(user, name, set(scopes), days)
        except InvalidData as err:
            db.session.rollback()
            raise click.ClickException(" ".join(err.errors.values())) from err
        db.session.commit()
        click.echo(plaintext)
        click.echo(f"Token {token.prefix}… for {user.email}, scopes {token.scopes}, expires {token.expires_at:%Y-%m-%d}.",
                   err=True)

    @app.cli.command("rotate-keys")
    def rotate_keys() -> None:
        """Re-encrypt every stored secret with the newest key of OPPFLOW_ENCRYPTION_KEYS (see README)."""
        from services import secrets

        try:
            count = secrets.rotate_all()
        except secrets.SecretError as err:
            db.session.rollback()
            raise click.ClickException(err.message) from err
        db.session.commit()
        click.echo(f"{count} secret(s) re-encrypted with the newest key; older keys may now be removed.")

    @app.cli.command("generate-key")
    def generate_key() -> None:
        """Print a new Fernet key to put first in OPPFLOW_ENCRYPTION_KEYS."""
        from services import secrets

        click.echo(secrets.generate_key())

    @app.cli.group()
    def translate() -> None:
        """Translation commands (pybabel extract, update, compile)."""

    @translate.command()
    def update() -> None:
        """Extract the strings and merge them into the it, es and en catalogs."""
        _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2", "-o", str(POT), ".")
        _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching")

    @translate.command()
    @click.argument("lang")
    def init(lang: str) -> None:
        """Start the catalog of a new language."""
        _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2", "-o", str(POT), ".")
        _pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang)

    @translate.command()
    def compile() -> None:
        """Build the .mo files the app reads."""
        _pybabel("compile", "-d", str(TRANSLATIONS))
