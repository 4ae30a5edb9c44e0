"""Every value that holds a token, password, key or database URL hides it in repr() and str().

A canary secret goes into each holder (configuration, Argo CD auth, intake keys, notification
channels, web access, signing keys); neither its repr nor its str may show it, or its base64
or bytes forms, so a stray log line or traceback cannot leak it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from belay.argocd import ArgoCDClient
from belay.argocd.auth import BearerToken, SessionLogin
from belay.attest import Keyring, Signing, generate_key_pair
from belay.attest.keys import parse_private_pem
from belay.config.instance import Labelled, RawInstance
from belay.config.integrations_file import StoreEntry
from belay.config.models import ArgoCDInstance, ArgoCDResolution
from belay.config.settings import BelaySettings, NotificationChannel
from belay.intake.auth import Credentials, WebhookKey
from belay.notify import AlertEvent
from belay.notify.channels import MattermostChannel, SlackChannel, SMTPChannel, WebhookChannel
from belay.web.access import ReadAccess
from belay.web.csrf import CsrfTokens

CANARY = "canary-s3cr3t-7f3a9c2e41d8"
CANARY_BYTES = CANARY.encode()
EVENTS = frozenset(AlertEvent)


def _raw_instance() -> RawInstance:
    return RawInstance(
        name="default",
        source="env",
        base_urls=[Labelled("ARGOCD_BASE_URL", "https://argocd.example.com")],
        tokens=[Labelled("ARGOCD_AUTH_TOKEN", CANARY)],
        username=Labelled("ARGOCD_USERNAME", "admin"),
        password=Labelled("ARGOCD_PASSWORD", CANARY),
        project=Labelled("ARGOCD_PROJECT"),
        app_namespace=Labelled("ARGOCD_APP_NAMESPACE"),
        verify_ssl=Labelled("ARGOCD_VERIFY_SSL"),
        ca_bundle=Labelled("ARGOCD_CA_BUNDLE"),
        tags=Labelled("tags"),
    )


def _token_instance() -> ArgoCDInstance:
    return ArgoCDInstance(name="a", base_url="https://argocd.example.com", token=SecretStr(CANARY))


def _password_instance() -> ArgoCDInstance:
    return ArgoCDInstance(
        name="b", base_url="https://argocd.example.com", username="u", password=SecretStr(CANARY)
    )


HOLDERS: dict[str, Callable[[], object]] = {
    # configuration
    "ArgoCDInstance token": _token_instance,
    "ArgoCDInstance password": _password_instance,
    "ArgoCDResolution": lambda: ArgoCDResolution(
        instances=(_token_instance(), _password_instance())
    ),
    "Labelled": lambda: Labelled("ARGOCD_AUTH_TOKEN", CANARY),
    "RawInstance": _raw_instance,
    "StoreEntry": lambda: StoreEntry(name="default", source="store:1", raw=_raw_instance()),
    "BelaySettings database_url": lambda: BelaySettings(
        database_url=f"postgresql+psycopg://belay:{CANARY}@db.example.com/belay"
    ),
    "NotificationChannel url": lambda: NotificationChannel(
        type="slack", url=f"https://hooks.slack.com/services/{CANARY}"
    ),
    # Argo CD auth
    "BearerToken": lambda: BearerToken(CANARY),
    "SessionLogin": lambda: SessionLogin(
        base_url=httpx.URL("https://argocd.example.com"),
        username="admin",
        password=CANARY,
        timeout=5.0,
    ),
    "ArgoCDClient token": lambda: ArgoCDClient("https://argocd.example.com", token=CANARY),
    "ArgoCDClient password": lambda: ArgoCDClient(
        "https://argocd.example.com", username="admin", password=CANARY
    ),
    # intake
    "WebhookKey": lambda: WebhookKey(project="p", label="new", key=CANARY_BYTES),
    "Credentials": lambda: Credentials(
        webhook_keys=(WebhookKey(project="p", label="new", key=CANARY_BYTES),)
    ),
    # notify channels
    "SlackChannel": lambda: SlackChannel(
        name="slack#0", url=f"https://hooks.slack.com/services/{CANARY}", events=EVENTS
    ),
    "MattermostChannel": lambda: MattermostChannel(
        name="mattermost#0", url=f"https://chat.example.com/hooks/{CANARY}", events=EVENTS
    ),
    "WebhookChannel": lambda: WebhookChannel(
        name="webhook#0",
        url=f"https://hooks.example.com/{CANARY}",
        events=EVENTS,
        signing_key=CANARY_BYTES,
    ),
    "SMTPChannel": lambda: SMTPChannel(
        name="smtp#0",
        host="smtp.example.com",
        port=587,
        sender="belay@example.com",
        recipients=("ops@example.com",),
        username="belay",
        password=CANARY,
        events=EVENTS,
    ),
    # web
    "ReadAccess": lambda: ReadAccess(token=CANARY),
    "CsrfTokens": lambda: CsrfTokens(key=CANARY_BYTES),
}


def _forms(secret: bytes) -> list[str]:
    return [secret.decode("latin-1"), repr(secret), base64.b64encode(secret).decode()[:16]]


@pytest.mark.parametrize("name", sorted(HOLDERS))
def test_repr_and_str_hide_the_canary(name: str) -> None:
    holder = HOLDERS[name]()
    for shown in (repr(holder), str(holder)):
        for form in _forms(CANARY_BYTES):
            assert form not in shown, f"{name} shows its secret: {shown}"


def test_signing_keys_hide_the_private_half() -> None:
    """A signing key, a new key pair and the Signing holding them never show the private PEM."""
    pair = generate_key_pair()
    key = parse_private_pem(pair.private_pem, source="test")
    signing = Signing(key=key, keyring=Keyring())
    body = pair.private_pem.splitlines()[1]
    for holder in (pair, key, signing):
        for shown in (repr(holder), str(holder)):
            assert body not in shown, shown
