"""Email and PDF figures (issue 5): emails/s through the whole pipeline — runs of a send-email action
through real workers to an aiosmtpd sink on loopback — against plain smtplib to the same sink in the same
run, and xhtml2pdf render time per page for 1 and 10 pages.

    .venv/bin/python bench/comms.py [--pg postgresql://…] [--database-url URL] [--emails 300] [--workers 2]
                                    [--rounds 3]

SQLite first, then PostgreSQL when --pg (default TEST_DATABASE_URL) is given, its figures prefixed pg_
(pg_emails_ratio, pg_pipeline_emails_per_s, …); --database-url measures that one database alone.

The smtplib baseline sends the same messages as the pipeline does, rendered with engine.render.compose and
built with engine.mail.build, one connection per message, as a script sending them one by one would (and as
the pipeline did until its workers kept their SMTP sessions between runs: engine/smtp_kept.py). For
comparison the same messages over one kept connection are timed once per round too
(smtplib_kept_emails_per_s; not in the ratio). The two alternate:
each round runs the pipeline on fresh opportunities, stops the workers, then the baseline, so both meet
the same load on a shared machine; emails_ratio is the median of the rounds' ratios. Both are measured
warm: each round first sends a few untimed emails through the freshly started workers (a worker's first
job imports and compiles what later jobs reuse) and a few untimed ones through smtplib. Ends with one JSON
line: emails_ratio (pipeline / smtplib), pg_emails_ratio, pdf_ms_per_page_1, pdf_ms_per_page_10 (plus the
raw rates).
"""

import argparse
import io
import json
import os
import smtplib
import statistics
import threading
import time

from support import engine_bench, free_port


class Sink:
    """Counts the messages the loopback server accepts."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.count += 1
        return "250 OK"


def build(emails: int):
    """A flow whose first substate sends an email to the client on open, and `emails` opportunities (a
    list of them per round)."""
    from extensions import db
    from models import (
        Action,
        Channel,
        Customer,
        EmailTemplate,
        Opportunity,
        OpportunityType,
        SmtpCredential,
        State,
        Substate,
    )

    db.create_all()
    flow = OpportunityType(name="Bench flow", name_i18n={})
    state = State(name="S", name_i18n={}, position=0)
    sub = Substate(name="S1", name_i18n={}, position=0)
    state.substates.append(sub)
    flow.states.append(state)
    channel, customer = Channel(name="Web"), Customer(name="Mario Rossi", email="mario@example.it", language="it")
    template = EmailTemplate(name="Bench", subjects={"it": "Offerta {{ opportunity.name }}"},
                             bodies={"it": "<p>Gentile {{ client.name }}, {{ opportunity.amount }}.</p>"})
    cred = SmtpCredential(name="Sink", host="127.0.0.1", port=0, security="none", from_address="bench@example.com")
    db.session.add_all([flow, channel, customer, template, cred])
    db.session.flush()
    db.session.add(Action(substate=sub, group="on_open", kind="send_email", position=0, enabled=True,
                          config={"email_template_id": template.id, "smtp_credential_id": cred.id,
                                  "recipient": "client", "extra_user_ids": []}))
    opps = [Opportunity(name=f"Impianto {i}", type=flow, channel=channel, customer=customer, amount=1000 + i)
            for i in range(emails)]
    db.session.add_all(opps)
    db.session.commit()
    return cred, sub, [o.id for o in opps], template


def pipeline(sub, ids: list[int], sink: Sink) -> float:
    """Emails/s: every opportunity's substate opened at once; until the sink has them all."""
    from extensions import db
    from models import Opportunity
    from services.substates import open_substate

    for oid in ids:
        open_substate(db.session.get(Opportunity, oid), sub.id, None)
    before = sink.count
    start = time.perf_counter()
    db.session.commit()  # enqueues every run
    deadline = time.time() + 300
    while sink.count - before < len(ids) and time.time() < deadline:
        time.sleep(0.01)
    return (sink.count - before) / (time.perf_counter() - start)


def plain(cred, template, port: int, count: int, sink: Sink, kept: bool = False) -> float:
    """Emails/s with smtplib alone: the same rendered message, one connection per message (`kept`: all over
    one connection)."""
    from engine import render
    from engine.mail import Sender, build, new_message_id
    from engine.recipients import Recipient
    from extensions import db
    from models import Opportunity

    opp = db.session.execute(db.select(Opportunity)).scalars().first()
    person = Recipient("client", "mario@example.it", "Mario Rossi", "it")
    sender = Sender("127.0.0.1", port, "none", None, None, cred.from_address, None)
    before = sink.count
    start = time.perf_counter()
    session = smtplib.SMTP("127.0.0.1", port) if kept else None
    for _ in range(count):
        msg = build(sender, render.compose(template, opp, person), new_message_id(cred.from_address))
        if session is not None:
            session.send_message(msg)
            continue
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(msg)
    if session is not None:
        session.quit()
    elapsed = time.perf_counter() - start
    assert sink.count - before == count
    return count / elapsed


def pdf_ms_per_page(pages: int, repeat: int = 5) -> float:
    """Median milliseconds per page for a report of `pages` pages with placeholders and a table."""
    from pypdf import PdfReader

    from engine import pdf
    from extensions import db
    from models import Opportunity, ReportTemplate

    section = ("<h1>{{ opportunity.name }}</h1><p>{{ client.name }} — {{ opportunity.amount }}</p>"
               "<table>" + "".join(f"<tr><td>Row {i}</td><td>{{{{ client.name }}}}</td><td>{i * 10}</td></tr>"
                                   for i in range(25)) + "</table>")
    html = "<div style='page-break-after: always'>" + section + "</div>"
    template = ReportTemplate(label="Bench", html=html * pages, css="td { padding: 2px; }", paper_size="A4")
    opp = db.session.execute(db.select(Opportunity)).scalars().first()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        content = pdf.render_report(template, opp, "it")
        times.append((time.perf_counter() - start) * 1000)
    real_pages = len(PdfReader(io.BytesIO(content)).pages)
    return statistics.median(times) / real_pages


def measure(args, queue, pool, sink: Sink, port: int, results: dict, pdf: bool = True) -> None:
    """The rounds (pipeline, then plain smtplib, each warmed up untimed) and the PDF figures, into `results`."""
    from extensions import db

    warm = 4 * args.workers
    cred, sub, ids, template = build((args.emails + warm) * args.rounds)
    cred.port = port
    db.session.commit()
    rounds = []
    for i in range(args.rounds):
        batch = ids[i * (args.emails + warm):(i + 1) * (args.emails + warm)]
        pool.start(args.workers, queue)
        pipeline(sub, batch[:warm], sink)  # warm-up, untimed
        rate = pipeline(sub, batch[warm:], sink)
        pool.stop(queue)
        plain(cred, template, port, warm, sink)  # warm-up, untimed
        base = plain(cred, template, port, args.emails, sink)
        kept = plain(cred, template, port, args.emails, sink, kept=True)
        rounds.append((rate, base, rate / base, kept))
        print(f"round {i + 1}: pipeline ({args.workers} workers) {rate:.1f} emails/s; "
              f"plain smtplib {base:.1f} emails/s; ratio {rate / base:.0%} (smtplib over one connection "
              f"{kept:.1f} emails/s)")
    results["pipeline_emails_per_s"] = round(statistics.median(r[0] for r in rounds), 1)
    results["smtplib_emails_per_s"] = round(statistics.median(r[1] for r in rounds), 1)
    results["emails_ratio"] = round(statistics.median(r[2] for r in rounds), 3)
    results["emails_ratio_rounds"] = [round(r[2], 3) for r in rounds]
    results["smtplib_kept_emails_per_s"] = round(statistics.median(r[3] for r in rounds), 1)
    print(f"median: pipeline {results['pipeline_emails_per_s']} emails/s; "
          f"plain smtplib: {results['smtplib_emails_per_s']} emails/s; ratio {results['emails_ratio']:.0%}")
    if not pdf:  # the same on every backend: measured once
        return
    results["pdf_ms_per_page_1"] = round(pdf_ms_per_page(1), 1)
    results["pdf_ms_per_page_10"] = round(pdf_ms_per_page(10), 1)
    print(f"PDF: {results['pdf_ms_per_page_1']} ms/page (1 page), "
          f"{results['pdf_ms_per_page_10']} ms/page (10 pages)")


def run_backend(args, database_arg: str | None, pdf: bool) -> dict:
    """The email rounds (and the PDF figures when `pdf`) on one backend: SQLite, or PostgreSQL's URL."""
    from aiosmtpd.controller import Controller

    results = {}
    with engine_bench(database_arg) as (app, queue, pool):
        sink = Sink()
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            with app.app_context():
                measure(args, queue, pool, sink, port, results, pdf)
        finally:
            controller.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="one backend only (default: SQLite, then --pg)")
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL measured after SQLite, figures prefixed pg_ (default: TEST_DATABASE_URL)")
    parser.add_argument("--emails", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    if args.database_url:
        results = run_backend(args, args.database_url, pdf=True)
    else:
        print("SQLite:")
        results = run_backend(args, None, pdf=True)
        if args.pg:
            print("PostgreSQL:")
            results.update({f"pg_{name}": value for name, value in run_backend(args, args.pg, pdf=False).items()})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
