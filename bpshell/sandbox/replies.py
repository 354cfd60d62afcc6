"""What the sandbox answers: a reply value, and the API's JSON and error bodies.

Errors have the API's shape ``{"id", "code", "type", "message"}``, except the rate limiter's
429, whose body is the one the API reference shows: ``{"type", "description", "status"}``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
NO_BODY_STATUSES = frozenset({204, 205, 304})

DEFAULT_ERROR_TYPES: Mapping[int, str] = {
    400: "InvalidPayload",
    401: "Unauthorized",
    402: "PaymentRequired",
    403: "Forbidden",
    404: "ResourceNotFound",
    405: "MethodNotFound",
    409: "AlreadyExists",
    410: "ResourceGone",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "RateLimited",
    500: "Internal",
    504: "OperationTimeout",
}
RATE_LIMITED_BODY: Mapping[str, object] = {
    "type": "RateLimited",
    "description": "The request has been rate-limited.",
    "status": 429,
}


@dataclass
class Reply:
    """An answer about to be sent; ``content_type`` None sends no Content-Type."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)


class ApiError(Exception):
    """Raised by an operation to answer with an error body of ``error_type``."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def json_reply(status: int, payload: object) -> Reply:
    """``payload`` as a JSON answer."""
    return Reply(status, json.dumps(payload).encode())


def error_reply(
    status: int, error_type: str, message: str, headers: list[tuple[str, str]] | None = None
) -> Reply:
    """An error answer in the API's shape, with a fresh ``err_`` id."""
    body = {
        "id": f"err_{secrets.token_hex(12)}",
        "code": status,
        "type": error_type,
        "message": message,
    }
    return Reply(status, json.dumps(body).encode(), headers=headers or [])


def api_error_reply(error: ApiError) -> Reply:
    """The answer to an :class:`ApiError`."""
    return error_reply(error.status, error.error_type, error.message)


def rate_limited_reply() -> Reply:
    """The rate limiter's 429 (no ``Retry-After``: the ``RateLimit-*`` headers say when)."""
    return json_reply(429, dict(RATE_LIMITED_BODY))
