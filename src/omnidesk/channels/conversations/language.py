"""Language of a customer's text, among the tenant's languages only (lingua-language-detector).

Short texts ("ok", "thanks") are too short to tell: below `MIN_LETTERS` letters, or when no
language is clearly ahead, the answer is None and the contact simply has no detected language.
Detectors are built once per language set; lingua loads its models lazily (a fraction of a
second the first time), so detection runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

MIN_LETTERS = 10
LANGUAGE_CODES = tuple(sorted(lang.iso_code_639_1.name.lower() for lang in Language.all()))
MIN_CONFIDENCE = 0.5


def supported(code: str) -> bool:
    return code in LANGUAGE_CODES


@lru_cache(maxsize=32)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(c)) for c in codes]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def detect_sync(text: str, codes: tuple[str, ...]) -> str | None:
    usable = tuple(sorted({c for c in codes if supported(c)}))
    if not usable:
        return None
    if len(usable) == 1:
        return usable[0]
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    values = _detector(usable).compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return values[0].language.iso_code_639_1.name.lower()


async def detect(text: str | None, codes: list[str]) -> str | None:
    if not text:
        return None
    return await asyncio.to_thread(detect_sync, text[:2000], tuple(codes))
