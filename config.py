"""Configuration from the environment, with safe defaults for the embedded mode."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one kept in instance/ so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _encryption_keys() -> str:
    """OPPFLOW_ENCRYPTION_KEYS from the environment, else one Fernet key kept in instance/ (embedded mode)."""
    if os.environ.get("OPPFLOW_ENCRYPTION_KEYS", "").strip():
        return os.environ["OPPFLOW_ENCRYPTION_KEYS"]
    from cryptography.fernet import Fernet

    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / "encryption_key"
    if not path.exists():
        # Written aside and linked into place: processes starting together all end up with the same key.
        tmp = INSTANCE_DIR / f".encryption_key.{os.getpid()}"
        tmp.write_bytes(Fernet.generate_key())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'oppflow.db'}")
    # Accept the postgres:// and postgresql:// spellings and use psycopg 3 for both.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Read once per create_app call, so tests can change the environment between apps."""

    def __init__(self) -> None:
        production = os.environ.get("OPPFLOW_ENV") == "production"
        self.SECRET_KEY = _secret_key()
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        # Web processes check a pooled connection before use (a restarted database costs no user an error);
        # worker.py turns it off: a round trip per job, and a job on a dead connection is retried anyway.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # Rendered pages each web process keeps while the data is unchanged (blueprints/page_cache.py); 0: off.
        self.PAGE_CACHE_MB = float(os.environ.get("OPPFLOW_PAGE_CACHE_MB", "16"))
        # Behind N reverse proxies, trust their X-Forwarded-For/-Proto/-Host (client address for rate limits).
        self.PROXY_COUNT = int(os.environ.get("OPPFLOW_PROXIES", "0"))
        self.REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        # Fernet key(s) for secrets at rest, newest first, comma separated (MultiFernet).
        self.ENCRYPTION_KEYS = _encryption_keys()
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL
        self.RATELIMIT_STRATEGY = "fixed-window"
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
        # The public calendar feed (a secret address): calendar apps read it every few minutes at most.
        self.CALENDAR_FEED_RATE_LIMIT = os.environ.get("CALENDAR_FEED_RATE_LIMIT", "60 per minute")
        # Requests one API token may make (Flask-Limiter's notation); past it, 429 with Retry-After.
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
        # M in the process automations panel's "N of M active" (an admin may change it in Settings).
        self.PROCESS_AUTOMATIONS_ACTIVE_LIMIT = int(os.environ.get("PROCESS_AUTOMATIONS_ACTIVE_LIMIT", "10"))
        # The largest file an admin attaches to a "Schedule activity" action (engine/uploads.py).
        self.UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", 5 * 1024 * 1024))
        # An opportunity import's file (CSV or XLSX), read whole into memory: the same bound as other uploads.
        self.IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", self.UPLOAD_MAX_BYTES))
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", production)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.PERMANENT_SESSION_LIFETIME = 8 * 3600
        self.BABEL_DEFAULT_LOCALE = "en"
        self.BABEL_DEFAULT_TIMEZONE = os.environ.get("OPPFLOW_TIMEZONE", "Europe/Rome")
        self.LANGUAGES = ("it", "es", "en")
        self.CURRENCY = os.environ.get("OPPFLOW_CURRENCY", "EUR")
        self.PER_PAGE = 20
        self.MAX_CONTENT_LENGTH = 8 * 1024 * 1024
        self.RQ_QUEUE = os.environ.get("RQ_QUEUE", "oppflow")
        # Engine (SPEC §4): retries, leases, sweeper, chain guard.
        self.ENGINE_MAX_ATTEMPTS = int(os.environ.get("ENGINE_MAX_ATTEMPTS", "5"))
        self.ENGINE_BACKOFF_BASE = float(os.environ.get("ENGINE_BACKOFF_BASE", "30"))
        self.ENGINE_BACKOFF_MAX = float(os.environ.get("ENGINE_BACKOFF_MAX", "3600"))
        self.ENGINE_LEASE_SECONDS = float(os.environ.get("ENGINE_LEASE_SECONDS", "300"))
        self.ENGINE_JOB_TIMEOUT = int(os.environ.get("ENGINE_JOB_TIMEOUT", "600"))
        self.ENGINE_SWEEP_INTERVAL = float(os.environ.get("ENGINE_SWEEP_INTERVAL", "0.5"))
        self.ENGINE_REQUEUE_GRACE = float(os.environ.get("ENGINE_REQUEUE_GRACE", "10"))
        self.ENGINE_CHAIN_DEPTH = int(os.environ.get("ENGINE_CHAIN_DEPTH", "10"))
        # Outbound webhooks (engine.webhooks_out): the waits between attempts in seconds (attempts = waits
        # + 1), the connect and read timeout, and how long a claimed delivery is held.
        self.WEBHOOK_BACKOFF = os.environ.get("WEBHOOK_BACKOFF", "30,120,600,3600,21600")
        self.WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "5"))
        self.WEBHOOK_LEASE_SECONDS = float(os.environ.get("WEBHOOK_LEASE_SECONDS", "60"))
        # User-written templates (engine.template_child): time, characters and memory one render may use.
        self.TEMPLATE_SECONDS = float(os.environ.get("TEMPLATE_SECONDS", "1.0"))
        self.TEMPLATE_MAX_OUTPUT = int(os.environ.get("TEMPLATE_MAX_OUTPUT", "2000000"))
        self.TEMPLATE_MEMORY = int(os.environ.get("TEMPLATE_MEMORY", str(96 * 1024 * 1024)))
        # Report PDFs (engine.pdf_child): time and memory one layout may use.
        self.PDF_SECONDS = float(os.environ.get("PDF_SECONDS", "60"))
        self.PDF_MEMORY = int(os.environ.get("PDF_MEMORY", str(512 * 1024 * 1024)))
        # Email (SPEC A5, S1): size limit of one message with its attachments, SMTP timeouts, extra CA.
        self.MAIL_MAX_BYTES = int(os.environ.get("MAIL_MAX_BYTES", str(10 * 1024 * 1024)))
        self.MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "30"))
        self.MAIL_TEST_TIMEOUT = float(os.environ.get("MAIL_TEST_TIMEOUT", "8"))
        self.MAIL_CA_FILE = os.environ.get("MAIL_CA_FILE") or None
        # How long a worker keeps an SMTP session open for the next run through the same credentials (0: not
        # kept; engine.smtp_kept).
        self.MAIL_KEEP_SECONDS = float(os.environ.get("MAIL_KEEP_SECONDS", "20"))
        # Reports and exports that were sent, kept for download (SPEC A6, A9).
        self.FILES_DIR = os.environ.get("FILES_DIR") or str(INSTANCE_DIR / "files")
        self.EXPORT_MAX_ROWS = int(os.environ.get("EXPORT_MAX_ROWS", "10000"))
        self.OPPFLOW_KIND_PLUGINS = os.environ.get("OPPFLOW_KIND_PLUGINS", "")
        # The address users and signers reach this app at: links in emails and the provider's callback URL.
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
        # E-signature provider used until an admin chooses one in Settings → Electronic signature ('' = off).
        self.ESIGN_PROVIDER = os.environ.get("ESIGN_PROVIDER", "simulator")
