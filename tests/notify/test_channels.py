"""Each channel against a real local receiver: what it sends, and how failures are classified."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message

import pytest

from belay.config import ConfigError
from belay.config.settings import NotificationChannel
from belay.notify import (
    AlertEvent,
    DeliveryError,
    MattermostChannel,
    OutgoingAlert,
    SlackChannel,
    SMTPChannel,
    WebhookChannel,
    build_channels,
)
from belay.redact import register_secret
from belay.webhooks import sign_standard_webhook

from .conftest import Receiver, SMTPServer

ALL = frozenset(AlertEvent)
SECRET = "s3cr3t-canary-token-value-42"
KEY = b"k" * 32


def _alert() -> OutgoingAlert:
    register_secret(SECRET)
    return OutgoingAlert(
        event=AlertEvent.deploy_failed,
        dedup_key="deploy_failed:default/guestbook@1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c",
        title="Deployment failed: guestbook at 1f2e3d4c5b6a",
        what_happened="The sync ran but the deployment failed: health is Degraded.",
        occurred_at=datetime(2026, 8, 1, 9, 0, tzinfo=UTC),
        instance="default",
        application="guestbook",
        project="default",
        revision="1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c",
        decision_id="dec-1",
        job_id="job-1",
        operation_message=f"one or more objects failed to apply (token {SECRET})",
        failed_resources=("apps/Deployment guestbook/guestbook-ui: ImagePullBackOff",),
        link="http://127.0.0.1:8080/submissions/sub-1",
    )


def test_slack_posts_text_and_blocks(receiver: Receiver) -> None:
    """Slack gets text plus blocks naming app, revision, decision, message, resources, link."""
    channel = SlackChannel(name="slack#1", url=receiver.url, events=ALL)
    channel.send(_alert())
    channel.close()
    [got] = receiver.received
    body = got.json()
    assert "Deployment failed: guestbook" in body["text"]
    text = " ".join(b["text"]["text"] for b in body["blocks"] if "text" in b)
    for fact in ("guestbook", "1f2e3d4c5b6a7988", "dec-1", "ImagePullBackOff", "sub-1"):
        assert fact in text
    assert SECRET not in got.body.decode()


def test_mattermost_posts_markdown(receiver: Receiver) -> None:
    """Mattermost gets Markdown text with the same facts and no secret."""
    channel = MattermostChannel(name="mattermost#1", url=receiver.url, events=ALL)
    channel.send(_alert())
    [got] = receiver.received
    text = got.json()["text"]
    assert text.startswith("#### Deployment failed")
    assert "| Decision | `dec-1` |" in text
    assert "objects failed to apply" in text
    assert SECRET not in got.body.decode()


def test_webhook_is_signed_with_standard_webhooks(receiver: Receiver) -> None:
    """A signed webhook carries id, timestamp and a v1 signature over the exact body."""
    channel = WebhookChannel(
        name="webhook#1", url=receiver.url, events=ALL, signing_key=KEY, clock=lambda: 1_700_000_000
    )
    alert = _alert()
    channel.send(alert)
    channel.send(alert)
    first, second = receiver.received
    headers = first.headers
    assert headers["webhook-timestamp"] == "1700000000"
    expected = sign_standard_webhook(KEY, headers["webhook-id"], 1_700_000_000, first.body)
    assert headers["webhook-signature"] == expected
    assert "." not in headers["webhook-id"]
    assert second.headers["webhook-id"] == headers["webhook-id"]  # stable across retries
    body = first.json()
    assert body["type"] == "belay.alert.deploy_failed"
    assert body["data"]["decision_id"] == "dec-1"
    assert body["data"]["failed_resources"] == list(alert.failed_resources)
    assert SECRET not in first.body.decode()


def test_unsigned_webhook_has_no_signature(receiver: Receiver) -> None:
    """Without a secret the webhook is posted without signature headers."""
    WebhookChannel(name="webhook#1", url=receiver.url, events=ALL).send(_alert())
    [got] = receiver.received
    assert "webhook-signature" not in got.headers


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (429, True), (404, False), (410, False), (302, False)]
)
def test_http_status_classification(receiver: Receiver, status: int, retryable: bool) -> None:
    """5xx and 429 are retried; other 4xx, 410 and redirects are permanent."""
    receiver.statuses.append(status)
    channel = SlackChannel(name="slack#1", url=receiver.url, events=ALL)
    with pytest.raises(DeliveryError) as caught:
        channel.send(_alert())
    assert caught.value.retryable is retryable
    assert str(status) in str(caught.value)
    assert receiver.url not in str(caught.value)


def test_refused_port_is_retryable(refused_url: str) -> None:
    """A refused connection is a retryable failure that does not show the URL."""
    with pytest.raises(DeliveryError) as caught:
        SlackChannel(name="slack#1", url=refused_url, events=ALL).send(_alert())
    assert caught.value.retryable
    assert refused_url not in str(caught.value)


def test_smtp_sends_mail(smtp_server: SMTPServer) -> None:
    """The SMTP channel delivers a plain-text e-mail to a real SMTP server."""
    channel = SMTPChannel(
        name="smtp#1",
        host=smtp_server.host,
        port=smtp_server.port,
        sender="belay@example.com",
        recipients=("ops@example.com", "dev@example.com"),
        events=ALL,
        timeout=5,
    )
    channel.send(_alert())
    [(sender, recipients, content)] = smtp_server.wait_for(1)
    assert sender == "belay@example.com"
    assert recipients == ["ops@example.com", "dev@example.com"]
    mail: Message = message_from_bytes(content)
    assert mail["Subject"] == "[Belay] Deployment failed: guestbook at 1f2e3d4c5b6a"
    assert mail["X-Belay-Event"] == "deploy_failed"
    body = mail.get_payload(decode=True)
    assert isinstance(body, bytes)
    text = body.decode()
    for fact in ("Decision: dec-1", "ImagePullBackOff", "submissions/sub-1", "Revision: 1f2e"):
        assert fact in text
    assert SECRET not in content.decode()


def test_smtp_refused_port_is_retryable(refused_url: str) -> None:
    """An SMTP server that is down is a retryable failure."""
    port = int(refused_url.rsplit(":", 1)[1].split("/")[0])
    channel = SMTPChannel(
        name="smtp#1",
        host="127.0.0.1",
        port=port,
        sender="a@example.com",
        recipients=("b@example.com",),
        events=ALL,
        timeout=2,
    )
    with pytest.raises(DeliveryError) as caught:
        channel.send(_alert())
    assert caught.value.retryable


def test_build_channels_reads_env_and_registers_secrets(receiver: Receiver) -> None:
    """url_env and secret_env are read from the environment; the URL becomes a known secret."""
    secret = "whsec_" + base64.b64encode(b"x" * 32).decode()
    configs = [
        NotificationChannel(type="slack", url_env="HOOK_URL"),
        NotificationChannel(
            type="webhook", url=receiver.url, secret_env="HOOK_SECRET", events=("token_expiry",)
        ),
        NotificationChannel.model_validate(
            {"type": "smtp", "host": "127.0.0.1", "from": "a@example.com", "to": "b@example.com"}
        ),
    ]
    channels = build_channels(
        configs, environ={"HOOK_URL": receiver.url + "?T0KEN-in-url", "HOOK_SECRET": secret}
    )
    assert [c.name for c in channels] == ["slack#1", "webhook#2", "smtp#3"]
    assert channels[1].events == frozenset({AlertEvent.token_expiry})
    from belay.redact import redact_text

    assert "T0KEN-in-url" not in redact_text(f"posting to {receiver.url}?T0KEN-in-url")


@pytest.mark.parametrize(
    ("config", "environ", "problem"),
    [
        ({"type": "slack"}, {}, "url or url_env is required"),
        ({"type": "slack", "url_env": "NOPE"}, {}, "NOPE is not set"),
        ({"type": "slack", "url": "http://hooks.example.com/x"}, {}, "must use https"),
        ({"type": "webhook", "url": "ftp://x"}, {}, "not an http(s) URL"),
        (
            {"type": "webhook", "url": "https://h.example.com", "secret_env": "S"},
            {"S": "whsec_c2hvcnQ="},
            "shorter than 24 bytes",
        ),
        ({"type": "smtp", "from": "a@b.c", "to": "d@e.f"}, {}, "host is required"),
        ({"type": "smtp", "host": "h", "to": "d@e.f"}, {}, "from is required"),
        ({"type": "smtp", "host": "h", "from": "a@b.c"}, {}, "to needs at least one"),
    ],
)
def test_bad_channel_config_is_one_clear_line(
    config: dict[str, object], environ: dict[str, str], problem: str
) -> None:
    """An unusable notifications entry is a ConfigError naming the entry and the problem."""
    with pytest.raises(ConfigError) as caught:
        build_channels([NotificationChannel.model_validate(config)], environ=environ)
    message = str(caught.value)
    assert message.startswith("notifications[0]")
    assert problem in message
    assert "\n" not in message
