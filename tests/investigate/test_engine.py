"""Engine pieces that need no server: instance selection and the no-call paths."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr

from belay.config.models import ArgoCDInstance, ArgoCDResolution, RejectedInstance
from belay.investigate.engine import investigate, select_instance
from belay.investigate.models import Alert

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def _inst(name: str, *tags: str) -> ArgoCDInstance:
    return ArgoCDInstance(
        name=name, base_url="https://argocd.example.com", token=SecretStr("t" * 20), tags=tags
    )


RESOLUTION = ArgoCDResolution(
    instances=(_inst("main"), _inst("eu", "cluster=prod-eu"), _inst("us", "prod-us", "team=web")),
    rejected=(
        RejectedInstance(name="old", source="store:1", reason="remote http:// is not allowed"),
    ),
)


def test_alert_names_the_instance() -> None:
    """argocd_instance wins over tags."""
    alert = Alert(source="documented", instance="us", labels={"cluster": "prod-eu"})
    chosen, why = select_instance(alert, RESOLUTION)
    assert chosen is not None and chosen.name == "us"
    assert "argocd_instance" in why


def test_key_value_and_plain_tags_match_labels() -> None:
    """key=value tags match that label; plain tags match any label value; most matches win."""
    chosen, _ = select_instance(
        Alert(source="documented", labels={"cluster": "prod-eu"}), RESOLUTION
    )
    assert chosen is not None and chosen.name == "eu"
    alert = Alert(source="documented", labels={"region": "prod-us", "team": "web"})
    chosen, _ = select_instance(alert, RESOLUTION)
    assert chosen is not None and chosen.name == "us"


def test_default_when_nothing_matches() -> None:
    """Without a name or a tag match, the first usable instance is used."""
    chosen, why = select_instance(Alert(source="documented", labels={"x": "y"}), RESOLUTION)
    assert chosen is not None and chosen.name == "main"
    assert why == "the default instance"


def test_unknown_or_rejected_instance_is_explained() -> None:
    """An instance the alert names but that is missing or rejected gives the reason."""
    assert select_instance(Alert(source="documented", instance="nope"), RESOLUTION) == (
        None,
        "the alert names instance 'nope', which is not configured (configured: main, eu, us)",
    )
    chosen, why = select_instance(Alert(source="documented", instance="old"), RESOLUTION)
    assert chosen is None
    assert "remote http:// is not allowed" in why


def test_alert_naming_an_unknown_instance_reports_not_configured() -> None:
    """No client is built and the report says why."""

    def factory(_: ArgoCDInstance) -> object:
        raise AssertionError("no client must be built")

    report = investigate(
        Alert(source="documented", application="a", instance="nope"),
        RESOLUTION,
        now=NOW,
        client_factory=factory,
    )  # type: ignore[arg-type]
    assert [f.kind for f in report.findings] == ["argocd_not_configured"]
    assert report.instance is None


def test_no_gitops_context_makes_no_call() -> None:
    """An alert without GitOps context never builds a client."""

    def factory(_: ArgoCDInstance) -> object:
        raise AssertionError("no client must be built")

    report = investigate(
        Alert(source="documented", name="NodeDown"), RESOLUTION, now=NOW, client_factory=factory
    )  # type: ignore[arg-type]
    assert [f.kind for f in report.findings] == ["no_gitops_context"]


def test_public_names_are_pinned() -> None:
    """The package offers exactly these names; the HTTP API and the CLI use only them."""
    import belay.investigate as pkg

    assert sorted(pkg.__all__) == sorted(
        [
            "FINDING_KINDS",
            "Alert",
            "AlertParseError",
            "InstanceClientFactory",
            "InvestigationFinding",
            "FindingKind",
            "InvestigationReport",
            "InvestigationSettings",
            "Severity",
            "investigate",
            "investigate_alerts",
            "parse_alert",
            "parse_alert_bytes",
            "parse_notification",
            "parse_notification_bytes",
            "render",
            "render_json",
            "render_many",
            "render_markdown",
            "render_text",
            "select_instance",
            "store_gate_lookup",
        ]
    )
    for name in pkg.__all__:
        assert hasattr(pkg, name), name
