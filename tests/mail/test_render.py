"""Rendering (engine.render) and MIME building (engine.mail), without a server."""

from email import message_from_bytes, policy

from flask_babel import force_locale

from engine import render
from engine.mail import Attachment, Letter, Sender, build, new_message_id
from engine.recipients import Recipient


def test_missing_values_render_empty_and_values_are_escaped_in_html_only(app, make):
    with app.test_request_context():
        customer = make.customer(name="Ann & <Bob>", email=None, language="en")
        opp = make.opportunity(customer=customer)
        values = render.context(opp, Recipient("client", "", customer.name, "en"))
        assert render.render("[{{ installer.name }}|{{ client.email }}|{{ nothing.at.all }}]", values, html=True) == "[||]"
        assert render.render("{{ client.name }}", values, html=True) == "Ann &amp; &lt;Bob&gt;"
        assert render.render_subject("Hi {{ client.name }}\r\nBcc: x@evil.example", values) == \
            "Hi Ann & <Bob> Bcc: x@evil.example"  # one line: no header injection


def test_context_is_formatted_in_the_forced_locale(app, make):
    with app.test_request_context():
        opp = make.opportunity(amount=1234.5)
        with force_locale("it"):
            assert render.context(opp)["opportunity"]["amount"] == "1.234,50\xa0€"
        with force_locale("en"):
            assert render.context(opp)["opportunity"]["amount"] == "€1,234.50"


def test_placeholders_list_matches_the_context(app, make):
    with app.test_request_context():
        values = render.context(make.opportunity(), Recipient("client", "a@b.example", "A", "en"))
        for code, _description in render.placeholders():
            group, key = code.strip("{} ").split(".")
            assert key in values[group]


def test_html_to_text():
    html = ("<style>p{color:red}</style><h1>Title</h1><p>Hello <b>Mario</b>,<br>see "
            "<a href='https://x.example/a'>the page</a>.</p><ul><li>one</li><li>two</li></ul>")
    assert render.html_to_text(html) == "Title\n\nHello Mario,\nsee the page (https://x.example/a).\n\n- one\n- two\n"


def test_mime_alternative_with_attachment_and_message_id(app):
    with app.app_context():
        sender = Sender("h", 25, "none", None, None, "noreply@oppflow.example", "Oppflow Vendite")
        letter = Letter("mario@example.it", "Mario Rossì", "Oggetto è", "<p>Ciao</p>", "Ciao\n", "it",
                        [Attachment("offerta.pdf", b"%PDF-1.4 test", "application/pdf")])
        message_id = new_message_id(sender.from_address)
        assert message_id.endswith("@oppflow.example>")
        msg = message_from_bytes(build(sender, letter, message_id).as_bytes(), policy=policy.default)
        assert msg.get_content_type() == "multipart/mixed" and msg["Message-ID"] == message_id
        assert msg["Subject"] == "Oggetto è" and msg["To"].addresses[0].display_name == "Mario Rossì"
        assert msg.get_body(("plain",)).get_content().strip() == "Ciao"
        assert msg.get_body(("html",)).get_content().strip() == "<p>Ciao</p>"
        (attachment,) = msg.iter_attachments()
        assert attachment.get_filename() == "offerta.pdf" and attachment.get_content() == b"%PDF-1.4 test"
