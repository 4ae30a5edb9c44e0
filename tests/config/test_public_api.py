"""The public names of belay.config and belay.integrations, and the CLI as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import belay.config
import belay.integrations


def test_config_exports() -> None:
    """belay.config offers exactly these names (others code against them)."""
    assert sorted(belay.config.__all__) == sorted(
        [
            "EXPIRY_WARNING_WINDOW",
            "ArgoCDInstance",
            "ArgoCDResolution",
            "ConfigError",
            "RejectedInstance",
            "StoreInstanceView",
            "add_store_instance",
            "default_store_path",
            "is_jwt",
            "list_store_instances",
            "load_store",
            "resolve_argocd",
            "token_expiry",
            "AlertSettings",
            "ArgoCDTarget",
            "BelaySettings",
            "DEFAULT_SETTINGS_FILE",
            "IntakeSettings",
            "InvestigationSettings",
            "NotificationChannel",
            "ProjectSettings",
            "SyncSettings",
            "ThrottleSettings",
            "WebSettings",
            "WorkerSettings",
            "is_loopback_host",
            "jwt_claims",
            "load_settings",
            "normalize_remote",
            "process_environ",
        ]
    )
    for name in belay.config.__all__:
        assert hasattr(belay.config, name)


def test_integrations_exports() -> None:
    """belay.integrations offers the verify entry points and result types."""
    assert sorted(belay.integrations.__all__) == sorted(
        [
            "InstanceClientFactory",
            "InstanceCheck",
            "VerifyReport",
            "VerifyStatus",
            "check_instance",
            "verify_argocd",
        ]
    )


def test_verify_as_a_process_keeps_stdout_for_json(
    serve_argocd: Callable[..., Any], tmp_path: Path
) -> None:
    """Run as a real process, `--output json` prints only JSON on stdout, warnings on stderr."""
    fake = serve_argocd()
    fake.token = "tok-process-0123456789"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ARGOCD_BASE_URL": fake.url,
        "ARGOCD_AUTH_TOKEN": fake.token,
        "BELAY_INTEGRATIONS_FILE": str(tmp_path / "none.json"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from belay.cli import main; main()",
            "integrations",
            "verify",
            "argocd",
            "--output",
            "json",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "passed"
    assert "plain http://" in done.stderr
    assert "Traceback" not in done.stderr
    assert fake.token not in done.stdout + done.stderr
