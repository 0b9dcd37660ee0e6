"""Language of a customer's text, among the tenant's languages only (lingua-language-detector).

Short texts ("ok", "thanks") are too short to tell: below `MIN_LETTERS` letters, or when no
language is clearly ahead, the answer is None and the contact simply has no detected language.
Detectors are built once per language set; lingua loads its models lazily (a second or so the
first time), so the first detection for a language set runs in a worker thread. After that a
chat-sized text is detected in the event loop: a few hundred characters take a tenth of a
millisecond or so, less than the hop to a thread and back; longer texts (mail) still go to a
thread.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

MIN_LETTERS = 10
LANGUAGE_CODES = tuple(sorted(lang.iso_code_639_1.name.lower() for lang in Language.all()))
MIN_CONFIDENCE = 0.5
MAX_CHARS = 2000  # what detection looks at
INLINE_CHARS = 300  # up to this long, detected in the event loop once the models are loaded
_loaded: set[tuple[str, ...]] = set()  # language sets whose models a detection has loaded


def supported(code: str) -> bool:
    return code in LANGUAGE_CODES


@lru_cache(maxsize=32)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(c)) for c in codes]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _usable(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({c for c in codes if supported(c)}))


def detect_sync(text: str, codes: tuple[str, ...]) -> str | None:
    usable = _usable(codes)
    if not usable:
        return None
    if len(usable) == 1:
        return usable[0]
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    values = _detector(usable).compute_language_confidence_values(text)
    _loaded.add(usable)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return values[0].language.iso_code_639_1.name.lower()


async def detect(text: str | None, codes: list[str]) -> str | None:
    if not text:
        return None
    text, usable = text[:MAX_CHARS], _usable(tuple(codes))
    if len(text) <= INLINE_CHARS and usable in _loaded:
        return detect_sync(text, usable)
    return await asyncio.to_thread(detect_sync, text, usable)
