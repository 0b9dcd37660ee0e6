"""The store locator: a keyed postcode → the nearest of the tenant's branches.

Postcodes are looked up exactly first; an unknown postcode falls back to the longest known
prefix (a postcode district or area), using an explicit table entry for that prefix if there
is one, else the mean centroid of all known postcodes that start with it. Pure: tables in,
answers out.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


@dataclass(frozen=True, slots=True)
class Branch:
    name: str
    address: str
    postcode: str
    lat: float
    lon: float


def normalize_postcode(text: str) -> str:
    return "".join(text.split()).upper()


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _coordinate(value: str, low: float, high: float, what: str) -> float:
    number = float(value)
    if not (low <= number <= high) or math.isnan(number):
        raise ValueError(f"{what} {value!r} out of range")
    return number


def _rows(text: str, required: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"CSV needs the columns {', '.join(required)}; missing {missing}")
    for line, row in enumerate(reader, start=2):
        yield line, {k: (v or "").strip() for k, v in row.items() if k is not None}


def postcodes_from_csv(text: str) -> dict[str, tuple[float, float]]:
    """Columns postcode, lat, lon (more columns are ignored)."""
    table: dict[str, tuple[float, float]] = {}
    for line, row in _rows(text, ("postcode", "lat", "lon")):
        try:
            code = normalize_postcode(row["postcode"])
            if not code:
                raise ValueError("empty postcode")
            table[code] = (
                _coordinate(row["lat"], -90, 90, "lat"),
                _coordinate(row["lon"], -180, 180, "lon"),
            )
        except ValueError as exc:
            raise ValueError(f"line {line}: {exc}") from None
    return table


def branches_from_csv(text: str) -> list[Branch]:
    """Columns name, address, postcode, lat, lon."""
    branches: list[Branch] = []
    for line, row in _rows(text, ("name", "address", "postcode", "lat", "lon")):
        try:
            if not row["name"]:
                raise ValueError("empty name")
            branches.append(
                Branch(
                    name=row["name"],
                    address=row["address"],
                    postcode=normalize_postcode(row["postcode"]),
                    lat=_coordinate(row["lat"], -90, 90, "lat"),
                    lon=_coordinate(row["lon"], -180, 180, "lon"),
                )
            )
        except ValueError as exc:
            raise ValueError(f"line {line}: {exc}") from None
    return branches


class StoreLocator:
    def __init__(
        self,
        branches: Iterable[Branch],
        postcodes: Mapping[str, tuple[float, float]],
        *,
        min_prefix: int = 2,
        max_distance_km: float | None = None,
    ) -> None:
        self.branches = tuple(branches)
        self.min_prefix = min_prefix
        self.max_distance_km = max_distance_km
        self._exact = {normalize_postcode(k): v for k, v in postcodes.items()}
        # prefix → (sum lat, sum lon, count) of the full postcodes under it.
        sums: dict[str, tuple[float, float, int]] = {}
        for code, (lat, lon) in self._exact.items():
            for length in range(min_prefix, len(code)):
                s_lat, s_lon, n = sums.get(code[:length], (0.0, 0.0, 0))
                sums[code[:length]] = (s_lat + lat, s_lon + lon, n + 1)
        self._derived = {p: (a / n, b / n) for p, (a, b, n) in sums.items()}

    def locate(self, postcode: str) -> tuple[float, float] | None:
        """The centroid for a postcode (exact, else the longest known prefix)."""
        code = normalize_postcode(postcode)
        if code in self._exact:
            return self._exact[code]
        for length in range(len(code) - 1, self.min_prefix - 1, -1):
            prefix = code[:length]
            if prefix in self._exact:
                return self._exact[prefix]
            if prefix in self._derived:
                return self._derived[prefix]
        return None

    def nearest(self, postcode: str) -> tuple[Branch, float] | None:
        point = self.locate(postcode)
        if point is None or not self.branches:
            return None
        lat, lon = point

        def key(branch: Branch) -> tuple[float, str, str, str]:
            # Rounded to a metre so equidistant branches (same centroid) compare equal on
            # distance and the tie goes to name, then postcode, then address: the answer must
            # not depend on the order of the tenant's list.
            distance = round(haversine_km(lat, lon, branch.lat, branch.lon), 3)
            return distance, branch.name, branch.postcode, branch.address

        best = min(self.branches, key=key)
        distance = haversine_km(lat, lon, best.lat, best.lon)
        if self.max_distance_km is not None and distance > self.max_distance_km:
            return None
        return best, distance
