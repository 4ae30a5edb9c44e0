"""The shared Standard Webhooks module: what the notifier signs, the intake verifies."""

from __future__ import annotations

import belay.intake.auth
import belay.notify.channels
import belay.notify.channels.webhook
from belay import webhooks

KEY = b"K" * 32


def test_sign_then_verify_round_trip() -> None:
    """A signature made here verifies here, and only over the same id, time and body."""
    signature = webhooks.sign_standard_webhook(KEY, "msg_1", 1_700_000_000, b"{}")
    presented = webhooks.presented_signatures(f"v1a,junk {signature} v1,@@@")
    assert len(presented) == 1
    assert webhooks.signature_matches(KEY, "msg_1", 1_700_000_000, b"{}", presented)
    assert not webhooks.signature_matches(KEY, "msg_2", 1_700_000_000, b"{}", presented)
    assert not webhooks.signature_matches(KEY, "msg_1", 1_700_000_001, b"{}", presented)
    assert not webhooks.signature_matches(b"L" * 32, "msg_1", 1_700_000_000, b"{}", presented)


def test_intake_and_notify_share_one_implementation() -> None:
    """The notifier no longer reaches into the intake: both use belay.webhooks."""
    assert belay.intake.auth.sign_standard_webhook is webhooks.sign_standard_webhook
    assert belay.intake.auth.decode_webhook_secret is webhooks.decode_webhook_secret
    assert belay.notify.channels.webhook.sign_standard_webhook is webhooks.sign_standard_webhook
    assert belay.notify.channels.decode_webhook_secret is webhooks.decode_webhook_secret
