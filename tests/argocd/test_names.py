"""Names become API paths in one place: Kubernetes naming rules, encoding, no dot segments."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from belay.argocd import ArgoCDClient, InvalidArgoCDName, check_name, path_segment
from belay.errors import BadInput


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("guestbook", "application"),
        ("web.api-1", "application"),
        ("a" * 253, "application"),
        ("default", "project"),
        ("team-a.prod", "project"),
        ("argocd", "namespace"),
        ("n" * 63, "namespace"),
    ],
)
def test_valid_names_pass_unchanged(value: str, kind: str) -> None:
    """Names that Kubernetes accepts are returned as they are."""
    assert check_name(value, kind) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "kind", "problem"),
    [
        ("..", "application", "dot segment"),
        (".", "project", "dot segment"),
        ("", "application", "must not be empty"),
        ("a/b", "application", "not a valid Kubernetes name"),
        ("Guestbook", "application", "not a valid Kubernetes name"),
        ("web_api", "application", "not a valid Kubernetes name"),
        ("-web", "application", "not a valid Kubernetes name"),
        ("web.", "application", "not a valid Kubernetes name"),
        ("a..b", "application", "not a valid Kubernetes name"),
        ("%2e%2e", "application", "not a valid Kubernetes name"),
        ("a" * 254, "application", "longer than 253"),
        ("team.prod", "namespace", "not a valid Kubernetes name"),
        ("n" * 64, "namespace", "longer than 63"),
        ("x y", "project", "not a valid Kubernetes name"),
    ],
)
def test_invalid_names_are_bad_input(value: str, kind: str, problem: str) -> None:
    """A name Kubernetes would refuse is BadInput with one line naming the kind and problem."""
    with pytest.raises(InvalidArgoCDName, match=problem) as caught:
        check_name(value, kind)  # type: ignore[arg-type]
    assert isinstance(caught.value, BadInput)
    assert kind in str(caught.value) and "\n" not in str(caught.value)


def test_path_segment_encodes_everything_but_unreserved() -> None:
    """A segment is percent-encoded (slash, space, '?', '#', '%'); dot segments are refused."""
    assert path_segment("feature/x y?#%", "revision") == "feature%2Fx%20y%3F%23%25"
    assert path_segment("v1.4.3", "revision") == "v1.4.3"
    for dots in (".", ".."):
        with pytest.raises(InvalidArgoCDName, match="dot segment"):
            path_segment(dots, "revision")
    with pytest.raises(InvalidArgoCDName, match="empty"):
        path_segment(" ", "revision")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.get_application(".."), id="get-dotdot"),
        pytest.param(lambda c: c.managed_resources(".."), id="managed-resources-dotdot"),
        pytest.param(lambda c: c.get_application("a/../b"), id="slash"),
        pytest.param(lambda c: c.get_application("ok", project="../x"), id="project"),
        pytest.param(lambda c: c.get_application("ok", app_namespace="a/b"), id="namespace"),
        pytest.param(lambda c: c.list_applications(projects=["Bad"]), id="list-project"),
        pytest.param(lambda c: c.revision_metadata("ok", ".."), id="revision-dotdot"),
        pytest.param(lambda c: c.can_i("applications", "get", "default/.."), id="can-i"),
    ],
)
def test_client_sends_nothing_for_a_bad_name(call: object) -> None:
    """Before the fix, ``..`` made the client call GET /api/v1; now no request leaves at all."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    with (
        ArgoCDClient(
            "https://argocd.example.com", token="t" * 20, transport=httpx.MockTransport(handler)
        ) as client,
        pytest.raises(InvalidArgoCDName),
    ):
        call(client)  # type: ignore[operator]
    assert sent == []


def test_belay_yaml_refuses_a_bad_name_at_start(tmp_path: Path) -> None:
    """A project mapped to application '..' stops start-up with one line naming the key."""
    from belay.config.errors import ConfigError
    from belay.config.settings import load_settings

    path = tmp_path / "belay.yaml"
    path.write_text(
        "projects:\n  - name: p\n    argocd: {application: web, appNamespace: 'team.a'}\n"
    )
    with pytest.raises(ConfigError, match=r"appNamespace.*not a valid Kubernetes name"):
        load_settings(path)
    path.write_text("projects:\n  - name: p\n    argocd: {application: '..'}\n")
    with pytest.raises(ConfigError, match="dot segment"):
        load_settings(path)


def test_investigate_reports_a_bad_name_as_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`belay investigate` on an alert naming '..' exits 2 with one line; nothing is sent."""
    from typer.testing import CliRunner

    from belay.cli import app

    monkeypatch.setenv("ARGOCD_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", "t" * 20)
    (tmp_path / "alert.json").write_text(
        '{"alerts": [{"status": "firing", "labels": {"alertname": "x", "argocd_application": ".."}}]}'
    )
    result = CliRunner().invoke(app, ["investigate", "-i", "alert.json"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: Argo CD application name '..' is a dot segment, which would change the API path"
    ]


def test_investigate_reports_the_good_names_beside_a_bad_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one good name beside the bad one, `belay investigate` reports both (exit 0): the bad
    one's report says Argo CD was not asked, the good one's was investigated."""
    from typer.testing import CliRunner

    from belay.cli import app

    monkeypatch.setenv("ARGOCD_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", "t" * 20)
    (tmp_path / "alert.json").write_text(
        '{"alerts": [{"status": "firing", "labels": {"alertname": "x", "argocd_application": ".."}},'
        ' {"status": "firing", "labels": {"alertname": "y", "argocd_application": "web"}}]}'
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["investigate", "-i", "alert.json", "-o", "json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    notes = {r["application"]: r["notes"] for r in [first, *first["related_reports"]]}
    assert any("Argo CD was not asked" in n for n in notes[".."])
    assert not any("Argo CD was not asked" in n for n in notes["web"])
