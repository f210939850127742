"""Pictures for the sandbox: small generated PNGs for tests, and the sizes Telegram reports.

Pillow reads and writes the images; Telegram answers a photo that is not an image with
IMAGE_PROCESS_FAILED, and the sandbox does the same by asking Pillow to decode it.
"""

from __future__ import annotations

import io
import mimetypes

from PIL import Image, UnidentifiedImageError

THUMBNAIL_SIDE = 90


def make_png(width: int = 64, height: int = 48, color: str = "#2e7d32") -> bytes:
    """A plain PNG of the given size and colour, for tests and the web chat's demo photo."""
    buffer = io.BytesIO()
    Image.new("RGB", (max(1, width), max(1, height)), color).save(buffer, format="PNG")
    return buffer.getvalue()


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height if ``data`` is an image Pillow can decode, else None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def thumbnail(data: bytes) -> tuple[bytes, int, int] | None:
    """A JPEG thumbnail at most 90 px on its long side (Telegram's smallest photo size)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=70)
            return buffer.getvalue(), image.width, image.height
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def guess_mime(file_name: str | None, default: str = "application/octet-stream") -> str:
    if not file_name:
        return default
    return mimetypes.guess_type(file_name)[0] or default


def extension_for(mime_type: str | None, file_name: str | None, default: str) -> str:
    if file_name and "." in file_name:
        return file_name.rsplit(".", 1)[1].lower()[:8]
    if mime_type:
        guessed = mimetypes.guess_extension(mime_type)
        if guessed:
            return guessed.lstrip(".")
    return default
