"""Writing the integrations file (`integrations add`), listing it masked, and reading JWT expiry."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.support import unsigned_jwt

from belay.config import (
    ConfigError,
    add_store_instance,
    is_jwt,
    list_store_instances,
    resolve_argocd,
    token_expiry,
)
from belay.errors import BadInput

WriteStore = Callable[[Any], Path]
TOKEN = "tok-write-0123456789abcdef"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_add_creates_folder_and_private_version_2_file(store_file: Path, tmp_path: Path) -> None:
    """The first add creates the folder and a version 2 file with mode 0600."""
    previous = os.umask(0)  # the most permissive umask: the mode must still be 0600
    try:
        instance = add_store_instance(
            store_file,
            base_url="https://argocd.example.com/",
            token=f"Bearer {TOKEN}",
            project="payments",
            tags=["env=prod", "eu"],
        )
    finally:
        os.umask(previous)
    assert _mode(store_file.parent) == 0o700
    assert instance.base_url == "https://argocd.example.com"
    assert _mode(store_file) == 0o600
    document = json.loads(store_file.read_text())
    assert document["version"] == 2
    (record,) = document["integrations"]
    assert record["service"] == "argocd" and record["status"] == "active"
    (entry,) = record["instances"]
    assert entry["name"] == "default"
    assert entry["tags"] == ["env=prod", "eu"]
    assert entry["credentials"]["token"] == TOKEN
    assert entry["credentials"]["project"] == "payments"
    # What was written resolves back to the same instance.
    resolved = resolve_argocd({}, dotenv_path=tmp_path / ".env", store_path=store_file)
    assert resolved.default is not None
    assert resolved.default.base_url == "https://argocd.example.com"
    assert resolved.default.tags == ("env=prod", "eu")
    assert not list(store_file.parent.glob(".*.tmp")), "no temporary file may be left behind"


def test_add_keeps_other_records_and_replaces_same_name(
    write_store: WriteStore, store_file: Path
) -> None:
    """Other services, inactive records and other instances survive; the same name is replaced."""
    write_store(
        {
            "version": 2,
            "extra": {"kept": True},
            "integrations": [
                {"id": "slack", "service": "slack", "status": "active", "credentials": {"x": 1}},
                {
                    "id": "argocd",
                    "service": "argocd",
                    "status": "active",
                    "instances": [
                        {
                            "name": "prod",
                            "credentials": {
                                "base_url": "https://p.example.com",
                                "token": "tok-old-prod-123",
                            },
                        },
                        {
                            "name": "lab",
                            "credentials": {
                                "base_url": "https://l.example.com",
                                "token": "tok-lab-123456",
                            },
                        },
                    ],
                },
            ],
        }
    )
    os.chmod(store_file, 0o644)
    add_store_instance(store_file, name="prod", base_url="https://p2.example.com", token=TOKEN)
    add_store_instance(
        store_file,
        name="new",
        base_url="https://n.example.com",
        username="u",
        password="pass-word-123",
        verify_ssl=False,
    )
    assert _mode(store_file) == 0o600
    document = json.loads(store_file.read_text())
    assert document["extra"] == {"kept": True}
    assert document["integrations"][0]["id"] == "slack"
    instances = document["integrations"][1]["instances"]
    assert [i["name"] for i in instances] == ["prod", "lab", "new"]
    assert instances[0]["credentials"]["base_url"] == "https://p2.example.com"
    assert instances[2]["credentials"]["verify_ssl"] is False
    assert instances[2]["credentials"]["password"] == "pass-word-123"


def test_add_converts_version_1(write_store: WriteStore, store_file: Path) -> None:
    """A version 1 file becomes version 2 with each old record as a one-instance record."""
    write_store(
        {
            "version": 1,
            "integrations": [
                {
                    "id": "old",
                    "service": "argocd",
                    "status": "active",
                    "credentials": {
                        "base_url": "https://old.example.com",
                        "token": "tok-old-123456",
                    },
                },
                {"id": "gh", "service": "github", "status": "active", "credentials": {"t": "x"}},
            ],
        }
    )
    add_store_instance(store_file, name="second", base_url="https://s.example.com", token=TOKEN)
    document = json.loads(store_file.read_text())
    assert document["version"] == 2
    old, github = document["integrations"]
    assert [i["name"] for i in old["instances"]] == ["old", "second"]
    assert github == {
        "id": "gh",
        "service": "github",
        "status": "active",
        "credentials": {"t": "x"},
    }


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"base_url": "http://remote.example.com", "token": TOKEN},
            "--base-url uses plain http://",
        ),
        ({"base_url": "not a url", "token": TOKEN}, "--base-url is not a URL"),
        ({"base_url": "https://a.example.com"}, "no credentials given; set --token"),
        (
            {
                "base_url": "https://a.example.com",
                "token": TOKEN,
                "username": "u",
                "password": "pass-word-123",
            },
            "ambiguous authentication",
        ),
        ({"base_url": "https://a.example.com", "username": "u"}, "--password is not"),
        ({"base_url": "https://a.example.com", "token": TOKEN, "name": " "}, "--name"),
    ],
)
def test_add_refuses_bad_flags(store_file: Path, kwargs: dict[str, Any], expected: str) -> None:
    """Bad flags raise ConfigError (a BadInput) with one line and write nothing."""
    with pytest.raises(ConfigError) as caught:
        add_store_instance(store_file, **kwargs)
    assert isinstance(caught.value, BadInput)
    assert expected in str(caught.value)
    assert TOKEN not in str(caught.value) and "pass-word-123" not in str(caught.value)
    assert not store_file.exists()


def test_add_never_overwrites_a_broken_store(write_store: WriteStore, store_file: Path) -> None:
    """A store that is not JSON is left as it is and the add fails with the reason."""
    write_store("{broken")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        add_store_instance(store_file, base_url="https://a.example.com", token=TOKEN)
    assert store_file.read_text() == "{broken"


def test_list_masks_secrets(write_store: WriteStore, store_file: Path) -> None:
    """Listing shows every Argo CD instance with masked secrets and the reason for bad ones."""
    long_token = "tok-list-0123456789abcdefWXYZ"
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
                            "name": "a",
                            "credentials": {
                                "base_url": "https://a.example.com",
                                "token": long_token,
                            },
                        },
                        {
                            "name": "b",
                            "credentials": {
                                "base_url": "http://remote.example.com",
                                "username": "u",
                                "password": "pass-word-123",
                            },
                        },
                    ],
                },
                {
                    "id": "off",
                    "service": "argocd",
                    "status": "disabled",
                    "instances": [
                        {
                            "name": "c",
                            "credentials": {
                                "base_url": "https://c.example.com",
                                "token": "tok-off-123456",
                            },
                        },
                    ],
                },
            ],
        }
    )
    views = list_store_instances(store_file)
    assert [(v.name, v.status) for v in views] == [
        ("a", "active"),
        ("b", "active"),
        ("c", "disabled"),
    ]
    assert views[0].token == "****WXYZ"
    assert views[1].password == "****"
    assert views[1].problem is not None and "plain http://" in views[1].problem
    dumped = "".join(v.model_dump_json() for v in views)
    assert long_token not in dumped and "pass-word-123" not in dumped


def test_token_expiry_reads_exp_without_verifying() -> None:
    """exp becomes a UTC datetime; no exp, or not a JWT, gives None."""
    exp = int(datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC).timestamp())
    assert token_expiry(unsigned_jwt({"sub": "belay:apiKey", "exp": exp})) == datetime(
        2031, 5, 6, 7, 8, 9, tzinfo=UTC
    )
    never = unsigned_jwt({"sub": "belay-webhook:apiKey", "iat": 1})
    assert token_expiry(never) is None and is_jwt(never)
    assert token_expiry("opaque-token") is None and not is_jwt("opaque-token")
    assert token_expiry("a.!!!.c") is None
    assert token_expiry(unsigned_jwt({"exp": "tomorrow"})) is None
    assert token_expiry(unsigned_jwt({"exp": 10**20})) is None
