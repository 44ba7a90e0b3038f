"""Uploaded media: receiving a request body onto disk, and checking that a
video or an image is whole and decodable before anything is kept.

Nothing here knows about HTTP status codes beyond :class:`UploadRefused`,
which carries the status and a message naming the problem and the fix."""

from sightline.uploads.errors import UploadRefused

__all__ = ["UploadRefused"]
