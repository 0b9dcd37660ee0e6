"""What a logo is, told by its first bytes: the client's content type and file name are only
claims. Only raster formats the browser draws without running anything are taken; SVG is an
XML document that can carry script and is refused."""

from __future__ import annotations

LOGO_TYPES = ("image/png", "image/jpeg", "image/webp")


def sniff_image(data: bytes) -> str | None:
    """The media type of a PNG, JPEG or WebP file, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def looks_like_svg(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head
