"""ApiError: the one error type of the service; turned into a JSON 4xx body in one place (service.app)."""

from __future__ import annotations


class ApiError(Exception):
    """A problem with the request, answered as {"error": {"code", "message"}} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or []  # extra response headers, e.g. Allow on a 405

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class StartupError(RuntimeError):
    """The service cannot start (e.g. missing or corrupt default weights); its message is one line naming the cause."""
