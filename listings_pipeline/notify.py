"""Alerts to people: a failed run, a source whose data looks wrong. One message, sent to every
configured channel — a JSON webhook (httpx), Slack (an incoming webhook, slack_sdk) and e-mail
(SMTP, the standard library). No channel configured: alerts only go to the log.

Settings (environment; secrets never in files): LISTINGS_ALERT_WEBHOOK_URL,
LISTINGS_ALERT_SLACK_WEBHOOK_URL, LISTINGS_ALERT_SMTP_HOST / _PORT / _USER / _PASSWORD /
_STARTTLS, LISTINGS_ALERT_EMAIL_FROM, LISTINGS_ALERT_EMAIL_TO (comma-separated).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure, error_share, source_change, mass_change, ...
    title: str
    text: str
    details: dict[str, Any] = field(default_factory=dict)
    link: str | None = None

    def body(self) -> str:
        return self.text + (f"\n{self.link}" if self.link else "")


class NotifyError(Exception):
    """Every configured channel failed (their reasons joined)."""


@dataclass(frozen=True)
class Notifier:
    webhook_url: str | None = None
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    email_from: str | None = None
    email_to: tuple[str, ...] = ()

    @property
    def channels(self) -> list[str]:
        found = []
        if self.webhook_url:
            found.append("webhook")
        if self.slack_webhook_url:
            found.append("slack")
        if self.smtp_host and self.email_to:
            found.append("email")
        return found

    def send(self, alert: Alert) -> list[str]:
        """Send `alert` to every channel; return those that took it. Raise NotifyError only
        if all of them failed (one broken channel must not silence the others)."""
        sent, problems = [], []
        for channel in self.channels:
            try:
                getattr(self, f"_{channel}")(alert)
            except Exception as err:  # a channel's own error, reported with the others
                problems.append(f"{channel}: {type(err).__name__}: {err}")
                log.warning("alert %r not sent to %s: %s", alert.title, channel, err)
            else:
                sent.append(channel)
        if problems and not sent:
            raise NotifyError("; ".join(problems))
        return sent

    def _webhook(self, alert: Alert) -> None:
        payload = {"kind": alert.kind, "title": alert.title, "text": alert.text,
                   "link": alert.link, "details": alert.details}  # fmt: skip
        response = httpx.post(self.webhook_url or "", json=payload, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()

    def _slack(self, alert: Alert) -> None:
        client = WebhookClient(self.slack_webhook_url or "", timeout=int(TIMEOUT_SECONDS))
        response = client.send(text=f"*{alert.title}*\n{alert.body()}")
        if response.status_code != 200:
            raise RuntimeError(f"Slack answered {response.status_code}: {response.body}")

    def _email(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"[listings-pipeline] {alert.title}"
        message["From"] = self.email_from or "listings-pipeline@localhost"
        message["To"] = ", ".join(self.email_to)
        message.set_content(alert.body())
        with smtplib.SMTP(self.smtp_host or "", self.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            if self.smtp_starttls:
                smtp.starttls()
            if self.smtp_user:
                smtp.login(self.smtp_user, self.smtp_password or "")
            smtp.send_message(message)
