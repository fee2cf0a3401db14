"""The demo's tiny, hand-written dataset: two DMOs, eight listings each, three places both
list under different spellings, and a second export of DMO 1 with two changed listings, one
removed and one new. Same layout as `generate()` writes, so the same tools read both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from listings_pipeline.generate.generator import DEFAULT_IMAGE_BASE_URL
from listings_pipeline.generate.output import (
    FORMATS,
    SnapshotWriter,
    TruthWriter,
    source_config,
    write_manifest,
    write_source_config,
)
from listings_pipeline.generate.places import COLUMNS, DAYS

DEMO_DMOS = (
    (1, "discover-halifax", "Discover Halifax"),
    (2, "tourism-nova-scotia", "Tourism Nova Scotia"),
)


def _hours(open_close: str, closed: Sequence[str] = ()) -> dict[str, str]:
    open_time, close_time = open_close.split("-")
    out: dict[str, str] = {}
    for day in DAYS:
        is_open = day not in closed
        out[f"{day}Open"] = open_time if is_open else ""
        out[f"{day}Close"] = close_time if is_open else ""
    return out


def _record(place_id: int, images: int = 1, **fields: object) -> tuple[int, dict[str, object]]:
    record: dict[str, object] = {column: "" for column in COLUMNS}
    record.update(Country="CA", Status="active")
    record.update(fields)
    record["_images"] = images
    return place_id, record


# (place id, record). Place ids 1-3 are listed by both DMOs.
HALIFAX_0 = [
    _record(
        1,
        images=3,
        ID="HFX-0001",
        Name="Salty Puffin Seafood Restaurant",
        Address1="1869 Lower Water Street",
        City="Halifax",
        State="NS",
        Zip="B3J 1S9",
        Lat=44.645352,
        Lng=-63.570051,
        Description=(
            "A waterfront seafood house known for its lobster rolls and chowder.\n\n"
            "Sit on the patio and watch the ferries cross the harbour."
        ),
        ContactName="Mary MacDonald",
        Email="info@saltypuffin.ca",
        LocalPhone="(902) 555-0101",
        Website="https://www.saltypuffin.ca",
        Attributes="Restaurants, Seafood, Lobster, Patio",
        **_hours("11:30-22:00", closed=("Mon",)),
    ),
    _record(
        2,
        images=2,
        ID="HFX-0002",
        Name="Harbour & Heritage Walking Tours",
        Address1="1751 Lower Water Street",
        Address2="Suite 100",
        City="Halifax",
        State="NS",
        Zip="B3J 1S5",
        Lat=44.647795,
        Lng=-63.571812,
        Description=(
            "Ninety-minute guided walks through the historic waterfront and the old town.\n\n"
            "Guides share stories of privateers, shipwrecks and the 1917 explosion."
        ),
        Email="walks@harbourheritage.ca",
        LocalPhone="(902) 555-0102",
        Website="https://www.harbourheritage.ca",
        StartDate1="2026-05-15",
        EndDate1="2026-10-15",
        Attributes="Tours, Walking Tours, Family Friendly",
        **_hours("09:00-17:00"),
    ),
    _record(
        3,
        images=2,
        ID="HFX-0003",
        Name="Murphy's Brewing Co.",
        Address1="2021 Brunswick Street",
        City="Halifax",
        State="NS",
        Zip="B3K 2Y5",
        Lat=44.651902,
        Lng=-63.578410,
        Description=(
            "A small-batch brewery with a busy taproom and wood-fired pizza.\n\n"
            "Brewery tours run every Saturday afternoon."
        ),
        ContactName="Sean Murphy",
        Email="cheers@murphysbrewing.ca",
        LocalPhone="(902) 555-0103",
        Website="https://www.murphysbrewing.ca",
        Attributes="Breweries, Craft Beer, Tours, Pizza",
        **_hours("12:00-23:00", closed=("Mon", "Tue")),
    ),
    _record(
        4,
        ID="HFX-0004",
        Name="Blue Kettle Café",
        Address1="5640 Spring Garden Road",
        City="Halifax",
        State="NS",
        Zip="B3J 1H5",
        Lat=44.642961,
        Lng=-63.580221,
        Description="Coffee roasted on site, scones from the oven and a quiet corner to read.",
        Email="hello@bluekettle.ca",
        LocalPhone="(902) 555-0104",
        Attributes="Cafés, Coffee, Bakery",
        **_hours("07:30-17:00", closed=("Sun",)),
    ),
    _record(
        5,
        images=4,
        ID="HFX-0005",
        Name="Anchor Veiw Inn",  # the typo snapshot 1 fixes
        Address1="1200 Barrington Street",
        City="Halifax",
        State="NS",
        Zip="B3J 1Y4",
        Lat=44.641030,
        Lng=-63.569902,
        Description="Twelve rooms in a restored 1890s sea captain's house, breakfast included.",
        ContactName="Claire LeBlanc",
        Email="stay@anchorviewinn.ca",
        LocalPhone="(902) 555-0105",
        Website="https://www.anchorviewinn.ca",
        Attributes="Accommodations, Breakfast Included, Free Wi-Fi",
        **_hours("08:00-22:00"),
    ),
    _record(
        6,
        ID="HFX-0006",
        Name="Dartmouth Ferry Heritage Museum",
        Address1="55 Alderney Drive",
        City="Dartmouth",
        State="NS",
        Zip="B2Y 2N3",
        Lat=44.665912,
        Lng=-63.566870,
        Description="Models, photographs and tickets from North America's oldest saltwater ferry.",
        LocalPhone="(902) 555-0106",
        StartDate1="2026-06-01",
        EndDate1="2026-09-30",
        Attributes="Museums, Heritage",
        **_hours("10:00-17:00", closed=("Mon",)),
    ),
    _record(
        7,
        ID="HFX-0007",
        Name="Foggy Cove Nature Reserve",
        Address1="300 Shore Drive",
        City="Bedford",
        State="NS",
        Zip="B4A 2E1",
        Lat=44.721530,
        Lng=-63.661200,
        Description="Boardwalks through salt marsh and a lookout over Bedford Basin.",
        Attributes="Parks, Hiking, Birding",
        **_hours("06:00-21:00"),
    ),
    _record(
        8,
        ID="HFX-0008",
        Name="Golden Lantern Gifts & Books",
        Address1="1505 Barrington Street",
        City="Halifax",
        State="NS",
        Zip="B3J 3K5",
        Lat=44.644950,
        Lng=-63.573660,
        Description="Local crafts, maps and a shelf of Maritime authors.",
        Email="shop@goldenlantern.ca",
        LocalPhone="(902) 555-0108",
        Attributes="Shopping, Local Crafts, Books",
        **_hours("10:00-18:00"),
    ),
]

NOVA_SCOTIA_0 = [
    _record(
        1,
        images=2,
        ID="100001",
        Name="The Salty Puffin Seafood Restaurant",
        Address1="1869 Lower Water St.",
        City="Halifax",
        State="Nova Scotia",
        Zip="B3J1S9",
        Lat=44.64538,
        Lng=-63.57009,
        Description=(
            "Fresh Atlantic seafood on the Halifax boardwalk.\n\n"
            "Reservations are recommended on summer evenings."
        ),
        Email="info@saltypuffin.ca",
        LocalPhone="902.555.0101",
        Website="http://saltypuffin.ca",
        Attributes="Restaurants, Seafood",
        **_hours("11:30-22:00", closed=("Mon",)),
    ),
    _record(
        2,
        ID="100002",
        Name="Harbour and Heritage Walking Tours",
        Address1="100-1751 Lower Water St",
        City="Halifax",
        State="Nova Scotia",
        Zip="B3J1S5",
        Lat=44.64775,
        Lng=-63.57184,
        Description="Walk the old town with a costumed guide and hear the harbour's stories.",
        LocalPhone="+1 902 555 0102",
        Website="http://harbourheritage.ca/",
        StartDate1="2026-05-15",
        EndDate1="2026-10-15",
        Attributes="Tours, Walking Tours",
        **_hours("09:00-17:00"),
    ),
    _record(
        3,
        ID="100003",
        Name="MURPHYS BREWING COMPANY",
        Address1="2021 Brunswick St",
        City="Halifax",
        State="Nova Scotia",
        Zip="B3K2Y5",
        Lat=44.65194,
        Lng=-63.57836,
        Description="Craft beer brewed steps from the Citadel, with tours on Saturdays.",
        Email="CHEERS@MURPHYSBREWING.CA",
        LocalPhone="9025550103",
        Attributes="Breweries, Craft Beer",
        **_hours("12:00-23:00", closed=("Mon", "Tue")),
    ),
    _record(
        9,
        images=3,
        ID="100004",
        Name="Lunenburg Schooner Tours",
        Address1="121 Bluenose Drive",
        City="Lunenburg",
        State="Nova Scotia",
        Zip="B0J2C0",
        Lat=44.37612,
        Lng=-64.30915,
        Description="Two-hour sails on a wooden schooner out of the UNESCO old town harbour.",
        Email="sail@schoonertours.ca",
        LocalPhone="902.555.0109",
        Website="http://schoonertours.ca",
        StartDate1="2026-06-01",
        EndDate1="2026-09-30",
        Attributes="Tours, Boat Tours, Family Friendly",
        **_hours("09:00-19:00"),
    ),
    _record(
        10,
        images=2,
        ID="100005",
        Name="Zwicker Family Vineyards",
        Address1="88 Orchard Road",
        City="Wolfville",
        State="Nova Scotia",
        Zip="B4P2R4",
        Lat=45.08541,
        Lng=-64.36830,
        Description="Tidal Bay whites and a tasting room overlooking the Minas Basin.",
        ContactName="Eric Zwicker",
        Email="taste@zwickervineyards.ca",
        LocalPhone="902.555.0110",
        Website="http://zwickervineyards.ca",
        StartDate1="2026-05-01",
        EndDate1="2026-10-31",
        Attributes="Wineries, Tastings, Patio",
        **_hours("11:00-18:00", closed=("Mon", "Tue")),
    ),
    _record(
        11,
        ID="100006",
        Name="Crooked Spruce Provincial Park",
        Address1="4000 Cabot Trail",
        City="Baddeck",
        State="Nova Scotia",
        Zip="B0E1B0",
        Lat=46.10520,
        Lng=-60.74810,
        Description="Lakeside campsites and trails along the Bras d'Or.",
        Attributes="Parks, Camping, Hiking",
        StartDate1="2026-06-15",
        EndDate1="2026-10-15",
    ),
    _record(
        12,
        images=2,
        ID="100007",
        Name="Musée des Tapis Hookés de Chéticamp",
        Address1="15584 Main Street",
        City="Chéticamp",
        State="Nova Scotia",
        Zip="B0E1H0",
        Lat=46.63610,
        Lng=-60.95150,
        Description="Acadian hooked rugs, a working studio and a café with a view of the Gulf.",
        LocalPhone="902.555.0112",
        Attributes="Museums, Heritage, Art",
        **_hours("09:00-17:00"),
    ),
    _record(
        13,
        ID="100008",
        Name="Sydney Harbour Chowder House",
        Address1="300 Esplanade",
        City="Sydney",
        State="Nova Scotia",
        Zip="B1P1A7",
        Lat=46.13830,
        Lng=-60.19650,
        Description="Seafood chowder, fish cakes and a deck over the harbour.",
        LocalPhone="902.555.0113",
        Attributes="Restaurants, Seafood, Family Friendly",
        **_hours("11:00-21:00"),
    ),
]

_NEW = _record(
    14,
    images=2,
    ID="HFX-0009",
    Name="Tidewater Ice Cream Parlour",
    Address1="1595 Lower Water Street",
    City="Halifax",
    State="NS",
    Zip="B3J 1S3",
    Lat=44.646112,
    Lng=-63.571330,
    Description="Twenty flavours made in small batches; try the blueberry grunt.",
    Email="scoops@tidewatericecream.ca",
    LocalPhone="(902) 555-0114",
    Attributes="Cafés, Family Friendly",
    StartDate1="2026-05-01",
    EndDate1="2026-09-30",
    **_hours("12:00-22:00"),
)
DEMO_CHANGES = {"HFX-0004": ["phone", "hours"], "HFX-0005": ["name"]}
DEMO_REMOVED = ["HFX-0008"]


def _halifax_1() -> list[tuple[int, dict[str, object]]]:
    out = []
    for place_id, record in HALIFAX_0:
        if record["ID"] in DEMO_REMOVED:
            continue
        record = dict(record)
        if record["ID"] == "HFX-0004":
            record.update(LocalPhone="(902) 555-0144", **_hours("07:00-18:00"))
        if record["ID"] == "HFX-0005":
            record["Name"] = "Anchor View Inn"
        out.append((place_id, record))
    return [*out, _NEW]


def write_demo_data(
    directory: Path,
    *,
    formats: Sequence[str] = ("csv",),
    image_base_url: str = DEFAULT_IMAGE_BASE_URL,
) -> dict[str, object]:
    """Write the demo dataset into `directory` (files of the same names are replaced) and
    return its manifest: `dmo-1/snapshot-0`, `dmo-1/snapshot-1`, `dmo-2/snapshot-0`,
    `configs/<slug>-<format>.yaml`, `truth.csv`, `manifest.json`."""
    if not formats or set(formats) - set(FORMATS):
        raise ValueError(f"formats must be one or more of {FORMATS}, got {list(formats)}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = image_base_url.rstrip("/")
    exports = {1: [HALIFAX_0, _halifax_1()], 2: [NOVA_SCOTIA_0]}
    truth = TruthWriter(directory / "truth.csv")
    dmos: list[dict[str, object]] = []
    try:
        for dmo_id, slug, name in DEMO_DMOS:
            for fmt in formats:
                write_source_config(
                    directory / "configs",
                    source_config(dmo_id, slug, name, fmt),
                    f"Demo data from listings_pipeline.generate.write_demo_data.\n"
                    f"Data: ../dmo-{dmo_id}/snapshot-<n>.{fmt}",
                )
            snapshots = []
            seen: set[str] = set()
            for n, rows in enumerate(exports[dmo_id]):
                paths = {
                    fmt: directory / f"dmo-{dmo_id}" / f"snapshot-{n}.{fmt}" for fmt in formats
                }
                with SnapshotWriter(paths) as writer:
                    for place_id, row in rows:
                        record = {c: row[c] for c in COLUMNS}
                        for i in range(1, int(row["_images"]) + 1):  # type: ignore[call-overload]
                            record[f"Image{i}"] = f"{base}/img/{slug}/{row['ID']}-{i}.jpg"
                        writer.write(record)
                        if row["ID"] not in seen:
                            seen.add(str(row["ID"]))
                            truth.add(dmo_id, str(row["ID"]), place_id, n)
                snapshot: dict[str, object] = {
                    "snapshot": n,
                    "records": writer.records,
                    "files": {f: p.relative_to(directory).as_posix() for f, p in paths.items()},
                }
                if n == 0:
                    snapshot["shared_records"] = sum(1 for place_id, _ in rows if place_id <= 3)
                else:
                    snapshot.update(new=[_NEW[1]["ID"]], changed=DEMO_CHANGES, removed=DEMO_REMOVED)
                snapshots.append(snapshot)
            dmos.append({"dmo_id": dmo_id, "slug": slug, "name": name, "snapshots": snapshots})
    finally:
        truth.close()
    manifest: dict[str, object] = {
        "generator": "listings_pipeline.generate.write_demo_data",
        "truth": "truth.csv",
        "shared_places": 3,
        "configs": {
            str(dmo_id): [f"configs/{slug}-{fmt}.yaml" for fmt in formats]
            for dmo_id, slug, _ in DEMO_DMOS
        },
        "dmos": dmos,
    }
    write_manifest(directory / "manifest.json", manifest)
    return manifest
