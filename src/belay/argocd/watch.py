"""Parsing of Argo CD's application watch stream (``GET /api/v1/stream/applications``).

The server sends one JSON object per event, either newline-delimited
(``{"result": {"type": "MODIFIED", "application": {...}}}``) or, when the client asked for
``text/event-stream``, as Server-Sent Events (``data: {...}`` lines, ``:`` keepalive comments,
a blank line ending each event). A ``{"error": {...}}`` object in the stream becomes an
:class:`~belay.argocd.errors.ArgoCDError`; anything that is not JSON of that shape becomes an
:class:`~belay.argocd.errors.ArgoCDProtocolError`. These functions do no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import ValidationError

from belay import jsonio
from belay.argocd.errors import ArgoCDProtocolError, error_from_stream
from belay.argocd.models import WatchEvent

__all__ = ["iter_ndjson_payloads", "iter_sse_payloads", "parse_watch_payload"]

_SNIPPET = 120


def iter_ndjson_payloads(lines: Iterable[str]) -> Iterator[str]:
    """Yield each non-blank line of a newline-delimited JSON stream."""
    for line in lines:
        if line.strip():
            yield line


def iter_sse_payloads(
    lines: Iterable[str], *, until: Callable[[], object] | None = None
) -> Iterator[str]:
    """Yield the data of each Server-Sent Event; comments and other fields are skipped.

    ``until`` is called at each comment (a keepalive) between events; once it returns true the
    iteration ends there, as if the server had ended the stream (a quiet stream thus still gives
    its reader a turn at each keepalive).
    """
    data: list[str] = []
    for line in lines:
        if not line.strip():
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            if until is not None and not data and until():
                return
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def parse_watch_payload(
    payload: str, *, instance: str = "default", path: str | None = None
) -> WatchEvent:
    """Turn one stream object into a :class:`WatchEvent`, or raise the error it carries."""

    def protocol_error(problem: str) -> ArgoCDProtocolError:
        snippet = " ".join(payload.split())[:_SNIPPET]
        return ArgoCDProtocolError(
            f'Argo CD "{instance}" sent a watch event that is {problem} for GET {path}: {snippet}',
            instance=instance,
            method="GET",
            path=path,
            status_code=200,
        )

    try:
        obj: Any = jsonio.loads(payload)
    except ValueError:
        raise protocol_error("not JSON") from None
    if not isinstance(obj, dict):
        raise protocol_error("not a JSON object")
    if obj.get("error"):
        application = None
        raise error_from_stream(obj["error"], instance=instance, path=path, application=application)
    result = obj.get("result")
    if not isinstance(result, dict):
        raise protocol_error('missing its "result" object')
    try:
        return WatchEvent.model_validate(result)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise protocol_error(f"not an application event ({where}: {first['msg']})") from None
