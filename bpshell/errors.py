"""The errors bpshell raises, and the exit status each one ends a run with.

Every error a user can meet is a :class:`BpError`; ``cli`` is the only place that turns one
into an exit status and a message. The tree::

    BpError                       exit 1 unless noted
    ├── UsageError                exit 2: bad flags, bad values, missing input when not interactive
    ├── ConfigError               exit 2: config.json or a .bp-profile unreadable or untrusted
    ├── StorageError              config.json or the keyring could not be written
    ├── ProfileNotFoundError      a named profile does not exist
    ├── NotLoggedInError          no credentials at all
    └── ApiError                  the Botpress Cloud API refused or failed a request
        ├── AuthError             401: the token is invalid or expired
        ├── ForbiddenError        403 Forbidden: the token may not use that workspace
        ├── QuotaExceededError    403 QuotaExceeded, 413 LimitExceeded: a soft limit is reached
        ├── PaymentRequiredError  402 PaymentRequired: the workspace's billing needs attention
        ├── NotFoundError         404 (and 410): the resource does not exist or is not accessible
        ├── RateLimitedError      429, after the retries ran out
        ├── ServerError           5xx, after the retries ran out
        ├── BadResponseError      an answer that is not what the spec promises
        └── NetworkError          no answer at all
            └── ApiTimeoutError   the answer took longer than the timeout
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Exit codes of ``bp``, the same for one-shot runs and shell scripts."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    INTERRUPTED = 130


class BpError(Exception):
    """An error meant for the user: a one-line message plus an optional hint."""

    exit_status = ExitStatus.FAILURE
    kind = "error"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(BpError):
    """Raised when a command line or a value given to it is wrong."""

    exit_status = ExitStatus.USAGE
    kind = "usage"


class ConfigError(BpError):
    """Raised when config.json or a folder's ``.bp-profile`` cannot be read, may not be
    trusted or does not validate; it is left as it is. ``path``: the ``.bp-profile`` refused
    (for ``bp doctor``, which reports it as a check), None for config.json and the home."""

    exit_status = ExitStatus.USAGE
    kind = "config"

    def __init__(self, message: str, hint: str | None = None, path: str | None = None) -> None:
        super().__init__(message, hint)
        self.path = path


class StorageError(BpError):
    """Raised when config.json or the keyring cannot be written; the old state is kept."""

    kind = "storage"


class ProfileNotFoundError(BpError):
    """Raised when a command names a profile that is not in config.json."""

    kind = "profile_not_found"


class NotLoggedInError(BpError):
    """Raised when a command needs credentials and none are stored or given."""

    kind = "not_logged_in"


class ApiError(BpError):
    """Raised when a Botpress Cloud API request fails; ``status`` is the HTTP status or None."""

    kind = "api"

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        api_type: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.api_type = api_type


class AuthError(ApiError):
    """Raised on 401: the token is invalid, revoked or expired."""

    kind = "unauthorized"


class ForbiddenError(ApiError):
    """Raised on 403: the token is valid but may not do this."""

    kind = "forbidden"


class QuotaExceededError(ApiError):
    """Raised on 403 ``QuotaExceeded`` or 413 ``LimitExceeded``: allowed, but over a quota."""

    kind = "quota_exceeded"


class PaymentRequiredError(ApiError):
    """Raised on 402 ``PaymentRequired``."""

    kind = "payment_required"


class NotFoundError(ApiError):
    """Raised on 404: the workspace (or other resource) is unknown or hidden from this token."""

    kind = "not_found"


class RateLimitedError(ApiError):
    """Raised on 429 once the bounded retries are spent."""

    kind = "rate_limited"


class ServerError(ApiError):
    """Raised on 5xx once the bounded retries are spent."""

    kind = "server_error"


class BadResponseError(ApiError):
    """Raised when the API answers something the spec does not allow (bad JSON, redirect...)."""

    kind = "bad_response"


class NetworkError(ApiError):
    """Raised when the API cannot be reached at all."""

    kind = "unreachable"


class ApiTimeoutError(NetworkError):
    """Raised when the API does not answer within the timeout."""

    kind = "timeout"
