"""Built-in vocabulary for generated Atlantic Canada tourism listings.

Compact and fixed (no Faker): the output must be byte-identical for a seed on any machine,
and a word list in code cannot drift with a library upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    province: str  # two-letter code
    lat: float
    lng: float
    radius_km: float
    fsas: tuple[str, ...]  # forward sortation areas: first half of a Canadian postal code
    weight: int  # how many listings it gets relative to other cities


@dataclass(frozen=True)
class DmoSpec:
    """A destination marketing organisation and the habits of its data export."""

    slug: str
    name: str
    cities: tuple[str, ...]
    id_style: str  # how its source keys look; see generator.source_key
    phone_format: int  # index into PHONE_FORMATS used for most records
    suffix_style: str  # "full" (Street), "abbr" (St) or "abbr_dot" (St.)
    state_style: str  # "code" (NS), "name" (Nova Scotia) or "dotted" (N.S.)
    postal_space: bool  # "B3J 1A1" or "B3J1A1"
    coord_decimals: int
    website_style: str  # "https_www", "http" or "bare"


PROVINCES = {
    "NS": ("Nova Scotia", "N.S."),
    "NB": ("New Brunswick", "N.B."),
    "PE": ("Prince Edward Island", "P.E.I."),
    "NL": ("Newfoundland and Labrador", "N.L."),
}
# 782 is the newer overlay code, so fewer numbers have it.
AREA_CODES = {
    "NS": ("902", "902", "902", "782"),
    "PE": ("902", "902", "902", "782"),
    "NB": ("506",),
    "NL": ("709",),
}

_CITIES = (
    City("Halifax", "NS", 44.6488, -63.5752, 4.0, ("B3H", "B3J", "B3K", "B3L"), 10),
    City("Dartmouth", "NS", 44.6710, -63.5560, 3.5, ("B2W", "B2Y", "B3A"), 5),
    City("Bedford", "NS", 44.7325, -63.6566, 2.5, ("B4A",), 2),
    City("Peggy's Cove", "NS", 44.4925, -63.9160, 1.0, ("B3Z",), 1),
    City("Lunenburg", "NS", 44.3770, -64.3090, 1.5, ("B0J",), 3),
    City("Mahone Bay", "NS", 44.4490, -64.3830, 1.2, ("B0J",), 2),
    City("Chester", "NS", 44.5420, -64.2390, 1.5, ("B0J",), 1),
    City("Wolfville", "NS", 45.0910, -64.3640, 1.5, ("B4P",), 2),
    City("Annapolis Royal", "NS", 44.7430, -65.5190, 1.5, ("B0S",), 1),
    City("Digby", "NS", 44.6210, -65.7600, 1.5, ("B0V",), 1),
    City("Truro", "NS", 45.3650, -63.2800, 3.0, ("B2N",), 2),
    City("Antigonish", "NS", 45.6220, -61.9930, 2.0, ("B2G",), 1),
    City("Baddeck", "NS", 46.1000, -60.7540, 1.5, ("B0E",), 1),
    City("Sydney", "NS", 46.1360, -60.1940, 3.0, ("B1P", "B1S"), 3),
    City("Chéticamp", "NS", 46.6390, -60.9500, 1.5, ("B0E",), 1),
    City("Saint John", "NB", 45.2733, -66.0633, 4.0, ("E2L", "E2K", "E2M"), 5),
    City("St. Andrews", "NB", 45.0730, -67.0530, 1.5, ("E5B",), 2),
    City("Alma", "NB", 45.6000, -64.9460, 1.0, ("E4H",), 1),
    City("Moncton", "NB", 46.0878, -64.7782, 4.0, ("E1A", "E1C", "E1E"), 5),
    City("Fredericton", "NB", 45.9636, -66.6431, 4.0, ("E3A", "E3B"), 4),
    City("Shediac", "NB", 46.2190, -64.5400, 1.5, ("E4P",), 1),
    City("Caraquet", "NB", 47.7940, -64.9380, 1.5, ("E1W",), 1),
    City("Charlottetown", "PE", 46.2382, -63.1311, 3.0, ("C1A", "C1E"), 6),
    City("Summerside", "PE", 46.3959, -63.7876, 2.0, ("C1N",), 2),
    City("Cavendish", "PE", 46.4900, -63.3800, 2.0, ("C0A",), 2),
    City("Souris", "PE", 46.3540, -62.2500, 1.2, ("C0A",), 1),
    City("St. John's", "NL", 47.5615, -52.7126, 4.0, ("A1B", "A1C", "A1E"), 6),
    City("Corner Brook", "NL", 48.9500, -57.9500, 3.0, ("A2H",), 2),
    City("Twillingate", "NL", 49.6500, -54.7600, 1.5, ("A0G",), 1),
    City("Rocky Harbour", "NL", 49.6600, -57.9100, 1.5, ("A0K",), 1),
)
CITIES: dict[str, City] = {c.name: c for c in _CITIES}

# Ordered so that the first three (the default) overlap pairwise: a city DMO, its province,
# and a cross-province partnership. Later ones overlap with at least one earlier DMO.
DMOS: tuple[DmoSpec, ...] = (
    DmoSpec(
        "discover-halifax",
        "Discover Halifax",
        ("Halifax", "Dartmouth", "Bedford", "Peggy's Cove", "Lunenburg"),
        "HFX-{n:06d}",
        0,
        "abbr_dot",
        "code",
        True,
        6,
        "https_www",
    ),
    DmoSpec(
        "tourism-nova-scotia",
        "Tourism Nova Scotia",
        tuple(c.name for c in _CITIES if c.province == "NS"),
        "{n100k}",
        1,
        "full",
        "name",
        False,
        5,
        "http",
    ),
    DmoSpec(
        "atlantic-canada-tourism",
        "Atlantic Canada Tourism Partnership",
        (
            "Halifax",
            "Lunenburg",
            "Peggy's Cove",
            "Charlottetown",
            "Cavendish",
            "Saint John",
            "St. Andrews",
            "Moncton",
            "St. John's",
            "Twillingate",
        ),
        "act-{hex}",
        2,
        "abbr",
        "dotted",
        True,
        6,
        "bare",
    ),
    DmoSpec(
        "tourism-new-brunswick",
        "Tourism New Brunswick",
        tuple(c.name for c in _CITIES if c.province == "NB"),
        "NB{n:05d}",
        4,
        "full",
        "code",
        True,
        6,
        "https_www",
    ),
    DmoSpec(
        "tourism-pei",
        "Tourism PEI",
        tuple(c.name for c in _CITIES if c.province == "PE"),
        "PEI-{n}",
        3,
        "abbr",
        "code",
        False,
        6,
        "https_www",
    ),
    DmoSpec(
        "newfoundland-labrador-tourism",
        "Newfoundland and Labrador Tourism",
        tuple(c.name for c in _CITIES if c.province == "NL"),
        "NL-{n:06d}",
        5,
        "full",
        "name",
        True,
        5,
        "http",
    ),
    DmoSpec(
        "discover-charlottetown",
        "Discover Charlottetown",
        ("Charlottetown",),
        "CH{n:06d}",
        0,
        "abbr_dot",
        "code",
        True,
        6,
        "https_www",
    ),
    DmoSpec(
        "destination-st-johns",
        "Destination St. John's",
        ("St. John's",),
        "DSJ-{n:05d}",
        1,
        "abbr",
        "dotted",
        True,
        6,
        "bare",
    ),
)

PHONE_FORMATS = (
    "({a}) {e}-{l}",
    "{a}.{e}.{l}",
    "+1 {a} {e} {l}",
    "{a}{e}{l}",
    "{a}-{e}-{l}",
    "1-{a}-{e}-{l}",
)

# Written by a few records of every source instead of its own phone format (issue 17).
SLASH_PHONE_FORMAT = "{a}/{e}-{l}"

# What real sources write instead of the usual abbreviation (issue 17: "Blv.", "Av.").
LOOSE_SUFFIXES = {
    "Street": "Str.",
    "Avenue": "Av.",
    "Road": "Rd.",
    "Drive": "Dr.",
    "Lane": "Ln.",
    "Boulevard": "Blv.",
    "Court": "Ct.",
    "Crescent": "Cres.",
    "Place": "Pl.",
    "Terrace": "Ter.",
    "Way": "Way",
}
DIRECTIONS = ("North", "South", "East", "West")  # "West Pico Blvd" / "W. Pico Blvd"

# Neighbourhoods a source may write instead of the city (issue 17: "West LA" / "Los Angeles").
NEIGHBOURHOODS: dict[str, tuple[str, ...]] = {
    "Halifax": ("Downtown Halifax", "North End", "South End", "West End", "Clayton Park"),
    "Dartmouth": ("Downtown Dartmouth", "Woodside", "Cole Harbour"),
    "Sydney": ("Downtown Sydney", "Whitney Pier"),
    "Saint John": ("Uptown Saint John", "West Side"),
    "Moncton": ("Downtown Moncton", "Lewisville"),
    "Fredericton": ("Downtown Fredericton", "Northside"),
    "Charlottetown": ("Downtown Charlottetown", "Brighton"),
    "St. John's": ("Downtown St. John's", "The Battery", "Quidi Vidi"),
}

# Categories as other sources word them (issue 17): "Restaurants" / "Dining".
ATTRIBUTE_WORDINGS = {
    "Accommodations": "Lodging",
    "Bed & Breakfast": "B&B",
    "Restaurants": "Dining",
    "Seafood": "Fish & Seafood",
    "Cafés": "Coffee Shops",
    "Coffee": "Coffee House",
    "Breweries": "Craft Brewery",
    "Wineries": "Wine Tasting",
    "Free Wi-Fi": "WiFi",
    "Pet Friendly": "Dogs Welcome",
    "Takeout": "Take-out",
}

STREET_SUFFIXES = {  # full form → abbreviation (Canada Post style)
    "Street": "St",
    "Avenue": "Ave",
    "Road": "Rd",
    "Drive": "Dr",
    "Lane": "Ln",
    "Boulevard": "Blvd",
    "Court": "Crt",
    "Crescent": "Cres",
    "Place": "Pl",
    "Terrace": "Terr",
    "Way": "Way",
}
SUFFIX_WEIGHTS = (40, 10, 18, 10, 5, 3, 3, 4, 3, 2, 2)
STREETS = (
    "Barrington", "Hollis", "Water", "Spring Garden", "Queen", "King", "Prince", "Main",
    "Church", "Victoria", "Portland", "Argyle", "Grafton", "Brunswick", "Pleasant", "Harbour",
    "Shore", "Lighthouse", "Marine", "Market", "Duke", "George", "Charlotte", "Germain",
    "Lincoln", "Montague", "Pownal", "Kent", "Great George", "Duckworth", "Gower", "Water Front",
    "Fundy", "Cove", "Bayview", "Oak", "Maple", "Birch", "Elm", "Cedar", "Willow", "Pine Hill",
    "Sackville", "Inglis", "South Park", "Robie", "Quinpool", "Agricola", "Gottingen",
    "Windsor", "Acadia", "Evangeline", "Champlain", "Cabot", "Tidewater", "Saltmarsh",
    "Orchard", "Mill", "Ferry", "Wharf", "Station", "College", "University", "Regent",
)  # fmt: skip

SURNAMES = (
    "MacDonald", "MacLeod", "Campbell", "Fraser", "MacKenzie", "MacNeil", "Murphy", "Power",
    "Walsh", "O'Brien", "LeBlanc", "Cormier", "Gallant", "Arsenault", "Doucet", "Landry",
    "Richard", "Boudreau", "Comeau", "Thibodeau", "Smith", "Johnston", "Stewart", "Morrison",
    "Cameron", "Chisholm", "MacIsaac", "Beaton", "Gillis", "MacPhee", "Sullivan", "Ryan",
    "Kelly", "Dunphy", "Hickey", "Oakley", "Harvey", "Crosby", "Burke", "Coady", "Bishop",
    "Parsons", "Pike", "Hiscock", "Penney", "Vokey", "Nickerson", "Zwicker", "Ernst", "Hiltz",
    "Rafuse", "Wentzell", "Eisenhauer", "Kaizer", "Corkum", "Himmelman", "Tanner", "Fougère",
    "Bélanger", "Robichaud", "MacLean", "MacKay", "MacMillan", "MacGregor", "McCarthy",
    "Doyle", "Fitzgerald", "O'Neill", "Kennedy", "Dunn", "Poirier", "Savoie", "Bourque",
    "Gaudet", "Maillet", "Babineau", "Melanson", "Aucoin", "Chiasson", "Deveau", "Hatfield",
    "Crowell", "Churchill", "Banfield", "Mercer", "Snow", "Noseworthy", "Tucker", "Butt",
    "Hollett", "Saunders", "Rideout", "Cluett", "Strickland", "Whalen", "Keating", "Morash",
    "Langille", "Publicover", "Mosher", "Boutilier",
)  # fmt: skip
FIRST_NAMES = (
    "Mary", "Anne", "Margaret", "Sarah", "Emily", "Claire", "Julie", "Nicole", "Sophie", "Marie",
    "Catherine", "Heather", "Fiona", "Laura", "Megan", "Chloé", "John", "James", "Angus",
    "Donald", "Ian", "Michael", "Patrick", "Sean", "Liam", "Neil", "Colin", "Robert", "André",
    "Luc", "Marc", "Daniel", "Peter", "Owen", "Ryan", "Kevin", "Gerald", "Wade", "Darren", "Eric",
)  # fmt: skip
ADJECTIVES = (
    "Blue", "Salty", "Golden", "Red", "Silver", "Old", "Little", "Lucky", "Quiet", "Wild",
    "Rusty", "Foggy", "Hidden", "Painted", "Rocky", "Sandy", "Windy", "Crooked", "Green",
    "Bright", "Happy", "Stormy", "Gentle", "Northern", "Tidal", "Copper", "Iron", "Misty",
    "Sunny", "Whistling", "Humble", "Jolly", "Drifting", "Wandering", "Merry", "Barefoot",
    "Black", "White", "Grey", "Amber", "Scarlet", "Emerald", "Hungry", "Thirsty", "Sleepy",
    "Dancing", "Singing", "Brave", "Clever", "Proud",
)  # fmt: skip
ANIMALS = (
    "Puffin", "Gull", "Heron", "Lobster", "Seal", "Whale", "Moose", "Fox", "Otter", "Osprey",
    "Loon", "Mackerel", "Cod", "Crab", "Eagle", "Raven", "Bear", "Deer", "Hare", "Beaver",
    "Gannet", "Tern", "Cormorant", "Kingfisher", "Owl", "Crow", "Lynx", "Porcupine", "Salmon",
    "Trout", "Herring", "Scallop", "Mussel", "Oyster", "Dolphin",
)  # fmt: skip
TREES = (
    "Spruce", "Birch", "Maple", "Pine", "Cedar", "Tamarack", "Balsam", "Willow", "Apple",
    "Alder", "Oak", "Elm", "Fir", "Juniper", "Hemlock", "Ash", "Aspen", "Poplar", "Larch",
    "Rowan", "Cherry", "Pear", "Blueberry", "Bayberry", "Sumac",
)  # fmt: skip
COAST_WORDS = (
    "Harbour", "Bay", "Cove", "Lighthouse", "Tidewater", "Seaside", "Anchor", "Saltwater",
    "Driftwood", "Shoreline", "Wharf", "Beacon", "Schooner", "Tidal Pool", "Breakwater",
    "Sandbar", "Seawall", "Riptide", "Whitecap", "Low Tide", "High Tide", "Fogbank",
    "Dockside", "Headland", "Channel",
)  # fmt: skip
NOUNS = (
    "Kettle", "Lantern", "Compass", "Barrel", "Hearth", "Anchor", "Rope", "Oar", "Sail",
    "Mill", "Forge", "Orchard", "Meadow", "Ridge", "Hollow", "Brook", "Island", "Point",
    "Field", "Garden", "Table", "Pantry", "Galley", "Dory", "Net", "Trap", "Buoy", "Bell",
    "Chimney", "Porch", "Skiff", "Lobster Pot", "Mast", "Rudder", "Keel", "Harpoon",
    "Fiddle", "Quilt", "Teacup", "Cauldron", "Crate", "Wheelhouse", "Saltbox", "Shanty",
    "Gable", "Lamp", "Kiln", "Loom", "Spindle", "Ladle",
)  # fmt: skip
LOCALITIES = (
    "Ketch Harbour", "Herring Cove", "Prospect", "Hubbards", "Blue Rocks", "Stonehurst",
    "Indian Point", "Martins Point", "Blandford", "East Chester", "Seabright", "Glen Haven",
    "Tantallon", "Sambro", "Bayside", "Terence Bay", "Lower Prospect", "Cow Bay",
    "Lawrencetown", "Musquodoboit", "Grand Pré", "Port Williams", "Canning", "Hantsport",
    "Bear River", "Granville Ferry", "Port Royal", "Mabou", "Inverness", "Ingonish",
    "Pleasant Bay", "Margaree", "Rustico", "North Rustico", "Stanley Bridge", "Victoria",
    "Georgetown", "Montague", "Murray Harbour", "St. Martins", "Hopewell Cape", "Sackville",
    "Petitcodiac", "Bay Bulls", "Petty Harbour", "Trinity", "Bonavista", "Fogo",
)  # fmt: skip
TOPICS = (
    "Natural History", "Fisheries", "Shipbuilding", "Acadian Life", "Immigration", "Rail",
    "Lighthouses", "Folk Art", "Mining", "the Atlantic", "Coastal Heritage", "Military History",
    "Boatbuilding", "Whaling", "Textiles", "Music", "Photography", "Science", "Agriculture",
    "Railways", "Childhood", "Sport", "Shipwrecks", "Lumbering",
)  # fmt: skip


@dataclass(frozen=True)
class Category:
    key: str
    weight: int
    names: tuple[str, ...]  # str.format patterns over the word lists above
    attributes: tuple[str, ...]
    noun: str  # used in descriptions: "this {noun}"
    seasonal: float  # probability of having opening date ranges
    hours: tuple[tuple[str, ...], tuple[str, ...]]  # (open times, close times)
    closed_days: tuple[float, ...]  # per weekday Mon..Sun: probability of being closed


CATEGORIES: tuple[Category, ...] = (
    Category(
        "inn",
        14,
        (
            "{surname} House Inn",
            "The {adj} {animal} Inn",
            "{adj} {coast} Inn",
            "{surname}'s {locality} Bed & Breakfast",
            "{adj} {tree} Cottages",
            "{locality} {coast} Hotel",
            "The {noun} & {tree} Guest House",
            "{surname}'s {coast} Suites",
        ),
        (
            "Accommodations",
            "Bed & Breakfast",
            "Free Wi-Fi",
            "Parking",
            "Pet Friendly",
            "Ocean View",
            "Breakfast Included",
            "Wheelchair Accessible",
        ),  # fmt: skip
        "inn",
        0.3,
        (("07:00", "08:00"), ("22:00", "23:00")),
        (0, 0, 0, 0, 0, 0, 0),
    ),
    Category(
        "restaurant",
        16,
        (
            "{surname}'s Seafood Restaurant",
            "The {adj} {animal}",
            "{noun} & {noun2} Kitchen",
            "{adj} {coast} Grill",
            "{surname}'s {noun} Pizza",
            "The {adj} {animal} Pub",
            "{locality} {noun} Chowder House",
            "{animal} & {noun} Bistro",
        ),
        (
            "Restaurants",
            "Seafood",
            "Lobster",
            "Pizza",
            "Vegetarian Options",
            "Patio",
            "Licensed",
            "Takeout",
            "Family Friendly",
            "Live Music",
        ),  # fmt: skip
        "restaurant",
        0.2,
        (("11:00", "11:30", "12:00"), ("21:00", "22:00", "23:00")),
        (0.4, 0.15, 0, 0, 0, 0, 0.05),
    ),
    Category(
        "cafe",
        8,
        (
            "{adj} Bean Café",
            "Café {surname}",
            "{noun} & {tree} Coffee Roasters",
            "The {adj} {noun}",
            "{tree} {coast} Bakery",
            "{surname}'s {adj} Scone",
        ),
        ("Cafés", "Coffee", "Bakery", "Vegan Options", "Free Wi-Fi", "Takeout"),
        "café",
        0.1,
        (("07:00", "07:30", "08:00"), ("16:00", "17:00", "18:00")),
        (0.1, 0, 0, 0, 0, 0, 0.3),
    ),
    Category(
        "brewery",
        7,
        (
            "{noun} {coast} Brewing Co.",
            "{surname} Brothers Brewery",
            "{adj} {coast} Craft Brewing",
            "{adj} {animal} Brewhouse",
            "{tree} & {noun} Beer Company",
            "{locality} {animal} Ales",
        ),
        ("Breweries", "Craft Beer", "Tours", "Tasting Room", "Pizza", "Live Music", "Patio"),
        "brewery",
        0.2,
        (("12:00", "13:00"), ("21:00", "22:00", "23:00")),
        (0.5, 0.3, 0, 0, 0, 0, 0),
    ),
    Category(
        "winery",
        4,
        (
            "{surname} Family Vineyards",
            "{adj} {tree} Winery",
            "{noun} Ridge Estate Winery",
            "{locality} {tree} Cider House",
            "{surname}'s {tree} Orchard Wines",
        ),
        ("Wineries", "Tastings", "Tours", "Patio", "Cideries", "Gift Shop"),
        "winery",
        0.7,
        (("10:00", "11:00"), ("17:00", "18:00")),
        (0.3, 0.3, 0, 0, 0, 0, 0),
    ),
    Category(
        "tour",
        12,
        (
            "{locality} {coast} Tours",
            "{adj} {animal} Whale Watching",
            "{surname}'s Kayak Adventures",
            "{adj} {coast} Boat Tours",
            "{adj} {animal} Ghost Walks",
            "{surname}'s {locality} Food Walks",
            "{animal} & {noun} Sea Safaris",
        ),
        (
            "Tours",
            "Whale Watching",
            "Kayaking",
            "Boat Tours",
            "Walking Tours",
            "Family Friendly",
            "Outdoor Adventure",
        ),  # fmt: skip
        "tour",
        0.8,
        (("08:00", "09:00", "10:00"), ("17:00", "18:00", "19:00")),
        (0, 0, 0, 0, 0, 0, 0.1),
    ),
    Category(
        "museum",
        8,
        (
            "{locality} Museum of {topic}",
            "{surname} Museum of {topic}",
            "The {surname} Heritage House",
            "{surname} Gallery at {locality}",
            "{adj} {coast} Heritage Centre",
            "{noun} & {tree} Art Studio",
        ),
        ("Museums", "Heritage", "Gift Shop", "Wheelchair Accessible", "Guided Tours", "Art"),
        "museum",
        0.5,
        (("09:30", "10:00"), ("16:30", "17:00", "17:30")),
        (0.6, 0.1, 0, 0, 0, 0, 0.1),
    ),
    Category(
        "park",
        8,
        (
            "{adj} {tree} Provincial Park",
            "{noun} Point Trail at {locality}",
            "{surname} Beach Park",
            "{adj} {coast} Gardens",
            "{adj} {animal} Nature Reserve",
            "{locality} {tree} Trail",
        ),
        ("Parks", "Hiking", "Beaches", "Picnic Area", "Camping", "Pet Friendly", "Birding"),
        "park",
        0.6,
        (("06:00", "08:00"), ("20:00", "21:00", "22:00")),
        (0, 0, 0, 0, 0, 0, 0),
    ),
    Category(
        "shop",
        9,
        (
            "{surname}'s General Store",
            "The {adj} {noun} Craft Shop",
            "{adj} {coast} Gifts & Books",
            "{adj} {noun} Antiques",
            "{surname}'s Market at {locality}",
            "{tree} & {noun} Pottery",
        ),
        ("Shopping", "Local Crafts", "Gift Shop", "Books", "Antiques", "Farmers Market"),
        "shop",
        0.2,
        (("09:00", "10:00"), ("17:00", "18:00", "20:00")),
        (0.05, 0, 0, 0, 0, 0, 0.35),
    ),
)

# Description material. Generic sentences are the product of these three lists (about
# 3,000 distinct sentences), so ten-kilobyte descriptions read as text and vary.
SENTENCE_STARTS = (
    "Visitors often say that",
    "Locals will tell you that",
    "Guests come back year after year because",
    "Our team believes that",
    "Many travellers find that",
    "Families love that",
    "Photographers agree that",
    "It is no secret that",
    "Reviewers keep mentioning that",
    "Whatever the season,",
    "On a clear morning,",
    "As the fog lifts over the water,",
)
SENTENCE_MIDDLES = (
    "the harbour views are unforgettable",
    "the staff go out of their way to help",
    "the local seafood is as fresh as it gets",
    "the sunsets over the water are worth the trip",
    "there is always something new to discover",
    "the historic streets are best explored on foot",
    "a warm welcome is part of the experience",
    "the smell of salt air follows you everywhere",
    "the lobster rolls deserve their reputation",
    "the walking trails lead to quiet coves",
    "the old wooden boats tell stories of the past",
    "the tides here are among the highest in the world",
    "live fiddle music fills the evenings",
    "the farmers' market is a Saturday ritual",
    "the lighthouse is visible from miles away",
    "the autumn colours are spectacular",
    "a cup of tea tastes better by the sea",
    "every corner has a piece of local history",
    "the beaches stay quiet even in July",
    "the craft brewers love to talk about their beer",
    "children never run out of things to do",
    "the stars are brilliant away from the city lights",
    "the Acadian heritage is woven into daily life",
    "the whales arrive right on schedule each summer",
    "kitchen parties are a proud local tradition",
)
SENTENCE_ENDS = (
    ".",
    " in every season.",
    " on a summer evening.",
    ", rain or shine.",
    " from May to October.",
    " after a long day of exploring.",
    " — and we agree.",
    ", especially in the shoulder season.",
    " for first-time visitors and regulars alike.",
    ", just as it has been for generations.",
)
OPENERS = (
    "{name} sits in the heart of {city}, {province}, a short walk from the water.",
    "Founded in {year}, {name} has welcomed visitors to {city} for generations.",
    "Whether you are in {province} for a weekend or a month, {name} belongs on your list.",
    "Ask anyone in {city} about {name} and you will hear a story or two.",
    "{name} is one of the best-loved places of its kind in {city}.",
    "This {noun} near the {city} waterfront is a local favourite.",
    "Plan at least an afternoon for {name}; most visitors wish they had stayed longer.",
    "Every visit to {city} is better with a stop at {name}.",
)
CLOSERS = (
    "Plan your visit to {name} and see why {city} keeps drawing people back.",
    "However you spend your time in {province}, save a few hours for {name}.",
    "We look forward to welcoming you to {name} in {city}.",
    "Come for the {noun}, stay for the people: {name} is waiting.",
)
