"""The attestation package's errors, grouped by what the caller should do::

    BelayError
    └── AttestError                 base of this package's errors
        ├── AttestationInvalid      the envelope or its statement does not verify: refuse it
        └── KeyFileError            (BadInput) a key file, PEM or key setting cannot be used

An invalid attestation is a security decision (exit 1 in ``belay attest verify``, a refused
job in the worker); a key that cannot be read is the operator's input (exit 2, or Belay does not
start). Messages are one line and never hold key material.
"""

from __future__ import annotations

from belay.errors import BadInput, BelayError

__all__ = ["AttestError", "AttestationInvalid", "KeyFileError"]


class AttestError(BelayError):
    """Base of the attestation package's errors."""


class AttestationInvalid(AttestError):
    """The envelope, its signature or its statement does not verify; ``str(err)`` says why."""


class KeyFileError(AttestError, BadInput):
    """A key (file, environment variable or PEM text) cannot be used."""
