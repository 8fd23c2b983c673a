"""Domain errors: raised by service functions, turned into the API error body by ``api/errors.py``.

Services never build HTTP responses; they state what went wrong (not found, bad input, gone...) and
the API layer maps each class to its status code. This keeps the same operations usable from the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ServiceError(Exception):
    """Base class: ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str = "", errors: Sequence[dict[str, Any] | str] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = [e if isinstance(e, dict) else {"description": e} for e in errors]
        self.headers = headers or {}


class BadRequest(ServiceError, ValueError):
    status = 400


class Unauthorized(ServiceError):
    status = 401

    def __init__(self, message: str = "Missing, unknown or expired token.") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError, LookupError):
    status = 404


class Conflict(ServiceError, ValueError):
    status = 409


class Gone(ServiceError):
    status = 410


class PayloadTooLarge(ServiceError):
    status = 413


class UnsupportedMediaType(ServiceError, ValueError):
    status = 415


class Unprocessable(ServiceError, ValueError):
    status = 422


class TooManyRequests(ServiceError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Rate limit exceeded; retry in {retry_after} s.", headers={"Retry-After": str(retry_after)}
        )
        self.retry_after = retry_after
