"""belay.yaml loading: the contract keys, strictness, env overrides and remote matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from belay.config.errors import ConfigError
from belay.config.settings import load_settings, normalize_remote
from belay.redact import redact_text

EXAMPLE = """
database_url: sqlite:///belay.db
public_url: http://127.0.0.1:8080/
notifications:
  - {type: webhook, url: "https://hooks.example.com/belay", events: [deploy_failed, sync_failed, auth_failed, token_expiry]}
  - {type: slack, url_env: BELAY_SLACK_WEBHOOK_URL}
policies:
  default: policies/default.yaml
projects:
  - name: example-app
    match: {remote: "https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app.git", branch: main}
    token_env: BELAY_TOKEN_EXAMPLE_APP
    policy: default
    argocd: {instance: default, application: belay-portage-gitlab-example-app, project: default, appNamespace: argocd}
    sync: {revision: commit, prune: true, dryRun: false}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "belay.yaml"
    path.write_text(text)
    return path


def test_design_example_loads(tmp_path: Path) -> None:
    """The example of DESIGN §3a loads with every key where the contract puts it."""
    settings = load_settings(_write(tmp_path, EXAMPLE), environ={})
    project = settings.projects[0]
    assert settings.public_url == "http://127.0.0.1:8080"
    assert project.token_env == ("BELAY_TOKEN_EXAMPLE_APP",)
    assert project.argocd is not None
    assert project.argocd.app_namespace == "argocd"
    assert project.sync.prune is True
    assert project.sync.retry is not None and project.sync.retry.limit == 5
    assert settings.notifications[1].url_env == "BELAY_SLACK_WEBHOOK_URL"
    assert settings.policy_path("default") == tmp_path / "policies/default.yaml"


def test_database_url_env_override(tmp_path: Path) -> None:
    """BELAY_DATABASE_URL wins over the file, and its password is registered for redaction."""
    url = "postgresql+psycopg://belay:pg-pass-canary@db/belay"
    settings = load_settings(_write(tmp_path, EXAMPLE), environ={"BELAY_DATABASE_URL": url})
    assert settings.database_url == url
    assert "pg-pass-canary" not in redact_text(f"connecting to {url}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("projects:\n  - name: a\n    tokn_env: X\n", "projects[0].tokn_env: unknown key"),
        ("projects:\n  - name: a\n    token_sha256: nothex\n", "projects[0].token_sha256"),
        ("notifications:\n  - {type: fax}\n", "notifications[0].type"),
        ("notifications:\n  - {type: slack, events: [coffee]}\n", "unknown events"),
        ("public_url: ftp://x\n", "public_url"),
        ("projects: [{name: a}, {name: a}]\n", "duplicate names"),
        ("projects: [{name: a, policy: nope}]\n", "'nope' is not in policies"),
        ("- just\n- a list\n", "must be a mapping"),
        ("key: [unclosed\n", "not valid YAML (line"),
    ],
)
def test_bad_settings_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    """Every problem is one ConfigError line naming the file and the key path."""
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, text), environ={})
    assert message in str(info.value)
    assert str(tmp_path / "belay.yaml") in str(info.value)
    assert "\n" not in str(info.value)


def test_token_lists_for_rotation(tmp_path: Path) -> None:
    """token_env and token_sha256 take a name or a list (rotation with overlap)."""
    text = "projects:\n  - name: a\n    token_env: [OLD, NEW]\n    token_sha256: " + "A" * 64 + "\n"
    project = load_settings(_write(tmp_path, text), environ={}).projects[0]
    assert project.token_env == ("OLD", "NEW")
    assert project.token_sha256 == ("a" * 64,)


def test_missing_file() -> None:
    """No ./belay.yaml gives defaults; an explicit missing file is an error."""
    assert load_settings(environ={}).database_url == "sqlite:///belay.db"
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(Path("nope.yaml"), environ={})


@pytest.mark.parametrize(
    "remote",
    [
        "https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app.git",
        "https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app\n",
        "https://gitlab-ci-token:glcbt-secret@gitlab.com/HolomuaTech/belay-portage-gitlab-example-app.git",
        "git@gitlab.com:HolomuaTech/belay-portage-gitlab-example-app.git",
        "ssh://git@GitLab.com/HolomuaTech/belay-portage-gitlab-example-app.git/",
    ],
)
def test_remote_normalisation(remote: str) -> None:
    """Remotes match with or without newline, .git, credentials, scp form or host case."""
    assert normalize_remote(remote) == "gitlab.com/HolomuaTech/belay-portage-gitlab-example-app"


def test_database_password_never_in_a_repr(tmp_path: Path) -> None:
    """A settings object printed (a traceback, a test failure) never shows the database password."""
    config = tmp_path / "belay.yaml"
    config.write_text(
        'database_url: "postgresql+psycopg://belay:repr-canary-pw-7731@db.example/belay"\n'
    )
    settings = load_settings(config)
    assert settings.database_url.endswith("@db.example/belay")
    assert "repr-canary-pw-7731" not in repr(settings)
    assert "repr-canary-pw-7731" not in str(settings)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-02-30", "not valid YAML"),
        ("2026", "must be a date"),
        ("'soon'", "is not a date"),
    ],
)
def test_signing_key_dates_are_dates(tmp_path: Path, value: str, problem: str) -> None:
    """An impossible date was a traceback, a year a 1970 timestamp; both are one-line errors."""
    from belay.config.errors import ConfigError

    config = tmp_path / "belay.yaml"
    config.write_text(f"signing_key_created: {value}\n")
    with pytest.raises(ConfigError, match=problem):
        load_settings(config)


def test_a_quoted_retirement_time_is_utc(tmp_path: Path) -> None:
    """'2026-06-01T00:00:00' in quotes stayed naive and crashed signature checks later."""
    config = tmp_path / "belay.yaml"
    config.write_text(
        "retired_signing_keys:\n"
        "  - {public_key_file: old.pub.pem, retired: '2026-06-01T00:00:00'}\n"
    )
    settings = load_settings(config)
    assert settings.retired_signing_keys[0].retired.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("intake: {max_entry_bytes: 4096, max_inflated_bytes: 2048}", "larger than max_inflated"),
        ("intake: {max_inflated_bytes: 100000000000000000000000000}", "max_inflated_bytes"),
        ("signing_key_env: ''", "signing_key_env"),
    ],
)
def test_limits_and_key_names_that_cannot_work(tmp_path: Path, text: str, problem: str) -> None:
    """An entry limit above the total, a total of 10^26 bytes, or an empty variable name (which
    silently turned signing off) are one-line configuration errors."""
    from belay.config.errors import ConfigError

    config = tmp_path / "belay.yaml"
    config.write_text(text + "\n")
    with pytest.raises(ConfigError, match=problem):
        load_settings(config)
