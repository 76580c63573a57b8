"""Image attachments for prompts (spec F2): checked here so every entry point agrees."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from core.errors import UserError

MAX_IMAGES = 10
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024

# What the file's first bytes must look like for each accepted type.
_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


@dataclass(frozen=True)
class Image:
    media_type: str
    data: bytes
    name: str = "image"

    def content_block(self) -> dict:
        return {"type": "image", "source": {"type": "base64", "media_type": self.media_type,
                                            "data": base64.b64encode(self.data).decode("ascii")}}

    def summary(self) -> dict:
        return {"name": self.name, "media_type": self.media_type, "size": len(self.data)}


def _looks_like(media_type: str, data: bytes) -> bool:
    if media_type == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return any(data.startswith(sig) for sig in _SIGNATURES[media_type])


def from_base64(media_type: str, b64: str, name: str = "image") -> Image:
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UserError(f"{name}: the image data is not valid base64") from exc
    return Image(media_type=media_type, data=data, name=name)


def validate(images: list[Image]) -> list[Image]:
    """Raise a UserError that names the first problem; return the images unchanged."""
    if len(images) > MAX_IMAGES:
        raise UserError(f"At most {MAX_IMAGES} images per message (got {len(images)}).")
    total = 0
    for image in images:
        if image.media_type not in _SIGNATURES:
            raise UserError(f"{image.name}: {image.media_type or 'unknown type'} is not supported; "
                            "use JPEG, PNG, GIF or WebP.")
        size = len(image.data)
        if size == 0:
            raise UserError(f"{image.name}: the file is empty.")
        if size > MAX_IMAGE_BYTES:
            raise UserError(f"{image.name}: {size / 1048576:.1f} MB is over the 5 MB limit per image.")
        if not _looks_like(image.media_type, image.data):
            raise UserError(f"{image.name}: the file is not a valid {image.media_type.split('/')[1].upper()}.")
        total += size
    if total > MAX_TOTAL_BYTES:
        raise UserError(f"The images add up to {total / 1048576:.1f} MB, over the 20 MB limit per message.")
    return images
