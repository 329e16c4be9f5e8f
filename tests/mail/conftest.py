"""A real SMTP server on loopback for the email tests (aiosmtpd): plain, STARTTLS or implicit TLS, with
or without AUTH, a self-signed certificate made at test time, and every message parsed on arrival.

- `tls_files` (session): (cert, key) paths; the certificate names 127.0.0.1 and localhost.
- `smtp_server(security="none", auth=False, refuse=None, idle_timeout=300)`: start a server; `.port`,
  `.messages` (parsed email.message.EmailMessage objects, with `.envelope_to`), `.wait_for(n)`,
  `.sink.greetings` / `.sink.goodbyes` (EHLOs and QUITs heard); it closes a session idle `idle_timeout`
  seconds; stopped after the test.
  `auth=True` accepts USER/PASSWORD only; `refuse={"addr": "550 5.1.1 No such user"}` refuses recipients;
  `.sink.hold.set()` keeps clients waiting for the answer to DATA (a worker can be killed mid-send).
- `mail_app`: the engine app trusting the test certificate, with short SMTP timeouts.
- `free_port()`: a loopback port nobody listens on (SMTP down).
"""

import asyncio
import datetime
import ipaddress
import ssl
import threading
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine import smtp_kept
from tests.conftest import _free_port

USER, PASSWORD = "mailer", "s3cret-smtp-pass"


def free_port() -> int:
    return _free_port()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost, generated with `cryptography`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oppflow test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


class Sink:
    """aiosmtpd handler: keeps each accepted message, parsed; refuses the recipients it is told to."""

    def __init__(self, refuse: dict | None = None) -> None:
        self.messages = []
        self.refuse = {k.lower(): v for k, v in (refuse or {}).items()}
        self.lock = threading.Lock()
        self.hold = threading.Event()  # set: keep the client waiting for the answer to DATA
        self.in_data = threading.Event()
        self.greetings = 0  # EHLOs: one per session, two with STARTTLS (engine.smtp_kept)
        self.goodbyes = 0  # QUITs

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # what aiosmtpd does itself when there is no hook
        with self.lock:
            self.greetings += 1
        return responses

    async def handle_QUIT(self, server, session, envelope):
        with self.lock:
            self.goodbyes += 1
        return "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        msg.envelope_to = list(envelope.rcpt_tos)
        msg.envelope_from = envelope.mail_from
        with self.lock:
            self.messages.append(msg)  # taken: a held answer models a 250 the client never hears
        self.in_data.set()
        while self.hold.is_set():
            await asyncio.sleep(0.05)
        return "250 2.0.0 Message accepted"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and \
        auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class Server:
    def __init__(self, controller: Controller, sink: Sink, security: str) -> None:
        self.controller, self.sink, self.security = controller, sink, security
        self.port = controller.port

    @property
    def messages(self):
        with self.sink.lock:
            return list(self.sink.messages)

    def wait_for(self, count: int, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server(tls_files):
    started = []

    def start(security: str = "none", auth: bool = False, refuse: dict | None = None,
              idle_timeout: float = 300) -> Server:
        sink = Sink(refuse)
        kwargs = {"hostname": "127.0.0.1", "port": free_port(), "server_hostname": "oppflow-test-smtp",
                  "ready_timeout": 10, "timeout": idle_timeout}
        if security in ("starttls", "tls"):
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls_files)
            kwargs["tls_context" if security == "starttls" else "ssl_context"] = context
        if auth:
            # AUTH over plain text is allowed here (auth_require_tls=False) so that "none" can be tested too.
            kwargs.update(authenticator=_authenticator, auth_require_tls=security == "starttls",
                          auth_required=security == "starttls")
        controller = Controller(sink, loop=asyncio.new_event_loop(), **kwargs)
        controller.start()
        server = Server(controller, sink, security)
        started.append(server)
        return server

    yield start
    # Sessions this process kept for a next run (engine.smtp_kept) end before their servers do, as a worker's
    # end them when it stops: a server stopped under an open session leaves its side of it unclosed.
    smtp_kept.close_all()
    for server in started:
        server.stop()


@pytest.fixture
def mail_app(engine_app, tls_files):
    """The engine app trusting the test certificate, with SMTP timeouts short enough for tests."""
    engine_app.config.update({"MAIL_CA_FILE": tls_files[0], "MAIL_TIMEOUT": 5, "MAIL_TEST_TIMEOUT": 3})
    return engine_app


def worker_env(app) -> dict:
    """What a worker process needs besides the engine settings: the same keys, CA and timeouts."""
    return {"OPPFLOW_ENCRYPTION_KEYS": app.config["ENCRYPTION_KEYS"], "MAIL_CA_FILE": app.config["MAIL_CA_FILE"],
            "MAIL_TIMEOUT": app.config["MAIL_TIMEOUT"], "MAIL_MAX_BYTES": app.config["MAIL_MAX_BYTES"]}
