"""ARGOCD_INSTANCES, the integration store, precedence between sources, and malformed sources."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from belay.config import ArgoCDResolution, resolve_argocd
from belay.redact import REDACTED, redact_text

Resolve = Callable[..., ArgoCDResolution]
WriteStore = Callable[[Any], Path]

TOKEN_A = "tok-aaaa-0123456789abcdef"
TOKEN_B = "tok-bbbb-0123456789abcdef"
SINGLE = {"ARGOCD_BASE_URL": "https://single.example.com", "ARGOCD_AUTH_TOKEN": "tok-single-42"}


def test_instances_nested_and_flat(resolve: Resolve) -> None:
    """Entries may nest credentials under `credentials` or put them flat; names and tags kept."""
    entries = [
        {
            "name": "prod",
            "tags": {"env": "prod", "team": "payments"},
            "credentials": {"base_url": "https://prod.example.com/", "bearer_token": TOKEN_A},
        },
        {
            "name": "staging",
            "tags": ["staging", "eu"],
            "base_url": "https://staging.example.com",
            "username": "belay",
            "password": "pass-word-123",
            "project": "web",
            "verify_ssl": "false",
        },
    ]
    result = resolve({"ARGOCD_INSTANCES": json.dumps(entries)})
    assert [i.name for i in result.instances] == ["prod", "staging"]
    prod, staging = result.instances
    assert result.default == prod
    assert prod.tags == ("env=prod", "team=payments")
    assert prod.source == "ARGOCD_INSTANCES[0]"
    assert prod.token is not None and prod.token.get_secret_value() == TOKEN_A
    assert staging.tags == ("staging", "eu")
    assert staging.username == "belay" and staging.project == "web"
    assert staging.verify_ssl is False
    assert result.get("staging") == staging
    assert result.rejected == ()


@pytest.mark.parametrize("key", ["bearer_token", "auth_token", "token"])
def test_instances_token_keys(resolve: Resolve, key: str) -> None:
    """bearer_token, auth_token and token are all accepted (with or without Bearer)."""
    entry = {
        "name": "a",
        "credentials": {"base_url": "https://a.example.com", key: f"Bearer {TOKEN_A}"},
    }
    result = resolve({"ARGOCD_INSTANCES": json.dumps([entry])})
    assert result.default is not None and result.default.token is not None
    assert result.default.token.get_secret_value() == TOKEN_A


def test_first_valid_instance_is_default(resolve: Resolve) -> None:
    """An invalid first entry is reported and the next valid one becomes the default."""
    entries = [
        {"name": "bad", "base_url": "http://remote.example.com", "token": TOKEN_A},
        {"name": "good", "base_url": "https://good.example.com", "token": TOKEN_B},
    ]
    result = resolve({"ARGOCD_INSTANCES": json.dumps(entries)})
    assert result.default is not None and result.default.name == "good"
    (rejected,) = result.rejected
    assert rejected.name == "bad"
    assert rejected.source == "ARGOCD_INSTANCES[0]"
    assert "ARGOCD_INSTANCES[0].base_url uses plain http://" in rejected.reason


def test_instances_replace_single_variables(resolve: Resolve) -> None:
    """When ARGOCD_INSTANCES is set the single-instance variables are ignored, with a warning."""
    entries = [{"name": "multi", "base_url": "https://multi.example.com", "token": TOKEN_A}]
    result = resolve({**SINGLE, "ARGOCD_INSTANCES": json.dumps(entries)})
    assert [i.name for i in result.instances] == ["multi"]
    assert any("ARGOCD_BASE_URL" in w and "ignored" in w for w in result.warnings)


def test_instance_ambiguous_and_conflicting_token_keys(resolve: Resolve) -> None:
    """Inside an entry, token plus password is ambiguous and two different tokens conflict."""
    entries = [
        {
            "name": "amb",
            "base_url": "https://a.example.com",
            "token": TOKEN_A,
            "username": "u",
            "password": "pass-word-123",
        },
        {
            "name": "two",
            "credentials": {
                "base_url": "https://b.example.com",
                "token": TOKEN_A,
                "bearer_token": TOKEN_B,
            },
        },
        {"name": "mixed", "credentials": {"base_url": "https://c.example.com"}, "token": TOKEN_A},
    ]
    result = resolve({"ARGOCD_INSTANCES": json.dumps(entries)})
    assert result.instances == ()
    reasons = {r.name: r.reason for r in result.rejected}
    assert "ambiguous authentication" in reasons["amb"]
    assert "conflicting aliases" in reasons["two"]
    assert "both nested under 'credentials' and flat" in reasons["mixed"]
    dumped = result.model_dump_json()
    assert TOKEN_A not in dumped and TOKEN_B not in dumped and "pass-word-123" not in dumped


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('[{"name": "a", ', "not valid JSON (line 1"),
        ('{"name": "a"}', "must be a JSON array"),
        ("[]", "empty array"),
        ("[42]", "is not a JSON object"),
        ('[{"name": "a", "base_url": "https://a.example.com", "token": 5}]', "must be a string"),
        (
            '[{"name": "a", "base_url": "https://a.example.com", "token": "tok-xyz-123", '
            '"tags": [1, 2]}]',
            "tags must be a list of strings",
        ),
    ],
)
def test_malformed_instances_are_rejected_not_raised(
    resolve: Resolve, value: str, expected: str
) -> None:
    """Bad ARGOCD_INSTANCES gives a rejection naming the source, never an exception."""
    result = resolve({**SINGLE, "ARGOCD_INSTANCES": value})
    assert result.instances == ()
    assert result.rejected, "a malformed source must be reported"
    assert any(expected in r.reason for r in result.rejected)
    assert all(r.source.startswith("ARGOCD_INSTANCES") for r in result.rejected)


def test_malformed_instances_never_leak_the_token(resolve: Resolve) -> None:
    """A token inside broken JSON is not quoted back, and stays registered for redaction."""
    secret = "tok-in-broken-json-998877"
    result = resolve({"ARGOCD_INSTANCES": f'[{{"token": "{secret}", }}'})
    assert secret not in result.model_dump_json()
    result = resolve({"ARGOCD_INSTANCES": json.dumps({"token": secret})})
    assert redact_text(secret) == REDACTED


def test_store_version_1(resolve: Resolve, write_store: WriteStore) -> None:
    """Version 1 records: active argocd ones count, inactive and other services do not."""
    write_store(
        {
            "version": 1,
            "integrations": [
                {"id": "slack-1", "service": "slack", "status": "active", "credentials": {}},
                {
                    "id": "old",
                    "service": "argocd",
                    "status": "disabled",
                    "credentials": {"base_url": "https://old.example.com", "token": TOKEN_B},
                },
                {
                    "id": "argo-prod",
                    "service": "argocd",
                    "status": "active",
                    "credentials": {
                        "base_url": "https://prod.example.com",
                        "auth_token": TOKEN_A,
                        "project": "payments",
                        "app_namespace": "apps",
                        "verify_ssl": True,
                    },
                },
            ],
        }
    )
    result = resolve({})
    (instance,) = result.instances
    assert instance.name == "argo-prod"
    assert instance.source == "store:argo-prod"
    assert instance.project == "payments" and instance.app_namespace == "apps"
    assert result.rejected == ()


def test_store_version_2(resolve: Resolve, write_store: WriteStore) -> None:
    """Version 2 records hold named, tagged instances."""
    write_store(
        {
            "version": 2,
            "integrations": [
                {
                    "id": "argocd",
                    "service": "argocd",
                    "status": "active",
                    "instances": [
                        {
                            "name": "prod",
                            "tags": {"env": "prod"},
                            "credentials": {
                                "base_url": "https://prod.example.com",
                                "token": TOKEN_A,
                            },
                        },
                        {
                            "name": "lab",
                            "tags": ["lab"],
                            "credentials": {
                                "base_url": "http://127.0.0.1:9000",
                                "username": "admin",
                                "password": "pass-word-123",
                            },
                        },
                    ],
                },
            ],
        }
    )
    result = resolve({})
    assert [(i.name, i.source, i.tags) for i in result.instances] == [
        ("prod", "store:argocd/prod", ("env=prod",)),
        ("lab", "store:argocd/lab", ("lab",)),
    ]
    assert any("plain http://" in w for w in result.instances[1].warnings)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON (line 1"),
        ("", "is empty"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"version": 3, "integrations": []}', "unknown version 3 (expected 1 or 2)"),
        ('{"version": "two", "integrations": []}', "unknown version str"),
        ('{"version": 2, "integrations": {}}', "'integrations' must be a JSON array"),
    ],
)
def test_malformed_store_is_rejected_not_raised(
    resolve: Resolve, write_store: WriteStore, store_file: Path, content: str, expected: str
) -> None:
    """A broken store file is one rejection naming the file; the env instance still works."""
    write_store(content)
    result = resolve(SINGLE)
    assert [i.name for i in result.instances] == ["default"]
    (rejected,) = result.rejected
    assert rejected.source == f"store:{store_file}"
    assert str(store_file) in rejected.reason
    assert expected in rejected.reason


def test_store_bad_records_are_reported(resolve: Resolve, write_store: WriteStore) -> None:
    """Records of the wrong shape are rejected one by one with their place in the file."""
    write_store(
        {
            "version": 2,
            "integrations": [
                "nonsense",
                {"id": "noinst", "service": "argocd", "status": "active"},
                {
                    "id": "v1shape",
                    "service": "argocd",
                    "status": "active",
                    "credentials": {"base_url": "https://x.example.com", "token": TOKEN_A},
                },
            ],
        }
    )
    result = resolve({})
    assert result.instances == ()
    reasons = [r.reason for r in result.rejected]
    assert reasons[0] == "store[0] is not a JSON object"
    assert "'instances' must be a non-empty array" in reasons[1]
    assert "'instances' must be a non-empty array" in reasons[2]


def test_store_path_from_environment(tmp_path: Path, write_store: WriteStore) -> None:
    """BELAY_INTEGRATIONS_FILE picks the store when no store_path is given."""
    path = write_store(
        {
            "version": 1,
            "integrations": [
                {
                    "id": "x",
                    "service": "argocd",
                    "status": "active",
                    "credentials": {"base_url": "https://x.example.com", "token": TOKEN_A},
                }
            ],
        }
    )
    result = resolve_argocd({"BELAY_INTEGRATIONS_FILE": str(path)}, dotenv_path=tmp_path / ".env")
    assert [i.name for i in result.instances] == ["x"]


def test_store_readable_by_others_warns(resolve: Resolve, write_store: WriteStore) -> None:
    """A store file with group/other permissions gives a warning to chmod it."""
    path = write_store({"version": 2, "integrations": []})
    os.chmod(path, 0o644)
    result = resolve({})
    assert any("mode 0644" in w and "chmod 600" in w for w in result.warnings)


def test_precedence_env_then_store_and_shadowing(resolve: Resolve, write_store: WriteStore) -> None:
    """The env instance comes before store instances; a store instance of the same name is
    reported as shadowed."""
    write_store(
        {
            "version": 2,
            "integrations": [
                {
                    "id": "argocd",
                    "service": "argocd",
                    "status": "active",
                    "instances": [
                        {
                            "name": "default",
                            "credentials": {"base_url": "https://s1.example.com", "token": TOKEN_A},
                        },
                        {
                            "name": "other",
                            "credentials": {"base_url": "https://s2.example.com", "token": TOKEN_B},
                        },
                    ],
                }
            ],
        }
    )
    result = resolve(SINGLE)
    assert [(i.name, i.source) for i in result.instances] == [
        ("default", "env"),
        ("other", "store:argocd/other"),
    ]
    (shadowed,) = result.rejected
    assert shadowed.source == "store:argocd/default"
    assert "shadowed" in shadowed.reason and "env" in shadowed.reason


def test_store_is_used_when_env_is_rejected(resolve: Resolve, write_store: WriteStore) -> None:
    """A rejected env configuration is reported; the store's instance is the default then."""
    write_store(
        {
            "version": 1,
            "integrations": [
                {
                    "id": "s",
                    "service": "argocd",
                    "status": "active",
                    "credentials": {"base_url": "https://s.example.com", "token": TOKEN_A},
                }
            ],
        }
    )
    result = resolve({"ARGOCD_BASE_URL": "http://remote.example.com", "ARGOCD_TOKEN": TOKEN_B})
    assert result.default is not None and result.default.name == "s"
    assert result.rejected[0].source == "env"


def test_same_order_every_call(resolve: Resolve, write_store: WriteStore) -> None:
    """Resolution is deterministic: two calls give equal results."""
    write_store({"version": 2, "integrations": []})
    assert resolve(SINGLE) == resolve(SINGLE)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "tags",
                    "credentials",
                    "base_url",
                    "token",
                    "username",
                    "password",
                    "verify_ssl",
                    "version",
                    "integrations",
                    "instances",
                    "service",
                    "status",
                    "id",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(instances=_json_values, store=_json_values, garbage=st.text(max_size=30))
def test_resolver_never_raises(tmp_path: Path, instances: Any, store: Any, garbage: str) -> None:
    """Whatever JSON (or text) the sources hold, resolution returns instead of raising."""
    store_path = tmp_path / "fuzz-store.json"
    store_path.write_text(json.dumps(store))
    result = resolve_argocd(
        {"ARGOCD_INSTANCES": json.dumps(instances)},
        dotenv_path=tmp_path / ".nope",
        store_path=store_path,
    )
    assert isinstance(result, ArgoCDResolution)
    store_path.write_text(garbage)
    result = resolve_argocd(
        {"ARGOCD_INSTANCES": garbage, "ARGOCD_BASE_URL": garbage},
        dotenv_path=tmp_path / ".nope",
        store_path=store_path,
    )
    assert isinstance(result, ArgoCDResolution)
