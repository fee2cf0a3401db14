"""Alerts: failed runs (run_failure_sensor) and data that looks wrong (quality_alerts_sensor),
sent through the configured notifier (listings_pipeline.notify). A run that stops for review is
not a failure and alerts nobody."""

import os

import dagster as dg
from pydantic import Field

from listings_pipeline import quality
from listings_pipeline.notify import Alert, Notifier
from listings_pipeline.orchestration.resources import ListingsResource

WILL_RETRY_TAG = "dagster/will_retry"
INTERVAL = 30
# The notifier's settings as they appear in the UI: configured channels show their variable.
ENV = {
    "webhook_url": "LISTINGS_ALERT_WEBHOOK_URL",
    "slack_webhook_url": "LISTINGS_ALERT_SLACK_WEBHOOK_URL",
    "smtp_host": "LISTINGS_ALERT_SMTP_HOST",
    "smtp_user": "LISTINGS_ALERT_SMTP_USER",
    "smtp_password": "LISTINGS_ALERT_SMTP_PASSWORD",
    "email_from": "LISTINGS_ALERT_EMAIL_FROM",
    "email_to": "LISTINGS_ALERT_EMAIL_TO",
}


class NotifierResource(dg.ConfigurableResource):
    """Where alerts go: a JSON webhook, a Slack incoming webhook, e-mail (any or none)."""

    webhook_url: str | None = Field(None, description="POSTs each alert as JSON.")
    slack_webhook_url: str | None = Field(None, description="A Slack incoming-webhook URL.")
    smtp_host: str | None = Field(None, description="SMTP server for e-mail alerts.")
    smtp_port: int = Field(25, description="SMTP port.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_from: str | None = None
    email_to: str | None = Field(None, description="Comma-separated recipients.")
    dagster_url: str = Field(
        "http://127.0.0.1:3000", description="Base URL of the Dagster UI, for links in alerts."
    )
    max_error_share: float = Field(
        0.05, description="Alert when a job refuses more than this share of its records."
    )

    def notifier(self) -> Notifier:
        return Notifier(
            webhook_url=self.webhook_url,
            slack_webhook_url=self.slack_webhook_url,
            smtp_host=self.smtp_host,
            smtp_port=self.smtp_port,
            smtp_user=self.smtp_user,
            smtp_password=self.smtp_password,
            smtp_starttls=self.smtp_starttls,
            email_from=self.email_from,
            email_to=tuple(a.strip() for a in (self.email_to or "").split(",") if a.strip()),
        )


def notifier_from_env() -> NotifierResource:
    """The resource with each setting present in the environment read from it at run time
    (dg.EnvVar: the UI shows the variable's name, never a secret's value)."""
    values: dict = {k: dg.EnvVar(v) for k, v in ENV.items() if os.environ.get(v)}
    if os.environ.get("LISTINGS_ALERT_SMTP_PORT"):
        values["smtp_port"] = dg.EnvVar.int("LISTINGS_ALERT_SMTP_PORT")
    if os.environ.get("LISTINGS_ALERT_SMTP_STARTTLS"):
        values["smtp_starttls"] = os.environ["LISTINGS_ALERT_SMTP_STARTTLS"] in ("1", "true")
    if os.environ.get("LISTINGS_DAGSTER_URL"):
        values["dagster_url"] = dg.EnvVar("LISTINGS_DAGSTER_URL")
    return NotifierResource(**values)


def _send(context: dg.SensorEvaluationContext, notifier: NotifierResource, alert: Alert) -> None:
    channels = notifier.notifier().send(alert)
    where = ", ".join(channels) if channels else "no channel configured (log only)"
    context.log.info(f"alert {alert.title!r} sent to {where}")


@dg.run_failure_sensor(
    name="run_failure_alerts",
    monitor_all_code_locations=False,
    minimum_interval_seconds=INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends an alert for every failed run (not for runs Dagster retries, and never "
    "for a run waiting for review: that is not a failure).",
)
def run_failure_alerts(context: dg.RunFailureSensorContext, notifier: NotifierResource) -> None:
    run = context.dagster_run
    if run.tags.get(WILL_RETRY_TAG) == "true":
        return
    reasons = [
        f"{event.step_key}: {event.event_specific_data.error.message.strip()}"  # type: ignore[union-attr]
        for event in context.get_step_failure_events()
        if event.event_specific_data and event.event_specific_data.error
    ]
    partition = run.tags.get("dagster/partition")
    what = f"{run.job_name}" + (f" of {partition}" if partition else "")
    alert = Alert(
        kind="run_failure",
        title=f"{what} failed (run {run.run_id[:8]})",
        text="\n".join(reasons) or (context.failure_event.message or "the run failed"),
        details={"run_id": run.run_id, "job": run.job_name, "partition": partition},
        link=f"{notifier.dagster_url.rstrip('/')}/runs/{run.run_id}",
    )
    _send(context, notifier, alert)


@dg.sensor(
    name="quality_alerts",
    minimum_interval_seconds=INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends an alert when a transformed job refused too many records "
    "(max_error_share) or is held at the review gate by a source change or a mass change.",
)
def quality_alerts(
    context: dg.SensorEvaluationContext, listings: ListingsResource, notifier: NotifierResource
) -> dg.SkipReason | None:
    after = int(context.cursor) if context.cursor and context.cursor.isdigit() else None
    engine = listings.engine()
    if after is None:  # the first tick: jobs from now on, not the whole history
        latest = quality.latest_job_id(engine)
        context.update_cursor(str(latest))
        return dg.SkipReason(f"watching the jobs after job {latest}")
    result = quality.check_jobs(engine, after, max_error_share=notifier.max_error_share)
    for alert in result.alerts:
        _send(context, notifier, alert)
    context.update_cursor(str(result.last_job_id))
    return None if result.alerts else dg.SkipReason("no job looks wrong")
