"""WCAG 2.x contrast of an accent colour against the white text drawn on it."""

from __future__ import annotations

# WCAG AA for normal text: the header's links and the primary buttons' labels are normal text.
MIN_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(hex_color: str) -> float:
    """(L_white + 0.05) / (L + 0.05), white's relative luminance being 1."""
    return 1.05 / (relative_luminance(hex_color) + 0.05)
