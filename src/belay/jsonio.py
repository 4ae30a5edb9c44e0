"""The one JSON codec: orjson, wrapped so that callers never import it directly.

orjson is several times faster than the standard library on large scanner reports and Argo CD
objects, and it rejects invalid UTF-8 and lone surrogates instead of passing them on.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_text", "loads"]

JSONDecodeError = orjson.JSONDecodeError


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON; raises :class:`JSONDecodeError` (a ``ValueError``) on bad input."""
    return orjson.loads(data)


def dumps(value: Any, *, indent: bool = False, sort_keys: bool = False) -> bytes:
    """Serialise to UTF-8 JSON bytes; pydantic models are dumped in JSON mode."""
    option = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
    if indent:
        option |= orjson.OPT_INDENT_2
    if sort_keys:
        option |= orjson.OPT_SORT_KEYS
    return orjson.dumps(value, option=option, default=_default)


def dumps_text(value: Any, *, indent: bool = False, sort_keys: bool = False) -> str:
    """Like :func:`dumps` but returns ``str``."""
    return dumps(value, indent=indent, sort_keys=sort_keys).decode()


def _default(value: Any) -> Any:
    # Sets, tuples of unusual types and pydantic models are the only extras we meet.
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
