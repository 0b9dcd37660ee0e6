"""A sorted list split into chunks: O(log n) search, O(chunk) insert and delete.

Why not `bisect.insort` on one list: a line of 200,000 contacts would memmove ~1.6 MB whenever
the head is taken. Why not a heap: the engine walks a line in order and removes contacts from
its middle (cancel, offer), which a heap cannot do cheaply. Items must be totally ordered and
unique (the engine's keys end in a unique sequence number).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from itertools import chain
from typing import Any, Generic, TypeVar

T = TypeVar("T", bound=Any)

CHUNK = 512


class SortedList(Generic[T]):
    __slots__ = ("_chunks", "_len", "_maxes")

    def __init__(self) -> None:
        self._chunks: list[list[T]] = []
        self._maxes: list[T] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[T]:
        # chain (C) rather than a generator: routing often reads only the first item or two.
        return chain.from_iterable(self._chunks)

    def first(self) -> T:
        return self._chunks[0][0]

    def add(self, item: T) -> None:
        maxes = self._maxes
        if not maxes:
            self._chunks.append([item])
            maxes.append(item)
        else:
            i = bisect_left(maxes, item)
            if i == len(maxes):  # the common case: a new arrival at the end of the line
                i -= 1
                self._chunks[i].append(item)
                maxes[i] = item
            else:
                insort(self._chunks[i], item)
            if len(self._chunks[i]) > CHUNK * 2:
                chunk = self._chunks[i]
                half = len(chunk) // 2
                self._chunks[i : i + 1] = [chunk[:half], chunk[half:]]
                maxes[i : i + 1] = [chunk[half - 1], chunk[-1]]
        self._len += 1

    def remove(self, item: T) -> None:
        maxes = self._maxes
        i = bisect_left(maxes, item)
        if i == len(maxes):
            raise ValueError("item not in list")
        chunk = self._chunks[i]
        j = bisect_left(chunk, item)
        if j == len(chunk) or chunk[j] != item:
            raise ValueError("item not in list")
        del chunk[j]
        self._len -= 1
        if not chunk:
            del self._chunks[i]
            del maxes[i]
        elif j == len(chunk):
            maxes[i] = chunk[-1]

    def __contains__(self, item: object) -> bool:
        maxes = self._maxes
        i = bisect_left(maxes, item)
        if i == len(maxes):
            return False
        chunk = self._chunks[i]
        j = bisect_left(chunk, item)
        return j < len(chunk) and chunk[j] == item

    def count_before(self, item: T) -> int:
        """How many items sort strictly before `item` (its 0-based position if present)."""
        maxes = self._maxes
        i = bisect_left(maxes, item)
        before = sum(len(chunk) for chunk in self._chunks[:i])
        if i < len(maxes):
            before += bisect_left(self._chunks[i], item)
        return before
