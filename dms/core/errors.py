"""Domain errors. Each app keeps its codes in its own errors.py; the API turns these into 4xx JSON."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused the request. `fields` maps a field path to messages."""

    status_code = 400

    def __init__(self, code: str, message: str, *, fields: dict[str, Any] | None = None,
                 status_code: int | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}
        if status_code is not None:
            self.status_code = status_code


class NotFound(DomainError):
    """The object does not exist for this scope. Another tenant's object is "not found" too."""

    status_code = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__("not_found", message)


class InvalidTransition(DomainError):
    status_code = 409

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(
            "invalid_transition",
            f"{entity} cannot go from '{current}' to '{target}'.",
            fields={"status": [f"Current status '{current}' does not allow '{target}'."]},
        )
