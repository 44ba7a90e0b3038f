"""The one error of the upload checks: what is wrong, the fix, and the status."""

from __future__ import annotations


class UploadRefused(Exception):
    """A refused upload. ``status`` is 413 (too big), 415 (wrong type) or 422 (bad content)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
