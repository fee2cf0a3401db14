"""Which country a point (or a DMO's bounding box) lies in, offline.

Natural Earth's 1:50m country outlines (data/README.md) answer it by an even-odd ray test.
The outlines are read on first use (about 0.2 s); each country's edges are then bucketed by
latitude band on its first test, so a lookup tests a few dozen edges, not a country's
thousands. A point within about 10 km of a coast but outside every outline (a harbour, a
pier, an island too small for 1:50m) takes the nearest country's code.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import pycountry

DATA = Path(__file__).with_name("data") / "countries-50m.json.gz"
_BAND = 0.25  # degrees of latitude per edge bucket
_NEAR = 0.1  # degrees: how far outside every outline a point may still take the nearest one

Edge = tuple[float, float, float, float]  # x1, y1, x2, y2 (lng, lat)


@dataclass
class _Country:
    code: str
    bbox: tuple[float, float, float, float]  # min lng, min lat, max lng, max lat
    arcs: list[int]
    bands: dict[int, list[Edge]] | None = field(default=None)


@dataclass
class _Atlas:
    countries: list[_Country]
    arcs: list[list[tuple[float, float]]]

    def bands(self, country: _Country) -> dict[int, list[Edge]]:
        if country.bands is None:
            bands: dict[int, list[Edge]] = defaultdict(list)
            for index in country.arcs:
                points = self.arcs[index]
                for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
                    edge = (x1, y1, x2, y2)
                    low, high = min(y1, y2), max(y1, y2)
                    for band in range(math.floor(low / _BAND), math.floor(high / _BAND) + 1):
                        bands[band].append(edge)
            country.bands = dict(bands)
        return country.bands


def _alpha2(properties: dict) -> str | None:
    code = properties.get("isoA2")
    if code and code != "-99":
        return code
    # Natural Earth leaves a few alpha-2 codes out (France, Norway): its alpha-3 has them.
    country = pycountry.countries.get(alpha_3=properties.get("adm0A3", ""))
    return None if country is None else country.alpha_2


@cache
def _atlas() -> _Atlas:
    topology = json.loads(gzip.decompress(DATA.read_bytes()))
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs: list[list[tuple[float, float]]] = []
    for arc in topology["arcs"]:  # delta-encoded quantized positions
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    countries = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = _alpha2(geometry.get("properties") or {})
        if code is None or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        used = [i if i >= 0 else ~i for polygon in polygons for ring in polygon for i in ring]
        xs = [x for i in used for x, _ in arcs[i]]
        ys = [y for i in used for _, y in arcs[i]]
        countries.append(_Country(code, (min(xs), min(ys), max(xs), max(ys)), used))
    return _Atlas(countries, arcs)


def _inside(edges: list[Edge], lng: float, lat: float) -> bool:
    inside = False
    for x1, y1, x2, y2 in edges:
        if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _distance(edges: list[Edge], lng: float, lat: float) -> float:
    best = math.inf
    for x1, y1, x2, y2 in edges:
        dx, dy = x2 - x1, y2 - y1
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else max(0.0, min(1.0, ((lng - x1) * dx + (lat - y1) * dy) / length))
        best = min(best, math.hypot(lng - (x1 + t * dx), lat - (y1 + t * dy)))
    return best


@lru_cache(maxsize=16384)
def _country_at(lat: float, lng: float) -> str | None:
    atlas = _atlas()
    band = math.floor(lat / _BAND)
    near: list[tuple[float, str]] = []
    for country in atlas.countries:
        west, south, east, north = country.bbox
        if not (south - _NEAR <= lat <= north + _NEAR and west - _NEAR <= lng <= east + _NEAR):
            continue
        bands = atlas.bands(country)
        if west <= lng <= east and south <= lat <= north and _inside(bands.get(band, []), lng, lat):
            return country.code
        edges = [e for b in (band - 1, band, band + 1) for e in bands.get(b, ())]
        distance = _distance(edges, lng, lat)
        if distance <= _NEAR:
            near.append((distance, country.code))
    return min(near)[1] if near else None


def country_at(lat: float, lng: float) -> str | None:
    """ISO alpha-2 of the country containing the point, or None (open sea, Antarctica's
    interior has none either: Natural Earth's outline is its coast)."""
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    # ~100 m: listings of one street share a cache entry.
    return _country_at(round(lat, 3), round(lng, 3))


def country_of_area(min_lat: float, max_lat: float, min_lng: float, max_lng: float) -> str | None:
    """The country a bounding box (a DMO's geographic bounds) lies in: its centre's, or the
    most common among a 5x5 grid of points in it (a box centred on a lake or a bay)."""
    centre = country_at((min_lat + max_lat) / 2, (min_lng + max_lng) / 2)
    if centre is not None:
        return centre
    found: dict[str, int] = defaultdict(int)
    for i in range(5):
        for j in range(5):
            code = country_at(
                min_lat + (max_lat - min_lat) * i / 4, min_lng + (max_lng - min_lng) * j / 4
            )
            if code is not None:
                found[code] += 1
    return max(found, key=found.__getitem__) if found else None
