"""Alerts reach people: a JSON webhook and a Slack incoming webhook (a real HTTP receiver on
127.0.0.1) and e-mail (a real SMTP server, aiosmtpd, on 127.0.0.1); a failed run alerts, a run
waiting for review does not; a job refusing too many records raises a quality alert."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from listings_pipeline.notify import Alert, Notifier, NotifyError
from listings_pipeline.orchestration.alerts import (
    NotifierResource,
    quality_alerts,
    run_failure_alerts,
)
from listings_pipeline_tests.dagster_support import (
    execute,
    import_config,
    listings_resource,
    write_source,
)
from listings_pipeline_tests.helpers import place, write_csv


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every POSTed body."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append((self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        text = envelope.content.decode("utf-8", errors="replace")
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), text))
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:  # a free port (the controller checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_an_alert_reaches_webhook_slack_and_email(
    receiver: Receiver, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    notifier = Notifier(
        webhook_url=f"{receiver.url}/hook",
        slack_webhook_url=f"{receiver.url}/slack",
        smtp_host="127.0.0.1",
        smtp_port=port,
        email_from="pipeline@example.org",
        email_to=("ops@example.org", "data@example.org"),
    )
    alert = Alert("run_failure", "coast-csv failed", "staged_rows: disk full", link="http://x/r")
    assert notifier.send(alert) == ["webhook", "slack", "email"]
    bodies = dict(receiver.bodies)
    hook = json.loads(bodies["/hook"])
    assert (hook["kind"], hook["title"], hook["text"]) == (
        "run_failure", "coast-csv failed", "staged_rows: disk full",
    )  # fmt: skip
    assert json.loads(bodies["/slack"])["text"].startswith("*coast-csv failed*\nstaged_rows")
    ((sender, to, text),) = box.messages
    assert sender == "pipeline@example.org" and to == ["ops@example.org", "data@example.org"]
    assert "Subject: [listings-pipeline] coast-csv failed" in text and "disk full" in text


def test_one_broken_channel_does_not_silence_the_others(receiver: Receiver) -> None:
    dead = "http://127.0.0.1:9/hook"  # the discard port: connection refused
    alert = Alert("run_failure", "t", "x")
    assert Notifier(webhook_url=dead, slack_webhook_url=f"{receiver.url}/s").send(alert) == [
        "slack"
    ]
    with pytest.raises(NotifyError, match="webhook: "):
        Notifier(webhook_url=dead).send(alert)
    assert Notifier().send(alert) == []  # nothing configured: the log only


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def failure_context(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult):  # noqa: ANN201
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()


def test_a_failed_run_alerts_and_a_review_wait_does_not(
    engine: Engine,
    config_dir: Path,
    instance: dg.DagsterInstance,
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    notifier = NotifierResource(webhook_url=f"{receiver.url}/hook", dagster_url="http://ui")
    write_source(config_dir, "alpha-csv")
    failed = execute(
        instance, "listings_pipeline", "alpha-csv", import_config(tmp_path / "missing.csv")
    )
    assert not failed.success
    run_failure_alerts(failure_context(instance, failed), notifier=notifier)
    ((path, body),) = receiver.bodies
    alert = json.loads(body)
    assert alert["title"] == f"listings_pipeline of alpha-csv failed (run {failed.run_id[:8]})"
    assert "input file not found" in alert["text"]
    assert alert["link"] == f"http://ui/runs/{failed.run_id}"

    # A job waiting for review ends its run successfully: no failure, so nothing to alert.
    first = write_csv(tmp_path / "a.csv", [place(1), place(2)])
    assert execute(instance, "listings_pipeline", "alpha-csv", import_config(first)).success
    second = write_csv(tmp_path / "b.csv", [place(1)])
    waiting = execute(instance, "listings_pipeline", "alpha-csv", import_config(second))
    assert waiting.success
    assert waiting.dagster_run.status == dg.DagsterRunStatus.SUCCESS  # no failure sensor fires


def test_a_job_refusing_many_records_raises_a_quality_alert(
    engine: Engine,
    config_dir: Path,
    instance: dg.DagsterInstance,
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    notifier = NotifierResource(webhook_url=f"{receiver.url}/hook", max_error_share=0.2)
    resources = {"listings": listings_resource(), "notifier": notifier}
    write_source(config_dir, "alpha-csv")

    def tick(cursor: str | None) -> dg.SensorEvaluationContext:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        quality_alerts(context)
        return context

    first = tick(None)  # starts watching from the latest job: history is not alerted
    assert first.cursor == "0" and receiver.bodies == []
    # 2 of 4 records have no source id: 50% refused, over the 20% threshold.
    rows = [place(1), place(2), place(3, ID=""), place(4, ID="")]
    assert execute(
        instance,
        "listings_pipeline",
        "alpha-csv",
        import_config(write_csv(tmp_path / "a.csv", rows)),
    ).success
    second = tick(first.cursor)
    ((_, body),) = receiver.bodies
    alert = json.loads(body)
    assert alert["kind"] == "error_share"
    assert alert["title"] == "alpha-csv: 2 of 4 records refused (job 1)"
    tick(second.cursor)
    assert len(receiver.bodies) == 1  # each job is looked at once
