"""deploy/kubernetes: valid against Kubernetes' schemas, locked down, and consistent with Belay.

Schemas come from kubernetes-validate, which ships them per Kubernetes version (no network at
test time; one test proves it by validating inside a network namespace with no interfaces).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate.utils as kv  # type: ignore[import-untyped]
import pytest
import yaml

from belay.config import resolve_argocd
from belay.config.settings import load_settings
from belay.feeds import EPSS_FILENAME, KEV_FILENAME
from belay.gate import parse_policy_set
from belay.services import credentials_from_settings

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.31.0"
"""The version the manifests are checked against (strict: unknown fields are errors)."""


def _kustomization() -> dict[str, Any]:
    data = yaml.safe_load((KUBE / "kustomization.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for name in _kustomization()["resources"]:
        for doc in yaml.safe_load_all((KUBE / name).read_text(encoding="utf-8")):
            if doc is not None:
                docs.append((name, doc))
    return docs


def _one(kind: str, name: str) -> dict[str, Any]:
    found = [d for _, d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _env_names(container: dict[str, Any]) -> set[str]:
    return {e["name"] for e in container.get("env", [])}


def _config_file(key: str) -> str:
    text = _one("ConfigMap", "belay-config")["data"][key]
    assert isinstance(text, str)
    return text


def test_kustomization_lists_every_manifest() -> None:
    """Every YAML file in deploy/kubernetes is a kustomization resource, and every resource exists."""
    listed = set(_kustomization()["resources"])
    present = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


@pytest.mark.parametrize(("source", "doc"), _documents(), ids=lambda v: str(v)[:40])
def test_manifest_is_valid_for_kubernetes(source: str, doc: dict[str, Any]) -> None:
    """Each object validates against its Kubernetes schema, strictly, and carries no namespace."""
    kv.validate(doc, KUBERNETES_VERSION, strict=True)
    assert "namespace" not in doc["metadata"], f"{source}: manifests are namespace-agnostic"


def test_validation_catches_a_broken_manifest() -> None:
    """The validator is live: a wrong type and an unknown field are both rejected."""
    deployment = yaml.safe_load((KUBE / "deployment-api.yaml").read_text(encoding="utf-8"))
    wrong_type = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kv.ValidationError):
        kv.validate(wrong_type, KUBERNETES_VERSION, strict=True)
    unknown = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kv.ValidationError):
        kv.validate(unknown, KUBERNETES_VERSION, strict=True)


def test_schemas_need_no_network(tmp_path: Path) -> None:
    """Validation works in a network namespace with no interfaces (the schemas ship in the wheel)."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"], check=False).returncode != 0:
        pytest.skip("cannot create a network namespace here (needs unshare and privileges)")
    script = (
        "import sys, yaml, kubernetes_validate.utils as kv\n"
        "for path in sys.argv[2:]:\n"
        "    for doc in yaml.safe_load_all(open(path)):\n"
        "        kv.validate(doc, sys.argv[1], strict=True)\n"
        "print('ok')\n"
    )
    files = [str(KUBE / name) for name in _kustomization()["resources"]]
    result = subprocess.run(
        [unshare, "-n", sys.executable, "-c", script, KUBERNETES_VERSION, *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("name", ["belay-api", "belay-worker"])
def test_deployments_are_locked_down(name: str) -> None:
    """Non-root, read-only root filesystem, no capabilities, no token, bounded memory."""
    deployment = _one("Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    container = _container(deployment)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    assert container["image"] == "belay", "the image is set once, in kustomization.yaml"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/part-of"] == "belay", "the NetworkPolicies select this label"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/etc/belay", "/tmp"} <= mounts


def test_api_runs_serve_without_worker_and_probes_health() -> None:
    """belay-api: `serve --no-worker` on the http port, liveness on /healthz, readiness on /readyz."""
    container = _container(_one("Deployment", "belay-api"))
    args = container["args"]
    assert args[0] == "serve"
    assert "--no-worker" in args
    assert args[args.index("--config") + 1] == "/etc/belay/belay.yaml"
    port = int(args[args.index("--port") + 1])
    assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "ARGOCD_AUTH_TOKEN" not in _env_names(container), "the API does not talk to Argo CD"
    service = _one("Service", "belay-api")
    assert service["spec"]["selector"] == {
        k: v
        for k, v in _one("Deployment", "belay-api")["spec"]["template"]["metadata"][
            "labels"
        ].items()
        if k in service["spec"]["selector"]
    }
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_worker_runs_belay_worker() -> None:
    """belay-worker runs `belay worker` with the same config and the Argo CD token."""
    container = _container(_one("Deployment", "belay-worker"))
    assert container["args"][0] == "worker"
    assert container["args"][container["args"].index("--config") + 1] == "/etc/belay/belay.yaml"
    assert "ARGOCD_AUTH_TOKEN" in _env_names(container)
    assert "ports" not in container


@pytest.mark.parametrize(("name", "command"), [("belay-api", "serve"), ("belay-worker", "worker")])
def test_container_args_are_options_belay_knows(name: str, command: str) -> None:
    """Every --option in the container's args is in `belay COMMAND --help`."""
    args = _container(_one("Deployment", name))["args"]
    result = subprocess.run(
        [sys.executable, "-m", "belay.cli", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    for option in (a for a in args if a.startswith("--")):
        assert option in result.stdout, f"{name}: belay {command} has no {option}"


def test_no_secret_values_are_committed() -> None:
    """There is no Secret object; every secret is a secretKeyRef to belay-secrets."""
    kinds = {d["kind"] for _, d in _documents()}
    assert "Secret" not in kinds
    refs = set()
    for name in ("belay-api", "belay-worker"):
        for env in _container(_one("Deployment", name)).get("env", []):
            assert "value" not in env, f"{name}: {env['name']} must come from the Secret"
            ref = env["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "belay-secrets"
            refs.add(ref["key"])
    assert {"ARGOCD_AUTH_TOKEN", "BELAY_DATABASE_URL", "BELAY_TOKEN_EXAMPLE_APP"} <= refs
    for key in _one("ConfigMap", "belay-env")["data"]:
        assert "TOKEN" not in key and "PASSWORD" not in key, key


def test_configmap_settings_load_and_name_only_provided_variables(tmp_path: Path) -> None:
    """The ConfigMap's belay.yaml and policy load, and each variable they name is set on the pods."""
    folder = tmp_path / "etc-belay"
    folder.mkdir()
    for key in ("belay.yaml", "policy-default.yaml"):
        (folder / key).write_text(_config_file(key), encoding="utf-8")
    environ = {"BELAY_DATABASE_URL": "postgresql+psycopg://belay@db:5432/belay"}
    settings = load_settings(folder / "belay.yaml", environ=environ)
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.public_url.startswith("https://")
    policy_path = settings.policy_path("default")
    assert policy_path is not None
    policy = parse_policy_set(policy_path.read_text(encoding="utf-8"), source=str(policy_path))
    assert policy.default.belay.commit_binding.enabled

    named = {n for p in settings.projects for n in p.token_env}
    for name in ("belay-api", "belay-worker"):
        provided = _env_names(_container(_one("Deployment", name)))
        missing = named - provided
        assert not missing, f"{name} lacks {missing}, so Belay would refuse to start"
        fake = {n: f"value-of-{n}" for n in provided}
        credentials_from_settings(settings, fake)  # raises ConfigError if one is missing
    api_env = _env_names(_container(_one("Deployment", "belay-api")))
    assert settings.web_token_env in api_env
    # The API signs (the private key's variable); the worker only verifies, with the public
    # half, and never holds the private key.
    assert settings.signing_key_env is not None and settings.verifying_key_env is not None
    api_env = _env_names(_container(_one("Deployment", "belay-api")))
    worker_env = _env_names(_container(_one("Deployment", "belay-worker")))
    assert settings.signing_key_env in api_env
    assert settings.verifying_key_env in worker_env
    assert settings.signing_key_env not in worker_env
    from belay.attest import generate_key_pair, load_signing

    pair = generate_key_pair()
    assert load_signing(settings, {settings.signing_key_env: pair.private_pem}).enabled
    worker = load_signing(settings, {settings.verifying_key_env: pair.public_pem}, sign=False)
    assert worker.verifies and not worker.enabled


def test_argocd_environment_resolves_to_a_tls_instance() -> None:
    """belay-env plus the token resolve to one https Argo CD instance with TLS verification."""
    env = dict(_one("ConfigMap", "belay-env")["data"])
    env["ARGOCD_AUTH_TOKEN"] = "header.payload.signature"
    resolution = resolve_argocd(env)
    instance = resolution.get("default")
    assert instance is not None, resolution.rejected
    assert str(instance.base_url).startswith("https://")
    assert instance.verify_ssl is True


def _egress_ports() -> set[tuple[str, int]]:
    policy = _one("NetworkPolicy", "belay-egress")
    return {
        (port["protocol"], int(port["port"]))
        for rule in policy["spec"]["egress"]
        for port in rule["ports"]
    }


def test_network_policies_allow_only_what_belay_needs() -> None:
    """Default deny; ingress to the API port only; egress to Argo CD, DNS and PostgreSQL only."""
    deny = _one("NetworkPolicy", "belay-default-deny")["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    assert deny["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "belay"}

    ingress = _one("NetworkPolicy", "belay-api-ingress")["spec"]
    assert ingress["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    ports = [p for rule in ingress["ingress"] for p in rule["ports"]]
    api_port = _container(_one("Deployment", "belay-api"))["ports"][0]["containerPort"]
    assert ports == [{"protocol": "TCP", "port": api_port}]

    egress = _one("NetworkPolicy", "belay-egress")["spec"]
    assert egress["policyTypes"] == ["Egress"]
    assert _egress_ports() == {
        ("TCP", 8080),
        ("TCP", 443),
        ("UDP", 53),
        ("TCP", 53),
        ("TCP", 5432),
    }
    for rule in egress["egress"]:
        assert rule.get("to"), "every egress rule names its destination"
        for peer in rule["to"]:
            assert "ipBlock" not in peer, "no open address range"
    argocd = egress["egress"][0]["to"][0]
    assert argocd["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "argocd"}
    assert argocd["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "argocd-server"}


def _pod_templates() -> list[tuple[str, dict[str, Any]]]:
    """Every pod template: the Deployments' and the CronJob's."""
    pods = []
    for _, doc in _documents():
        if doc["kind"] == "Deployment":
            pods.append((doc["metadata"]["name"], doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            pods.append((doc["metadata"]["name"], spec))
    return pods


def test_no_volume_is_an_empty_dir_mounted_read_only() -> None:
    """A read-only emptyDir stays empty forever: nothing could ever fill it."""
    for name, pod in _pod_templates():
        empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            for mount in container["volumeMounts"]:
                assert not (mount["name"] in empty and mount.get("readOnly")), (name, mount)


def test_threat_data_is_written_by_the_job_and_read_by_the_api() -> None:
    """The CronJob writes `belay data refresh --out DIR` to the claim belay-api mounts read-only
    at DIR, where the ConfigMap's policy looks for the KEV and EPSS files."""
    claim = _one("PersistentVolumeClaim", "belay-data")
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    job = _one("CronJob", "belay-data-refresh")
    job_pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (job_container,) = job_pod["containers"]
    args = job_container["args"]
    assert args[:2] == ["data", "refresh"]
    out = args[args.index("--out") + 1]
    job_volumes = {v["name"]: v for v in job_pod["volumes"]}
    (written,) = [m for m in job_container["volumeMounts"] if m["mountPath"] == out]
    assert not written.get("readOnly")
    assert job_volumes[written["name"]]["persistentVolumeClaim"]["claimName"] == "belay-data"
    assert job_container["securityContext"]["readOnlyRootFilesystem"] is True
    assert job_pod["securityContext"]["runAsNonRoot"] is True
    assert job_container["image"] == "belay"

    api_pod = _one("Deployment", "belay-api")["spec"]["template"]["spec"]
    api_volumes = {v["name"]: v for v in api_pod["volumes"]}
    (read,) = [
        m
        for m in _container(_one("Deployment", "belay-api"))["volumeMounts"]
        if m["mountPath"] == out
    ]
    assert read.get("readOnly") is True
    assert api_volumes[read["name"]]["persistentVolumeClaim"]["claimName"] == "belay-data"

    text = _config_file("policy-default.yaml")
    assert f"kev: {out}/{KEV_FILENAME}" in text
    assert f"epss: {out}/{EPSS_FILENAME}" in text

    help_text = subprocess.run(
        [sys.executable, "-m", "belay.cli", "data", "refresh", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert "--out" in help_text.stdout


def test_only_the_data_job_may_reach_the_internet() -> None:
    """The open HTTPS egress selects the data-refresh pods alone, on port 443 alone."""
    policy = _one("NetworkPolicy", "belay-data-refresh-egress")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "data-refresh"
    assert [p for rule in policy["egress"] for p in rule["ports"]] == [
        {"protocol": "TCP", "port": 443}
    ]
    job = _one("CronJob", "belay-data-refresh")
    labels = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "data-refresh"
    for name in ("belay-api", "belay-worker"):
        component = _one("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert component["app.kubernetes.io/component"] != "data-refresh"


def test_image_digest_pinning_is_documented() -> None:
    """kustomization.yaml and deploy/README.md say how to pin the image by digest."""
    kustomization = (KUBE / "kustomization.yaml").read_text()
    assert "kustomize edit set image belay=" in kustomization and "@sha256:" in kustomization
    readme = (REPO / "deploy" / "README.md").read_text()
    assert "pinned by digest" in readme and "--digestfile" in readme
