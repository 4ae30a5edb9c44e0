"""Test-wide fixtures: a clean environment, the shared reference folder, and CI's no-skip rule."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Variables Belay reads; every test starts without them so the developer's shell cannot leak in.
_BELAY_ENV_PREFIXES = ("ARGOCD_", "BELAY_TOKEN", "BELAY_SLACK", "BELAY_DATABASE_URL")
_KEEP = {"BELAY_SHARED_DIR", "BELAY_ARGOCD_SWAGGER", "BELAY_TEST_DATABASE_URL"}

# Under CI a skip of one of these is a failure: they are the proof that the real parts work.
_MUST_RUN_UNDER_CI = {"postgres", "contract", "browser"}


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Remove Belay's variables and point the integration store at an empty temp file."""
    for name in list(os.environ):
        if name in _KEEP:
            continue
        if name.startswith(_BELAY_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BELAY_INTEGRATIONS_FILE", str(tmp_path / "no-integrations.json"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared reference folder (``BELAY_SHARED_DIR``, default ``../shared``)."""
    default = Path(__file__).resolve().parents[1].parent / "shared"
    path = Path(os.environ.get("BELAY_SHARED_DIR", str(default)))
    if not path.is_dir():
        pytest.skip(f"shared folder not found at {path} (set BELAY_SHARED_DIR)")
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under ``CI=true``, turn a skipped postgres/contract/browser test into a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI", "").lower() != "true" or not report.skipped:
        return
    marks = {mark.name for mark in item.iter_markers()}
    if marks & _MUST_RUN_UNDER_CI:
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        kinds = sorted(marks & _MUST_RUN_UNDER_CI)
        report.longrepr = f"skipped under CI, which is not allowed for {kinds}: {reason}"
