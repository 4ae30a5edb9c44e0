"""Argo CD's wire conventions: timestamps, gRPC codes and the grpc-gateway error body.

The real server answers errors as ``{"error": msg, "code": <grpc code>, "message": msg}`` with the
HTTP status grpc-gateway v1.16 derives from the code; times are RFC 3339 with second precision.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = [
    "GRPC_FOR_HTTP",
    "HTTP_FOR_GRPC",
    "error_body",
    "format_time",
    "kitchen_time",
    "parse_time",
]

# grpc-gateway v1.16 HTTPStatusFromCode.
HTTP_FOR_GRPC: dict[int, int] = {
    1: 408,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}

# The code an injected HTTP status is reported with (the inverse of the table above, picked).
GRPC_FOR_HTTP: dict[int, int] = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    408: 1,
    409: 10,
    429: 8,
    500: 2,
    501: 12,
    502: 14,
    503: 14,
    504: 4,
}


def error_body(code: int, message: str) -> dict[str, Any]:
    """The grpc-gateway error object (``details`` omitted, as it is when empty)."""
    return {"error": message, "code": code, "message": message}


def format_time(epoch: float) -> str:
    """RFC 3339 UTC with second precision, as ``metav1.Time`` marshals."""
    return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kitchen_time(epoch: float) -> str:
    """Go's ``time.Kitchen`` layout (``3:04PM``), used in the retry message."""
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return f"{moment.hour % 12 or 12}:{moment.minute:02d}{'AM' if moment.hour < 12 else 'PM'}"


def parse_time(value: str | float | int) -> float:
    """Epoch seconds from a number or an ISO 8601 / RFC 3339 string (``Z`` allowed)."""
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()
