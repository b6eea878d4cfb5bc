"""API errors: one JSON shape, ``{"error": {"status", "code", "message"}}``, with a clear message."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the API answers with ``status`` and a message that says what to do instead."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")


_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    500: "internal",
    501: "not_implemented",
}


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"status": status, "code": code or _CODES.get(status, "error"), "message": message}}


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def bad_param(name: str, value: Any, expected: str) -> ApiError:
    return ApiError(400, f"parameter {name!r}: {value!r} is not {expected}")
