from __future__ import annotations

import pytest

from omnidesk.channels.voice.ivr.locator import (
    Branch,
    StoreLocator,
    branches_from_csv,
    haversine_km,
    postcodes_from_csv,
)

POSTCODES = """postcode,lat,lon,place
10115,52.5320,13.3850,Berlin Mitte
10117,52.5170,13.3890,Berlin Mitte
13597,52.5360,13.2030,Spandau
80331,48.1370,11.5750,Munich
80333,48.1450,11.5680,Munich
8,48.1400,11.5800,Munich area (explicit)
"""

BRANCHES = """name,address,postcode,lat,lon
Mitte,Friedrichstr. 1,10117,52.5170,13.3890
Spandau,Carl-Schurz-Str. 5,13597,52.5360,13.2030
Munich,Marienplatz 1,80331,48.1370,11.5750
"""


@pytest.fixture
def locator() -> StoreLocator:
    return StoreLocator(branches_from_csv(BRANCHES), postcodes_from_csv(POSTCODES))


def test_haversine_known_distance() -> None:
    # Berlin → Munich, about 504 km.
    assert haversine_km(52.5200, 13.4050, 48.1351, 11.5820) == pytest.approx(504, abs=3)
    assert haversine_km(10, 20, 10, 20) == 0


def test_exact_postcode(locator: StoreLocator) -> None:
    found = locator.nearest("13597")
    assert found is not None
    branch, km = found
    assert branch.name == "Spandau" and km == pytest.approx(0, abs=1e-9)
    found = locator.nearest(" 10 115 ")  # spaces are not part of a postcode
    assert found is not None and found[0].name == "Mitte"
    assert found[1] == pytest.approx(1.68, abs=0.05)


def test_unknown_postcode_falls_back_to_the_longest_known_prefix(locator: StoreLocator) -> None:
    # 10999 is not in the table; "10" is the prefix of the two Mitte postcodes.
    assert locator.locate("10999") == pytest.approx((52.5245, 13.387))
    found = locator.nearest("10999")
    assert found is not None and found[0].name == "Mitte"
    # 80999: no 8099 or 809; "80" is derived from 80331 and 80333 only.
    assert locator.locate("80999") == pytest.approx((48.141, 11.5715))
    # 85000: only the explicit area entry "8" matches, but min_prefix is 2.
    assert locator.locate("85000") is None
    wide = StoreLocator(locator.branches, postcodes_from_csv(POSTCODES), min_prefix=1)
    assert wide.locate("85000") == (48.14, 11.58)
    assert locator.nearest("99999") is None


def test_tie_is_broken_by_name_whatever_the_list_order() -> None:
    east = Branch("Zeta", "East St", "20002", 50.0, 10.01)
    west = Branch("Alpha", "West St", "20001", 50.0, 9.99)
    table = {"20000": (50.0, 10.0)}
    for branches in ([east, west], [west, east]):
        found = StoreLocator(branches, table).nearest("20000")
        assert found is not None and found[0] is west


def test_max_distance_and_no_branches() -> None:
    table = {"20000": (50.0, 10.0)}
    far = Branch("Far", "x", "1", 51.0, 10.0)
    assert StoreLocator([far], table, max_distance_km=50).nearest("20000") is None
    assert StoreLocator([far], table, max_distance_km=200).nearest("20000") is not None
    assert StoreLocator([], table).nearest("20000") is None


def test_csv_errors_name_the_line() -> None:
    with pytest.raises(ValueError, match="line 3: lat"):
        postcodes_from_csv("postcode,lat,lon\n1,1,1\n2,91,0\n")
    with pytest.raises(ValueError, match="missing"):
        postcodes_from_csv("code,lat,lon\n1,1,1\n")
    with pytest.raises(ValueError, match="line 2"):
        branches_from_csv("name,address,postcode,lat,lon\nA,x,1,abc,0\n")
