"""``belay keys generate`` and ``belay attest verify``: the signing key pair, offline checks.

Thin: parse arguments, read files, call :mod:`belay.attest`, print. ``attest verify`` exits 0
when the envelope is valid, 1 when it is not (with the reason), 2 when an input cannot be used.
"""

from __future__ import annotations

import enum
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from belay import jsonio
from belay.cli._common import die, handle_errors
from belay.errors import BadInput
from belay.gate import is_commit_id

__all__ = ["register"]

_MAX_ENVELOPE_BYTES = 16 * 1024 * 1024


class VerifyOutput(enum.StrEnum):
    """``attest verify``'s ``--output`` choices."""

    text = "text"
    json = "json"


keys_app = typer.Typer(help="The key pair that signs Belay's verdicts.", no_args_is_help=True)
attest_app = typer.Typer(help="Signed verdicts (DSSE, in-toto Statement v1).", no_args_is_help=True)


def _read_envelope(source: str) -> bytes:
    if source == "-":
        data = sys.stdin.buffer.read(_MAX_ENVELOPE_BYTES + 1)
        name = "standard input"
    else:
        path = Path(source)
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_ENVELOPE_BYTES + 1)
        except OSError as err:
            raise BadInput(f"envelope {path}: cannot read ({err.strerror or err})") from None
        name = str(path)
    if len(data) > _MAX_ENVELOPE_BYTES:
        raise BadInput(f"envelope {name}: larger than {_MAX_ENVELOPE_BYTES} bytes")
    try:
        document = jsonio.loads(data)
    except ValueError:
        raise BadInput(
            f"envelope {name}: not JSON (give the file the attestationUrl served)"
        ) from None
    if not isinstance(document, dict):
        raise BadInput(f"envelope {name}: not a JSON object")
    return data


@keys_app.command("generate")
@handle_errors
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the two key files.")],
) -> None:
    """Write a new Ed25519 key pair: the private key (mode 0600) and the public key."""
    from belay.attest import write_key_pair

    written = write_key_pair(out)
    created = datetime.now(UTC).replace(microsecond=0)
    typer.echo(f"private key: {written.private_path} (mode 0600: keep it secret)")
    typer.echo(f"public key:  {written.public_path}")
    typer.echo(f"keyid:       {written.keyid}")
    typer.echo("belay.yaml:")
    typer.echo(f"  signing_key_file: {written.private_path}")
    typer.echo(f"  signing_key_created: {created.isoformat().replace('+00:00', 'Z')}")


@attest_app.command("verify")
def verify(
    envelope: Annotated[
        str, typer.Argument(help="The DSSE envelope (JSON file from attestationUrl, or -).")
    ],
    key: Annotated[Path, typer.Option("--key", "-k", help="Belay's public key (PEM).")],
    commit: Annotated[
        str | None, typer.Option("--commit", help="Also require the statement to be about SHA.")
    ] = None,
    require_pass: Annotated[
        bool, typer.Option("--require-pass", help="Also require the decision to be 'pass'.")
    ] = False,
    output: Annotated[VerifyOutput, typer.Option("--output", "-o")] = VerifyOutput.text,
) -> None:
    """Verify a signed verdict offline: 0 valid, 1 invalid (with the reason), 2 bad input."""
    # Imported here, not at the top, so that `belay --help` does not load the store and gate.
    from belay.attest import (
        AttestationInvalid,
        Envelope,
        KeyFileError,
        Keyring,
        read_public_key,
        verify_attestation,
    )

    if commit is not None and not is_commit_id(commit.strip()):
        # A statement names the full commit: a prefix could never match, and "invalid" would
        # read as tampering.
        die(f"--commit: {commit[:80]!r} is not a full commit id (40 or 64 hex characters)")
    try:
        data = _read_envelope(envelope)
        public = read_public_key(key)
    except (BadInput, KeyFileError) as err:
        die(str(err))
    try:
        verified = verify_attestation(Envelope.from_json(data), Keyring.of([public]), commit=commit)
        decision = verified.statement.predicate.decision
        if require_pass and decision != "pass":
            raise AttestationInvalid(f"the signed decision is {decision!r}, not 'pass'")
    except AttestationInvalid as err:
        if output is VerifyOutput.json:
            typer.echo(jsonio.dumps_text({"valid": False, "reason": str(err)}))
        die(f"invalid: {err}", 1)
    summary = verified.summary()
    if output is VerifyOutput.json:
        typer.echo(jsonio.dumps_text(summary, indent=True))
        return
    typer.echo(f"valid: signed by key {summary['keyid']}")
    typer.echo(f"commit:   {summary['commit'] or '-'}")
    typer.echo(f"decision: {summary['decision']} ({summary['summary']})")
    policy = summary["policy"]
    typer.echo(f"policy:   {policy.get('name') or '-'} sha256:{policy.get('sha256') or '-'}")
    typer.echo(f"project:  {summary['project'] or '-'}; decided at {summary['decidedAt']}")


def register(app: typer.Typer) -> None:
    """Add ``keys`` and ``attest`` to ``app``."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(attest_app, name="attest")
