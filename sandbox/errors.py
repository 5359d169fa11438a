"""The one exception type the sandbox raises for client mistakes; the server maps it to Asana's error body."""

from __future__ import annotations


class ApiError(Exception):
    """A request the real API would refuse: carries the HTTP status and Asana-style message/help."""

    def __init__(
        self, status: int, message: str, help_text: str | None = None, extra: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.extra = extra or {}  # additional top-level body keys (e.g. `sync` on a 412)
        self.status = status
        self.message = message
        self.help = help_text or (
            "For more information on API status codes and how to handle them, read the docs on errors: "
            "https://developers.asana.com/docs/errors"
        )


def not_found(kind: str, gid: str) -> ApiError:
    """Asana's 404 for an unknown object id."""
    return ApiError(404, f"{kind}: Unknown object: {gid}")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
