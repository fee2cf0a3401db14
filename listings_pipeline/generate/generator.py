"""Seeded generation of several DMOs' listings, their overlap and their successive snapshots.

Memory stays flat however many records are asked for: a catalogue keeps three integers per
record (source key serial, place id, packed field revisions) and each record is rebuilt from
them, written, and dropped.
"""

from __future__ import annotations

import hashlib
import re
import resource
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from listings_pipeline.generate.output import (
    FORMATS,
    SnapshotWriter,
    TruthWriter,
    source_config,
    write_manifest,
    write_source_config,
)
from listings_pipeline.generate.places import (
    CATEGORY_BY_KEY,
    CHANGE_KINDS,
    MAX_SNAPSHOTS,
    NAME_ATTEMPTS,
    DmoRenderer,
    Place,
    blank_fields,
    bump,
    has_name_typo,
    make_outlet,
    make_place,
    place_category,
    place_name,
    revision,
)
from listings_pipeline.generate.vocabulary import CITIES, DMOS, Category, City, DmoSpec

DEFAULT_IMAGE_BASE_URL = "http://127.0.0.1:8765"
CITY_LIST: tuple[City, ...] = tuple(CITIES.values())
_CITY_INDEX = {c.name: i for i, c in enumerate(CITY_LIST)}
# How often each kind of change happens (the name only changes to fix a typo).
_KIND_WEIGHTS = {
    "description": 35,
    "hours": 20,
    "phone": 15,
    "email": 8,
    "images": 8,
    "attributes": 6,
    "dates": 4,
}
_THREE_WAY_SHARE = 0.15
_HOTEL = CATEGORY_BY_KEY["inn"]
_DOUBLED_WORD = re.compile(
    r"\b(\w+) \1\b"
)  # shared places that a third DMO lists as well, where one can


class GenerateError(ValueError):
    """Parameters the generator cannot honour; the message names the parameter."""


@dataclass(frozen=True)
class DmoSummary:
    dmo_id: int
    slug: str
    name: str
    configs: tuple[Path, ...]
    snapshot_files: tuple[dict[str, Path], ...]  # per snapshot: format → file
    records: tuple[int, ...]  # per snapshot
    shared_records: int  # records in snapshot 0 whose place another DMO lists too


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: Path
    seed: int
    dmos: tuple[DmoSummary, ...]
    manifest_path: Path
    truth_path: Path
    records_written: int  # records rendered (once per snapshot, whatever the formats)
    bytes_written: int  # all snapshot files
    seconds: float
    peak_rss_mb: float  # of the whole process, as reported by getrusage
    shared_places: int
    hard_negatives: int = 0  # pairs of different places at one address and phone

    @property
    def records_per_second(self) -> float:
        return self.records_written / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        lines = [f"Generated into {self.out_dir} (seed {self.seed}):"]
        for dmo in self.dmos:
            counts = ", ".join(str(n) for n in dmo.records)
            lines.append(
                f"  DMO {dmo.dmo_id} {dmo.name}: records per snapshot {counts};"
                f" {dmo.shared_records} shared with another DMO; configs"
                f" {', '.join(p.name for p in dmo.configs)}"
            )
        lines += [
            f"  {self.shared_places} places listed by more than one DMO (truth: {self.truth_path});"
            f" {self.hard_negatives} hard negatives (a hotel's restaurant and its café)",
            f"  manifest: {self.manifest_path}",
            f"  {self.records_written} records, {self.bytes_written / 1e6:.1f} MB in"
            f" {self.seconds:.1f} s ({self.records_per_second:,.0f} records/s),"
            f" peak RSS {self.peak_rss_mb:.0f} MB",
        ]
        return "\n".join(lines)


def source_key(spec: DmoSpec, serial: int) -> str:
    """The DMO's own id for its `serial`-th record; each DMO has its own style."""
    scrambled = f"{serial * 2654435761 % 2**32:08x}"  # odd multiplier: distinct for each serial
    return spec.id_style.format(n=serial, n100k=100_000 + serial, hex=scrambled)


@dataclass
class _Catalogue:
    """What one DMO lists right now: parallel arrays, one entry per record."""

    dmo_id: int
    spec: DmoSpec
    city_indexes: frozenset[int]
    serials: array = field(default_factory=lambda: array("Q"))
    places: array = field(default_factory=lambda: array("Q"))
    revs: array = field(default_factory=lambda: array("Q"))
    next_serial: int = 1
    listed: set[int] = field(default_factory=set)  # every place it has ever listed

    def add(self, place_id: int) -> str:
        serial = self.next_serial
        self.next_serial += 1
        self.serials.append(serial)
        self.places.append(place_id)
        self.revs.append(0)
        self.listed.add(place_id)
        return source_key(self.spec, serial)

    def key(self, i: int) -> str:
        return source_key(self.spec, self.serials[i])


class _World:
    """Places (id → city) and every DMO's catalogue."""

    def __init__(self, seed: int, specs: Sequence[DmoSpec]) -> None:
        self.seed = seed
        self.place_city = array("H")
        self.name_attempt = array("B")
        self.names: set[bytes] = set()  # hashes of (city, name) in use
        self.outlets: dict[int, tuple[int, str]] = {}  # outlet place id → (hotel, kind)
        self.catalogues = [
            _Catalogue(i + 1, spec, frozenset(_CITY_INDEX[c] for c in spec.cities))
            for i, spec in enumerate(specs)
        ]
        self.neighbours = {
            a.dmo_id: [b for b in self.catalogues if b is not a and a.city_indexes & b.city_indexes]
            for a in self.catalogues
        }

    def new_place(self, city_index: int, category: Category | None = None) -> int:
        """A new place in the city, named unlike any other place there (unless even the
        street-qualified draws are all taken)."""
        place_id = len(self.place_city)
        category = category or place_category(self.seed, place_id)
        for attempt in range(2 * NAME_ATTEMPTS):
            name = place_name(self.seed, place_id, attempt, category)
            key = hashlib.blake2b(f"{city_index}/{name.casefold()}".encode(), digest_size=8)
            # A doubled word ("Herring Cove Cove Hotel") counts as taken.
            if key.digest() not in self.names and not _DOUBLED_WORD.search(name):
                break
        self.names.add(key.digest())
        self.place_city.append(city_index)
        self.name_attempt.append(attempt)
        return place_id

    def new_outlet(self, hotel: int, kind: str) -> int:
        """A business in the hotel (a place of its own: its restaurant, its café)."""
        place_id = len(self.place_city)
        self.place_city.append(self.place_city[hotel])
        self.name_attempt.append(0)
        self.outlets[place_id] = (hotel, kind)
        return place_id

    def place(self, place_id: int) -> Place:
        if place_id in self.outlets:
            hotel_id, kind = self.outlets[place_id]
            hotel = make_place(self.seed, hotel_id, CITY_LIST[self.place_city[hotel_id]],
                               self.name_attempt[hotel_id], _HOTEL)  # fmt: skip
            return make_outlet(self.seed, place_id, hotel, kind)
        city = CITY_LIST[self.place_city[place_id]]
        return make_place(self.seed, place_id, city, self.name_attempt[place_id])

    def pick_city(self, rng: Random, indexes: frozenset[int], k: int = 1) -> list[int]:
        ordered = sorted(indexes)
        return rng.choices(ordered, weights=[CITY_LIST[i].weight for i in ordered], k=k)


def _plan_initial(
    world: _World, rng: Random, per_dmo: int, overlap: float, hard_negatives: float = 0.0
) -> tuple[list[list[int]], set[int], list[tuple[int, int, int, int]]]:
    """Place ids for each DMO's first snapshot (shared places and its own, shuffled), the set
    of shared places, and the hard negatives: (DMO, its place, other DMO, its place) where the
    first lists a hotel's restaurant and the other the same hotel's café (same address, phone
    and coordinates; different places). About `hard_negatives` of each DMO's records are such
    outlets.

    Shared places are created one at a time for the DMO furthest below its target, with the
    neighbour (a DMO covering a common city) furthest below its own; a DMO whose only
    neighbour is a hub may push the hub past the target.
    """
    target = round(overlap * per_dmo)
    lists: list[list[int]] = [[] for _ in world.catalogues]
    shared: set[int] = set()
    stuck: set[int] = set()
    while True:
        wanting = [
            c
            for c in world.catalogues
            if len(lists[c.dmo_id - 1]) < target and c.dmo_id not in stuck
        ]
        if not wanting:
            break
        first = max(wanting, key=lambda c: target - len(lists[c.dmo_id - 1]))
        partners = [p for p in world.neighbours[first.dmo_id] if len(lists[p.dmo_id - 1]) < per_dmo]
        if not partners:
            stuck.add(first.dmo_id)
            continue
        second = max(partners, key=lambda c: target - len(lists[c.dmo_id - 1]))
        common = first.city_indexes & second.city_indexes
        city = world.pick_city(rng, common)[0]
        members = [first, second]
        thirds = [
            c
            for c in world.catalogues
            if c not in members and city in c.city_indexes and len(lists[c.dmo_id - 1]) < target
        ]
        if thirds and rng.random() < _THREE_WAY_SHARE:
            members.append(rng.choice(thirds))
        place_id = world.new_place(city)
        shared.add(place_id)
        for member in members:
            lists[member.dmo_id - 1].append(place_id)
    negatives: list[tuple[int, int, int, int]] = []
    per_pair = round(hard_negatives * per_dmo / 2)  # each DMO lists a restaurant and a café
    for first in world.catalogues:
        for _ in range(per_pair):
            partners = [p for p in world.neighbours[first.dmo_id]
                        if len(lists[p.dmo_id - 1]) < per_dmo]  # fmt: skip
            if len(lists[first.dmo_id - 1]) >= per_dmo or not partners:
                break
            second = rng.choice(partners)
            city = world.pick_city(rng, first.city_indexes & second.city_indexes)[0]
            hotel = world.new_place(city, _HOTEL)
            restaurant = world.new_outlet(hotel, "restaurant")
            cafe = world.new_outlet(hotel, "cafe")
            lists[first.dmo_id - 1].append(restaurant)
            lists[second.dmo_id - 1].append(cafe)
            negatives.append((first.dmo_id, restaurant, second.dmo_id, cafe))
    for catalogue, places in zip(world.catalogues, lists, strict=True):
        for city in world.pick_city(rng, catalogue.city_indexes, per_dmo - len(places)):
            places.append(world.new_place(city))
        rng.shuffle(places)
    return lists, shared, negatives


def _change_kinds(rng: Random, seed: int, catalogue: _Catalogue, i: int) -> list[str]:
    place_id, revs = catalogue.places[i], catalogue.revs[i]
    kinds: list[str] = []
    if (
        revision(revs, "name") == 0
        and has_name_typo(seed, catalogue.dmo_id, place_id)
        and rng.random() < 0.5
    ):
        kinds.append("name")
    gaps = blank_fields(seed, catalogue.dmo_id, place_id)
    invisible = {"phone"} if "LocalPhone" in gaps else set()
    if "Email" in gaps:
        invisible.add("email")
    others = [kind for kind in _KIND_WEIGHTS if kind not in invisible]
    weights = [_KIND_WEIGHTS[kind] for kind in others]
    while not kinds or (len(kinds) == 1 and rng.random() < 0.15):
        kind = rng.choices(others, weights=weights)[0]
        if kind not in kinds:
            kinds.append(kind)
    return sorted(kinds, key=CHANGE_KINDS.index)


def _next_snapshot(
    world: _World,
    catalogue: _Catalogue,
    rng: Random,
    shares: tuple[float, float, float],
    overlap: float,
) -> tuple[list[str], dict[str, list[str]], list[tuple[str, int]]]:
    """Remove, change and add records; return removed keys, changed key → kinds, new
    (key, place id)."""
    new_share, changed_share, removed_share = shares
    n = len(catalogue.places)
    n_removed, n_changed = round(removed_share * n), round(changed_share * n)
    picked = rng.sample(range(n), n_removed + n_changed)
    removed_at = sorted(picked[:n_removed])
    changed: dict[str, list[str]] = {}
    for i in sorted(picked[n_removed:]):
        kinds = _change_kinds(rng, world.seed, catalogue, i)
        for kind in kinds:
            catalogue.revs[i] = bump(catalogue.revs[i], kind)
        changed[catalogue.key(i)] = kinds
    removed = [catalogue.key(i) for i in removed_at]
    gone = set(removed_at)
    keep = [i for i in range(n) if i not in gone]
    catalogue.serials = array("Q", (catalogue.serials[i] for i in keep))
    catalogue.places = array("Q", (catalogue.places[i] for i in keep))
    catalogue.revs = array("Q", (catalogue.revs[i] for i in keep))

    added: list[tuple[str, int]] = []
    neighbours = world.neighbours[catalogue.dmo_id]
    for _ in range(round(new_share * n)):
        place_id = None
        if neighbours and rng.random() < overlap:  # a place another DMO already lists
            for _attempt in range(8):
                other = rng.choice(neighbours)
                if not other.places:
                    continue
                candidate = other.places[rng.randrange(len(other.places))]
                if (
                    candidate not in catalogue.listed
                    and world.place_city[candidate] in catalogue.city_indexes
                ):
                    place_id = candidate
                    break
        if place_id is None:
            place_id = world.new_place(world.pick_city(rng, catalogue.city_indexes)[0])
        added.append((catalogue.add(place_id), place_id))
    return removed, changed, added


def _validate(
    dmos: int,
    listings_per_dmo: int,
    overlap: float,
    hard_negatives: float,
    description_kb: float,
    snapshots: int,
    shares: dict[str, float],
    formats: Sequence[str],
) -> None:
    if not 1 <= dmos <= len(DMOS):
        raise GenerateError(f"dmos must be between 1 and {len(DMOS)}, got {dmos}")
    if listings_per_dmo < 1:
        raise GenerateError(f"listings_per_dmo must be at least 1, got {listings_per_dmo}")
    if description_kb < 0:
        raise GenerateError(f"description_kb must not be negative, got {description_kb}")
    if not 1 <= snapshots <= MAX_SNAPSHOTS:
        raise GenerateError(
            f"snapshots must be between 1 (the initial one) and {MAX_SNAPSHOTS}, got {snapshots}"
        )
    if not 0 <= hard_negatives <= 0.2:
        raise GenerateError(f"hard_negatives must be between 0 and 0.2, got {hard_negatives}")
    for name, value in {"overlap": overlap, **shares}.items():
        if not 0 <= value <= 1:
            raise GenerateError(f"{name} must be between 0 and 1, got {value}")
    if shares["changed_share"] + shares["removed_share"] > 1:
        raise GenerateError("changed_share + removed_share must not exceed 1")
    if not formats or set(formats) - set(FORMATS):
        raise GenerateError(f"formats must be one or more of {FORMATS}, got {list(formats)}")


def generate(
    out_dir: Path,
    *,
    dmos: int = 3,
    listings_per_dmo: int = 1000,
    overlap: float = 0.2,
    description_kb: float = 10.0,
    seed: int = 42,
    snapshots: int = 3,
    new_share: float = 0.05,
    changed_share: float = 0.10,
    removed_share: float = 0.03,
    formats: Sequence[str] = FORMATS,
    image_base_url: str = DEFAULT_IMAGE_BASE_URL,
    hard_negatives: float = 0.01,
) -> GenerationSummary:
    """Write `snapshots` successive exports of `dmos` DMOs into `out_dir` (which must be
    empty or absent): `dmo-<id>/snapshot-<n>.<format>`, `configs/<slug>-<format>.yaml`,
    `truth.csv` and `manifest.json`. The same arguments always give the same bytes.

    `overlap`: share of each DMO's first snapshot that another DMO lists too.
    `hard_negatives`: share of each DMO's first snapshot that is a hotel's restaurant whose
    café (same address and phone, another place) a neighbouring DMO lists, or that café; the
    pairs are in manifest.json's "hard_negatives".
    `new_share`, `changed_share`, `removed_share`: per later snapshot, as shares of the
    previous snapshot's record count.
    """
    shares = {
        "new_share": new_share,
        "changed_share": changed_share,
        "removed_share": removed_share,
    }
    formats = tuple(dict.fromkeys(formats))
    _validate(dmos, listings_per_dmo, overlap, hard_negatives, description_kb, snapshots, shares,
              formats)  # fmt: skip
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise GenerateError(f"{out_dir}: output directory is not empty; choose a new one")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    world = _World(seed, DMOS[:dmos])
    initial, shared, negatives = _plan_initial(
        world, Random(f"{seed}/plan"), listings_per_dmo, overlap, hard_negatives
    )
    outlet_keys: dict[tuple[int, int], str] = {}  # (DMO, outlet place) → its source key
    renderers = {
        c.dmo_id: DmoRenderer(seed, c.dmo_id, c.spec, image_base_url, description_kb)
        for c in world.catalogues
    }
    config_paths: dict[int, list[Path]] = {}
    for c in world.catalogues:
        config_paths[c.dmo_id] = [
            write_source_config(
                out_dir / "configs",
                source_config(c.dmo_id, c.spec.slug, c.spec.name, fmt),
                f"Generated by listings_pipeline.generate (seed {seed}).\n"
                f"Data: ../dmo-{c.dmo_id}/snapshot-<n>.{fmt}",
            )
            for fmt in formats
        ]

    truth = TruthWriter(out_dir / "truth.csv")
    manifest_dmos: list[dict[str, object]] = [
        {"dmo_id": c.dmo_id, "slug": c.spec.slug, "name": c.spec.name, "snapshots": []}
        for c in world.catalogues
    ]
    files: dict[int, list[dict[str, Path]]] = {c.dmo_id: [] for c in world.catalogues}
    counts: dict[int, list[int]] = {c.dmo_id: [] for c in world.catalogues}
    shared_records = {
        c.dmo_id: sum(p in shared for p in places)
        for c, places in zip(world.catalogues, initial, strict=True)
    }
    records_written = bytes_written = 0
    try:
        for n in range(snapshots):
            for catalogue, entry in zip(world.catalogues, manifest_dmos, strict=True):
                snapshot: dict[str, object] = {"snapshot": n}
                if n == 0:
                    for place_id in initial[catalogue.dmo_id - 1]:
                        key = catalogue.add(place_id)
                        truth.add(catalogue.dmo_id, key, place_id, 0)
                        if place_id in world.outlets:
                            outlet_keys[(catalogue.dmo_id, place_id)] = key
                    snapshot["shared_records"] = shared_records[catalogue.dmo_id]
                else:
                    rng = Random(f"{seed}/snapshot/{n}/{catalogue.dmo_id}")
                    removed, changed, added = _next_snapshot(
                        world, catalogue, rng, (new_share, changed_share, removed_share), overlap
                    )
                    for key, place_id in added:
                        truth.add(catalogue.dmo_id, key, place_id, n)
                    snapshot.update(new=[key for key, _ in added], changed=changed, removed=removed)
                paths = {
                    fmt: out_dir / f"dmo-{catalogue.dmo_id}" / f"snapshot-{n}.{fmt}"
                    for fmt in formats
                }
                renderer = renderers[catalogue.dmo_id]
                with SnapshotWriter(paths) as writer:
                    for i, place_id in enumerate(catalogue.places):
                        place = world.place(place_id)
                        writer.write(renderer.render(catalogue.key(i), place, catalogue.revs[i]))
                records_written += writer.records
                bytes_written += writer.bytes_written()
                files[catalogue.dmo_id].append(paths)
                counts[catalogue.dmo_id].append(writer.records)
                snapshot["records"] = writer.records
                snapshot["files"] = {
                    fmt: path.relative_to(out_dir).as_posix() for fmt, path in paths.items()
                }
                entry["snapshots"].append(snapshot)  # type: ignore[union-attr]
    finally:
        truth.close()

    manifest_path = out_dir / "manifest.json"
    write_manifest(
        manifest_path,
        {
            "generator": "listings_pipeline.generate",
            "parameters": {
                "dmos": dmos,
                "listings_per_dmo": listings_per_dmo,
                "overlap": overlap,
                "hard_negatives": hard_negatives,
                "description_kb": description_kb,
                "seed": seed,
                "snapshots": snapshots,
                **shares,
                "formats": list(formats),
                "image_base_url": image_base_url,
            },
            "truth": "truth.csv",
            "shared_places": len(shared),
            # Different places a matcher must keep apart: a hotel's restaurant (catalogue)
            # and its café (source), at the same address, with the same phone.
            "hard_negatives": [
                {
                    "catalogue_dmo": a,
                    "catalogue_key": outlet_keys[(a, pa)],
                    "source_dmo": b,
                    "source_key": outlet_keys[(b, pb)],
                }
                for a, pa, b, pb in negatives
            ],  # fmt: skip
            "configs": {
                str(dmo_id): [p.relative_to(out_dir).as_posix() for p in paths]
                for dmo_id, paths in config_paths.items()
            },
            "dmos": manifest_dmos,
        },
    )
    seconds = time.perf_counter() - started
    return GenerationSummary(
        out_dir=out_dir,
        seed=seed,
        dmos=tuple(
            DmoSummary(
                dmo_id=c.dmo_id,
                slug=c.spec.slug,
                name=c.spec.name,
                configs=tuple(config_paths[c.dmo_id]),
                snapshot_files=tuple(files[c.dmo_id]),
                records=tuple(counts[c.dmo_id]),
                shared_records=shared_records[c.dmo_id],
            )
            for c in world.catalogues
        ),
        manifest_path=manifest_path,
        truth_path=out_dir / "truth.csv",
        records_written=records_written,
        bytes_written=bytes_written,
        seconds=seconds,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        shared_places=len(shared),
        hard_negatives=len(negatives),
    )
