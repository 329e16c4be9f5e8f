"""SMTP sending (SPEC A5, S1, E8): the MIME message, the connection, and what a failure means.

No database here: `engine.outbox` records what is sent for an action run; the settings page's "Test
connection" uses `test_connection`. Failures come out as engine errors, in plain words: connection
refused, timeouts, disconnections and 4xx answers are TransientError (retried with backoff); a refused
login, TLS failures, 5xx answers and oversize messages are PermanentError (no retry storm). No message
ever contains the password.
"""

from __future__ import annotations

import functools
import io
import smtplib
import socket
import ssl
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid

from flask import current_app
from flask_babel import gettext as _

from engine import smtp_kept
from engine.errors import PermanentError, TransientError


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass
class Letter:
    """One message to one recipient, already rendered in the recipient's language."""

    to: str
    to_name: str
    subject: str
    html: str
    text: str
    language: str
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Sender:
    """SMTP credentials with the password decrypted, kept only for the duration of a send."""

    host: str
    port: int
    security: str  # none | starttls | tls
    username: str | None
    password: str | None = field(repr=False)
    from_address: str
    from_name: str | None

    @classmethod
    def from_credential(cls, cred, password: str | None = None) -> Sender:
        """From an SmtpCredential; `password` overrides the stored one (testing a form before saving)."""
        if password is None and cred.password_encrypted:
            password = _stored_password(cred.password_encrypted)
        return cls(cred.host, int(cred.port), cred.security, cred.username or None, password,
                   cred.from_address, cred.from_name)


# Decrypted passwords of this process, keyed on (configured keys, stored token). A changed password is a
# new token (Fernet tokens carry a fresh IV and timestamp; rotate-keys writes new ones too), so an edit
# in Settings takes effect at the next run with no invalidation; removing a key changes the first half of
# the key, so a token no configured key opens still fails. Saves a Fernet decryption per message.
_PASSWORDS: dict[tuple[str, str], str] = {}
_PASSWORDS_MAX = 64
_passwords_lock = threading.Lock()


def _stored_password(token: str) -> str:
    from services.secrets import decrypt

    key = (current_app.config["ENCRYPTION_KEYS"], token)
    password = _PASSWORDS.get(key)
    if password is None:
        password = decrypt(token)  # a SecretError is not cached: the next run tries again
        with _passwords_lock:
            if len(_PASSWORDS) >= _PASSWORDS_MAX:
                _PASSWORDS.clear()
            _PASSWORDS[key] = password
    return password


def new_message_id(from_address: str) -> str:
    """A Message-ID in the sender's domain, made before sending so that it can be recorded first."""
    domain = from_address.rpartition("@")[2] or None
    return make_msgid(domain=domain)


def _address(name: str | None, address: str) -> Address:
    try:
        return Address(display_name=name or "", addr_spec=address.strip())
    except (ValueError, IndexError) as err:
        raise PermanentError(_("“%(address)s” is not a valid email address.", address=address)) from err


def build(sender: Sender, letter: Letter, message_id: str) -> EmailMessage:
    """The MIME message: text and HTML alternatives, then any attachments (multipart/mixed)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = letter.subject
    msg["From"] = _address(sender.from_name, sender.from_address)
    msg["To"] = _address(letter.to_name, letter.to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to automatic mail
    msg.set_content(letter.text)
    msg.add_alternative(letter.html, subtype="html")
    msg["Content-Language"] = letter.language  # after the content: setting it clears Content-* headers
    for item in letter.attachments:
        maintype, _sep, subtype = item.content_type.partition("/")
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=item.filename)
    return msg


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def encode(msg: EmailMessage) -> bytes:
    """The message as it goes over the wire (CRLF line ends, as smtplib's send_message writes it),
    serialised once: its size is checked on these bytes and the same bytes are sent."""
    out = io.BytesIO()
    BytesGenerator(out).flatten(msg, linesep="\r\n")
    return out.getvalue()


def check_size(msg: EmailMessage, data: bytes | None = None) -> int:
    """The message's size in bytes; over MAIL_MAX_BYTES it is a PermanentError (it would never go)."""
    size = len(data if data is not None else encode(msg))
    limit = current_app.config["MAIL_MAX_BYTES"]
    if size > limit:
        raise PermanentError(_("The email to %(to)s is %(size)s with its attachments, over the limit of "
                               "%(limit)s (MAIL_MAX_BYTES): it was not sent.",
                               to=msg["To"].addresses[0].addr_spec, size=_mb(size), limit=_mb(limit)))
    return size


class _Greeting:
    """Keeps the server's connection greeting (smtplib drops it) for the test-connection report."""

    greeting = ""

    def connect(self, host="localhost", port=0, source_address=None):
        self._host = host  # STARTTLS and implicit TLS check the certificate against it
        code, msg = super().connect(host, port, source_address)
        self.greeting = f"{code} {msg.decode(errors='replace')}"
        if code != 220:
            raise smtplib.SMTPConnectError(code, msg)
        return code, msg


class _SMTP(_Greeting, smtplib.SMTP):
    pass


class _SMTP_SSL(_Greeting, smtplib.SMTP_SSL):
    pass


@functools.cache
def _local_hostname() -> str:
    """The name this host gives in EHLO, looked up once per process: smtplib would ask the resolver again
    (socket.getfqdn) for every connection, i.e. for every email a worker sends."""
    return socket.getfqdn()


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


_background: ThreadPoolExecutor | None = None
_background_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """Two threads per process for what a sending job need not wait on: the handshake while the job commits
    its `sending` mark (Connection.open_soon), the QUIT after the last message (close_soon). Made on first use
    (not at import: web processes rarely need it); a process ending waits for them at most MAIL_TIMEOUT."""
    global _background
    with _background_lock:
        if _background is None:
            _background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="oppflow-smtp")
        return _background


class Connection:
    """An open, secured and authenticated SMTP session; every failure is raised classified."""

    def __init__(self, sender: Sender, timeout: float | None = None) -> None:
        self.sender = sender
        self.timeout = timeout or current_app.config["MAIL_TIMEOUT"]
        self.ca_file = current_app.config.get("MAIL_CA_FILE")  # read here: _open may run in another thread
        self.keep_seconds = current_app.config["MAIL_KEEP_SECONDS"]
        self.smtp: smtplib.SMTP | None = None
        self.steps: list[str] = []
        self._handshake: Future | None = None
        self.sent = 0  # messages over this session, kept ones included (engine.smtp_kept.KEEP_MESSAGES)
        self.failed = False  # a send failed: the session is not kept

    def _open(self) -> None:
        """Connect, say EHLO, secure and log in, raising what smtplib or the network raise (no app needed)."""
        s = self.sender
        if s.security == "tls":
            self.smtp = _SMTP_SSL(local_hostname=_local_hostname(), timeout=self.timeout,
                                  context=_tls_context(self.ca_file))
        else:
            self.smtp = _SMTP(local_hostname=_local_hostname(), timeout=self.timeout)
        self.smtp.connect(s.host, s.port)
        self.smtp.ehlo()
        if s.security == "starttls":
            self.smtp.starttls(context=_tls_context(self.ca_file))
            self.smtp.ehlo()
        if s.username:
            self.smtp.login(s.username, s.password or "")

    def __enter__(self) -> Connection:
        return self.opened()

    def open_soon(self) -> None:
        """Start the handshake (greeting, EHLO, TLS, login) in a background thread, so that it goes on while
        the caller does what must come first (engine.outbox: commit the `sending` mark); opened() then waits
        for it, close_soon() keeps the session for the next run (engine.smtp_kept) or closes it. A session
        kept from an earlier run through the same credentials is taken instead, once it answers NOOP."""
        self._handshake = _pool().submit(self._resume_or_open)

    def _resume_or_open(self) -> None:
        kept = smtp_kept.take(self.sender, self.keep_seconds)
        if kept is not None and smtp_kept.check(kept, self.timeout):
            self.smtp, self.sent = kept.smtp, kept.sent
            return
        self._open()

    def opened(self) -> Connection:
        """The connection once open (the handshake open_soon started, or else made now); a failure is raised
        classified, the connection closed."""
        try:
            if self._handshake is None:
                self._open()
            else:
                self._handshake.result()
        except Exception as err:
            self.close()
            raise classify(err, self.sender, self.timeout) from None
        return self

    def close_soon(self) -> None:
        """Keep the session for the next run (engine.smtp_kept) if every message on it was accepted, or else
        say QUIT in the background (once a handshake still going on ends): the job need not wait for the
        server's goodbye."""
        if self._handshake is not None and not self._handshake.done():
            self._handshake.add_done_callback(lambda _done: self.close())
        elif self.smtp is not None:
            healthy = not self.failed and (self._handshake is None or self._handshake.exception() is None)
            if healthy and smtp_kept.put(self.sender, self.smtp, self.sent, self.keep_seconds):
                self.smtp = None
                return
            _pool().submit(self.close)

    def send(self, msg: EmailMessage, to: str, data: bytes | None = None) -> None:
        """Send one message (`data`: its bytes from encode(), so it is not serialised again); raises
        TransientError or PermanentError when it was not accepted."""
        from_address = self.sender.from_address
        try:
            if data is not None and from_address.isascii() and to.isascii():
                self.smtp.sendmail(from_address, [to], data)
            else:  # an internationalised address needs SMTPUTF8, which send_message negotiates
                self.smtp.send_message(msg, from_addr=from_address, to_addrs=[to])
        except Exception as err:
            self.failed = True
            raise classify(err, self.sender, self.timeout) from None
        self.sent += 1

    @property
    def greeting(self) -> str:
        return getattr(self.smtp, "greeting", "")

    @property
    def tls_version(self) -> str | None:
        sock = getattr(self.smtp, "sock", None)
        return sock.version() if isinstance(sock, ssl.SSLSocket) else None

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()
        self.smtp = None

    def __exit__(self, *exc) -> None:
        self.close()


def _answer(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return f"{code} {text}".strip()


def classify(err: Exception, sender: Sender, timeout: float) -> Exception:
    """An SMTP or network exception as TransientError or PermanentError, in plain words."""
    where = f"{sender.host}:{sender.port}"
    if isinstance(err, (TransientError, PermanentError)):
        return err
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return PermanentError(_("Authentication failed: the server answered %(answer)s.",
                                answer=_answer(err.smtp_code, err.smtp_error)))
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        answers = list(err.recipients.values())
        text = "; ".join(_answer(code, msg) for code, msg in answers)
        message = _("The server refused the recipient %(to)s: %(answer)s.",
                    to=", ".join(err.recipients), answer=text)
        return TransientError(message) if all(400 <= c < 500 for c, _m in answers) else PermanentError(message)
    if isinstance(err, smtplib.SMTPNotSupportedError):
        return PermanentError(_("The server at %(where)s does not support what the credentials ask for: "
                                "%(error)s", where=where, error=str(err)))
    if isinstance(err, smtplib.SMTPResponseException):
        message = _("The server at %(where)s answered %(answer)s.", where=where,
                    answer=_answer(err.smtp_code, err.smtp_error))
        return TransientError(message) if 400 <= err.smtp_code < 500 else PermanentError(message)
    if isinstance(err, smtplib.SMTPServerDisconnected) and isinstance(err.__context__, TimeoutError):
        err = err.__context__  # smtplib reports a read timeout as a disconnection
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return TransientError(_("The server at %(where)s closed the connection unexpectedly.", where=where))
    if isinstance(err, (ssl.SSLError, ssl.CertificateError)):
        return PermanentError(_("TLS failure with %(where)s: %(reason)s.", where=where,
                                reason=getattr(err, "verify_message", None) or getattr(err, "reason", None) or err))
    if isinstance(err, ConnectionRefusedError):
        return TransientError(_("Connection refused by %(where)s: is the server running and the port right?",
                                where=where))
    if isinstance(err, TimeoutError):
        return TransientError(_("No answer from %(where)s within %(seconds)s seconds (timeout).",
                                where=where, seconds=f"{timeout:g}"))
    if isinstance(err, socket.gaierror):
        return TransientError(_("The host name %(host)s could not be resolved.", host=sender.host))
    if isinstance(err, OSError):
        return TransientError(_("Could not connect to %(where)s: %(error)s.", where=where,
                                error=err.strerror or err))
    if isinstance(err, smtplib.SMTPException):
        return PermanentError(_("SMTP error with %(where)s: %(error)s", where=where, error=str(err)))
    return err


@dataclass
class TestReport:
    ok: bool
    message: str
    steps: list[str] = field(default_factory=list)


def test_connection(sender: Sender) -> TestReport:
    """Connect, secure and authenticate as the credentials say, with a short timeout; report in plain words."""
    timeout = current_app.config["MAIL_TEST_TIMEOUT"]
    try:
        with Connection(sender, timeout=timeout) as conn:
            steps = [_("Connected to %(where)s.", where=f"{sender.host}:{sender.port}")]
            if conn.tls_version:
                steps.append(_("Encrypted with %(version)s.", version=conn.tls_version))
            if sender.username:
                steps.append(_("Authenticated as %(user)s.", user=sender.username))
            else:
                steps.append(_("No username set: sending without authentication."))
            return TestReport(True, _("The server greeted us with: %(greeting)s", greeting=conn.greeting), steps)
    except (TransientError, PermanentError) as err:
        return TestReport(False, str(err))
