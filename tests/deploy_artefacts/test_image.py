"""deploy/Containerfile: its build stage's steps really install Belay, and the image runs safely.

No container engine runs here, so the build stage's RUN steps are read from the file and run in
a temporary folder standing in for the image (``/src`` and ``/opt/belay`` mapped into it): a fresh
virtual environment from the base Python, the runtime lock with ``--require-hashes``, then the
project with ``--no-deps``; then ``belay --help`` must work. This costs 20 to 90 s (pip builds the
project's wheel and installs about 40 pinned wheels, from pip's cache when warm), so it is the
slowest test outside the reliability ones.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .containerfile import Stage, parse

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "deploy" / "Containerfile"


def _locked(path: Path) -> dict[str, str]:
    """Package name → pinned version in a pip-compile style lock."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)", line)
        if match:
            pins[re.sub(r"\[.*\]", "", match.group(1)).lower()] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    """The Containerfile's stages."""
    return parse(CONTAINERFILE)


def test_runtime_stage_runs_belay_as_non_root(stages: list[Stage]) -> None:
    """The final image: slim Python 3.11, a numeric non-root user, belay as entry, serve by default."""
    final = stages[-1]
    assert re.fullmatch(r"(docker\.io/library/)?python:3\.11-slim", final.base)
    user = final.last("USER")
    assert user is not None, "the image must set USER"
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user} must be a numeric non-root uid"
    assert final.exec_form("ENTRYPOINT") == ["belay"]
    assert final.exec_form("CMD") == [
        "serve",
        "--host",
        "0.0.0.0",
        "--config",
        "/etc/belay/belay.yaml",
    ]
    assert any("--from=build" in c and "/opt/belay" in c for c in final.all("COPY"))
    assert not final.all("RUN") or all("pip" not in r for r in final.all("RUN"))


def test_build_stage_installs_from_the_hashed_runtime_lock(stages: list[Stage]) -> None:
    """The build installs only pinned, hash-checked files, then the project without dependencies."""
    build = stages[0]
    assert build.name == "build"
    runs = build.all("RUN")
    assert any("--require-hashes" in r and "-r requirements-runtime.lock" in r for r in runs), runs
    assert any(r.endswith("pip install --no-deps .") for r in runs), runs
    copied = " ".join(build.all("COPY"))
    for needed in ("pyproject.toml", "README.md", "requirements-runtime.lock", "src/"):
        assert needed in copied


def test_runtime_lock_agrees_with_the_dev_lock() -> None:
    """Every runtime pin is the same version in requirements.lock, and no dev tool is in it."""
    runtime = _locked(REPO / "requirements-runtime.lock")
    full = _locked(REPO / "requirements.lock")
    assert runtime, "requirements-runtime.lock has no pins"
    different = {n: (v, full.get(n)) for n, v in runtime.items() if full.get(n) != v}
    assert not different, f"run `make lock`: the two locks disagree on {different}"
    for dev_tool in ("pytest", "ruff", "mypy", "hypothesis", "kubernetes-validate"):
        assert dev_tool not in runtime, f"{dev_tool} must not be in the image's lock"
    for needed in ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "typer"):
        assert needed in runtime


def _copy_sources(build: Stage, context: Path, workdir: Path) -> None:
    """Do the stage's COPY steps from the repository (the build context) into ``workdir``."""
    for args in build.all("COPY"):
        parts = args.split()
        assert not any(p.startswith("--") for p in parts), f"unexpected COPY flags: {args}"
        *sources, dest = parts
        target = workdir / dest.removeprefix("./")
        for source in sources:
            origin = context / source.rstrip("/")
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    target if dest.endswith("/") and dest != "./" else target / origin.name,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)


def test_build_stage_steps_install_a_working_belay(stages: list[Stage], tmp_path: Path) -> None:
    """Running the build stage's COPY and RUN steps gives a venv whose `belay --help` works."""
    build = stages[0]
    assert build.last("WORKDIR") == "/src"
    root = tmp_path / "image"
    workdir = root / "src"
    venv = root / "opt" / "belay"
    _copy_sources(build, REPO, workdir)
    # `python` in the image is the base interpreter, not a virtual environment's.
    bin_dir = root / "usr-local-bin"
    bin_dir.mkdir(parents=True)
    base_python = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    assert base_python.exists(), base_python
    (bin_dir / "python").symlink_to(base_python)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for command in build.all("RUN"):
        local = command.replace("/opt/belay", str(venv))
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", local],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, (
            f"RUN {command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )

    belay = venv / "bin" / "belay"
    result = subprocess.run(
        [str(belay), "--help"], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "worker", "db", "bundle"):
        assert command in result.stdout
    # The project came from the copied sources, not from the developer's checkout.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import belay; print(belay.__file__)"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert str(venv) in where.stdout
    # No dev tool was installed: the image's lock is runtime-only.
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    names = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert "belay-gitops" in names
    assert not names & {"pytest", "ruff", "mypy"}
