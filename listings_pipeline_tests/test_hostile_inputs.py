"""Hostile and broken inputs, each imported as a user would: `listings-pipeline run SLUG
--input F --json` in a subprocess, its peak RSS read from the kernel when it ends (wait4's
ru_maxrss: the worker's own high-water mark, not a sample).

For every case: the run ends by itself, the worker stays under MAX_RSS_MB, the job ends
`completed` or `failed` (never left running), a failure is one line naming the file and the
cause with no traceback, and the records beside a bad one are all staged and nothing else is.
The files are generated here, small on disk. Figures (seconds, peak RSS) are printed at the end
of the module; they are not asserted (the machine is shared).
"""

from __future__ import annotations

import codecs
import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text

from listings_pipeline_tests.helpers import cli_env

MAX_RSS_MB = 500
GOOD = [{"ID": f"G{i}", "Name": f"Good {i}", "City": "Halifax"} for i in (1, 2, 3)]
G123 = ("G1", "G2", "G3")
HEADER = "ID,Name,City\n"


def good_csv(i: int) -> str:
    row = GOOD[i - 1]
    return f"{row['ID']},{row['Name']},{row['City']}\n"


def good_json(i: int) -> str:
    return json.dumps(GOOD[i - 1])


def json_array(*items: str) -> str:
    return "[" + ",\n".join(items) + "]"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def write(name: str, content: str | bytes) -> Callable[[Path], Path]:
    def build(directory: Path) -> Path:
        path = directory / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", newline="")
        else:
            path.write_bytes(content)
        return path

    return build


# ---------------------------------------------------------------- builders of bigger files


def gzip_bomb(directory: Path) -> Path:
    """A 1.2 MB .csv.gz that expands to 1.2 GB of blank lines after two good rows."""
    path = directory / "bomb.csv.gz"
    block = b"\n" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as gz:
        gz.write((HEADER + good_csv(1) + good_csv(2)).encode())
        for _ in range(1200):
            gz.write(block)
    return path


def gzip_ok(directory: Path) -> Path:
    path = directory / "listings.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as gz:
        gz.write(HEADER + good_csv(1) + good_csv(2) + good_csv(3))
    return path


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_PARTS = {
    "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
    'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>",
    "xl/workbook.xml": f'<?xml version="1.0"?><workbook {_NS} xmlns:r="{_REL}"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{_PKG}/'
    f'relationships"><Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/'
    f'sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings'
    '.xml"/></Relationships>',
}


def _row(number: int, *cells: str | int) -> str:
    """A sheet row: str cells inline, int cells index the shared strings."""
    out = []
    for column, value in zip("ABC", cells, strict=False):
        ref = f"{column}{number}"
        if isinstance(value, int):
            out.append(f'<c r="{ref}" t="s"><v>{value}</v></c>')
        else:
            out.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    return f'<row r="{number}">{"".join(out)}</row>'


def xlsx(
    name: str, rows: list[str], shared: Callable[[Any], None], *, pad_mb: int = 0
) -> Callable[[Path], Path]:
    """A workbook written part by part, so a part can be a bomb: `pad_mb` MB of whitespace in
    the sheet, `shared` writes xl/sharedStrings.xml."""

    def build(directory: Path) -> Path:
        path = directory / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for part, body in _PARTS.items():
                archive.writestr(part, body)
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                sheet.write(f'<?xml version="1.0"?><worksheet {_NS}><sheetData>'.encode())
                sheet.write("".join(rows).encode())
                pad = b" " * (1 << 20)
                for _ in range(pad_mb):
                    sheet.write(pad)
                sheet.write(b"</sheetData></worksheet>")
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
                shared(fh)
        return path

    return build


def strings(*values: str) -> Callable[[Any], None]:
    def write_strings(fh: Any) -> None:
        items = "".join(f"<si><t>{v}</t></si>" for v in values)
        fh.write(f'<?xml version="1.0"?><sst {_NS}>{items}</sst>'.encode())

    return write_strings


def billion_laughs(fh: Any) -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    fh.write(f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]><sst {_NS}>'.encode())
    fh.write(b"<si><t>&j;</t></si></sst>")


def many_strings(fh: Any) -> None:
    """600,000 distinct shared strings: 57 MB of XML, 1.5 MB zipped, all held by openpyxl."""
    fh.write(f'<?xml version="1.0"?><sst {_NS}><si><t>Good 1</t></si>'.encode())
    for start in range(0, 600_000, 10_000):
        fh.write(
            "".join(
                f"<si><t>shared string {i:09d}, as long as a short description</t></si>"
                for i in range(start, start + 10_000)
            ).encode()
        )
    fh.write(b"</sst>")


SHEET_OK = [_row(1, "ID", "Name", "City"), _row(2, "G1", 0, "Halifax")]


def png(directory: Path) -> Path:
    path = directory / "photo.csv"
    rng = random.Random(7)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(20_000)))
    return path


def random_bytes(directory: Path) -> Path:
    path = directory / "noise.csv"
    rng = random.Random(8)
    path.write_bytes(bytes(rng.getrandbits(8) for _ in range(50_000)))
    return path


def huge_line(name: str, before: str, line: str, after: str, mb: int) -> Callable[[Path], Path]:
    """`before`, then one line of `mb` MB (written in blocks), then `after`."""

    def build(directory: Path) -> Path:
        path = directory / name
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(before)
            fh.write(line)
            block = "x" * (1 << 20)
            for _ in range(mb):
                fh.write(block)
            fh.write('"}\n' if name.endswith(".jsonl") else "\n")
            fh.write(after)
        return path

    return build


def one_line_file(directory: Path) -> Path:
    path = directory / "oneline.csv"
    with path.open("w") as fh:
        fh.write("ID,Name,City,")
        for _ in range(30):
            fh.write("x," * (1 << 19))
    return path


# ---------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    name: str
    fmt: str
    build: Callable[[Path], Path]
    staged: tuple[str, ...] = ()  # source ids staged: exactly these
    errors: tuple[str, ...] = ()  # one job error each, containing this (record id + message)
    failure: str | None = None  # the job fails, its message holding this
    import_: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "json-200kb-of-nested-brackets",
        "json",
        write("brackets.json", nested(100_000)),
        failure="no record could be read: brackets.json record 1: nested deeper than 32 levels",
    ),
    Case(
        "json-deep-records-between-good-ones",
        "json",
        write(
            "deep.json",
            json_array(
                good_json(1),
                nested(20_000),
                good_json(2),
                '{"ID": "D2", "x": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
                good_json(3),
            ),
        ),
        staged=G123,
        errors=("deep.json record 2: line 2: nested deeper", "deep.json record 4: line 4: nested"),
    ),
    Case(
        "jsonl-line-nested-20000-deep",
        "jsonl",
        write("deep.jsonl", "\n".join([good_json(1), nested(20_000), good_json(2), ""])),
        staged=("G1", "G2"),
        errors=("deep.jsonl line 2: nested deeper than 32 levels",),
    ),
    Case(
        "csv-row-with-a-nul-byte",
        "csv",
        write("nul.csv", HEADER + good_csv(1) + "N1,Bad\x00Name,Halifax\n" + good_csv(2)),
        staged=("G1", "G2"),
        errors=("nul.csv line 3: field 'Name': holds a NUL character",),
    ),
    Case(
        "json-nul-escape-in-a-value",
        "json",
        write("nul.json", json_array(good_json(1), '{"ID": "N1", "Name": "a\\u0000b"}')),
        staged=("G1",),
        errors=("nul.json record 2: field 'Name': holds a NUL character",),
    ),
    Case(
        "csv-1mb-field",
        "csv",
        write(
            "bigfield.csv", HEADER + good_csv(1) + "B1,Big," + "d" * (1 << 20) + "\n" + good_csv(2)
        ),
        staged=("G1", "G2"),
        errors=("bigfield.csv line 3: field 'City': value of 1,048,576 bytes, over the limit",),
    ),
    Case(
        "jsonl-1mb-field",
        "jsonl",
        write(
            "bigfield.jsonl",
            "\n".join([good_json(1), json.dumps({"ID": "B1", "Name": "b" * (1 << 20)}), ""]),
        ),
        staged=("G1",),
        errors=("bigfield.jsonl line 2: field 'Name': value of 1,048,576 bytes",),
    ),
    Case(
        "csv-utf16-without-bom",
        "csv",
        write("utf16.csv", (HEADER + "G1,Café Été,Québec\n" + good_csv(2)).encode("utf-16-le")),
        staged=("G1", "G2"),
    ),
    Case(
        "json-utf16-big-endian-without-bom",
        "json",
        write("utf16be.json", json_array(good_json(1), good_json(2)).encode("utf-16-be")),
        staged=("G1", "G2"),
    ),
    Case(
        "json-cut-short-inside-record-3",
        "json",
        write("cut.json", json_array(good_json(1), good_json(2), good_json(3))[:-20]),
        staged=("G1", "G2"),
        errors=("cut.json record 3: line 3: the file ends inside this record",),
    ),
    Case(
        "json-cut-short-inside-the-first-record",
        "json",
        write("cut1.json", '[{"ID": "G1", "Name": "Go'),
        failure="no record could be read: cut1.json record 1: the file ends inside this record",
    ),
    Case(
        "json-lone-surrogate-escape",
        "json",
        write(
            "surrogate.json",
            json_array(good_json(1), r'{"ID": "S1", "Name": "\ud800"}', good_json(2)),
        ),
        staged=("G1", "G2"),
        errors=("surrogate.json record 2: field 'Name': holds a lone surrogate (U+D800)",),
    ),
    Case(
        "jsonl-lone-surrogate-escape",
        "jsonl",
        write("surrogate.jsonl", "\n".join([good_json(1), r'{"ID": "S1", "Name": "x\udfff"}'])),
        staged=("G1",),
        errors=("surrogate.jsonl line 2: field 'Name': holds a lone surrogate (U+DFFF)",),
    ),
    Case(
        "json-top-level-scalar",
        "json",
        write("scalar.json", "42"),
        failure="expected an array of records at the top level, found a number",
    ),
    Case(
        "json-records-that-are-lists-strings-numbers",
        "json",
        write(
            "mixed.json", json_array(good_json(1), "[1, 2]", '"text"', "7", "null", good_json(2))
        ),
        staged=("G1", "G2"),
        errors=tuple(f"record {n}: line {n}: record is not a JSON object" for n in (2, 3, 4, 5)),
    ),
    Case(
        "gzip-bomb",
        "csv",
        gzip_bomb,
        failure="bomb.csv.gz: expands",
    ),
    Case("gzip-csv-is-read", "csv", gzip_ok, staged=G123),
    Case(
        "xlsx-zip-bomb-600kb-to-600mb",
        "xlsx",
        xlsx("bomb.xlsx", SHEET_OK, strings("Good 1"), pad_mb=600),
        failure="part xl/worksheets/sheet1.xml expands",
    ),
    Case(
        "xlsx-billion-laughs",
        "xlsx",
        xlsx("laughs.xlsx", SHEET_OK, billion_laughs),
        failure="limit on input amplification factor",
    ),
    Case(
        "xlsx-shared-strings-past-the-memory-limit",
        "xlsx",
        xlsx("strings.xlsx", SHEET_OK, many_strings),
        failure="the worker's memory passed its limit of 200 MB",
        env={"LISTINGS_WORKER_MEMORY_MB": "200"},
    ),
    Case(
        "xlsx-that-is-text",
        "xlsx",
        write("notes.xlsx", HEADER + good_csv(1)),
        failure="notes.xlsx: not a readable .xlsx workbook",
    ),
    Case("binary-png-named-csv", "csv", png, failure="photo.csv: this is a PNG image, not CSV"),
    Case(
        "binary-noise-named-csv",
        "csv",
        random_bytes,
        failure="noise.csv: this looks like binary data, not CSV text",
    ),
    Case(
        "csv-file-that-is-one-30mb-line",
        "csv",
        one_line_file,
        failure="oneline.csv: line 1: cannot read the header: line longer than 2,097,152",
    ),
    Case(
        "csv-30mb-line-between-good-rows",
        "csv",
        huge_line("hugeline.csv", HEADER + good_csv(1), "H1,", good_csv(2), 30),
        staged=("G1", "G2"),
        errors=("hugeline.csv line 3: line longer than 2,097,152 characters",),
    ),
    Case(
        "jsonl-30mb-line-between-good-lines",
        "jsonl",
        huge_line(
            "hugeline.jsonl", good_json(1) + "\n", '{"ID": "H1", "Name": "', good_json(2), 30
        ),
        staged=("G1", "G2"),
        errors=("hugeline.jsonl line 2: line longer than 2,097,152 bytes",),
    ),
    Case(
        "json-3mb-record",
        "json",
        write(
            "wide.json", json_array(good_json(1), '{"ID": "W1", "x": [' + "0," * 1_500_000 + "0]}")
        ),
        staged=("G1",),
        errors=("wide.json record 2: line 2: record larger than 2,097,152 bytes",),
    ),
    Case(
        "csv-mixed-line-endings",
        "csv",
        write(
            "endings.csv",
            "ID,Name,City\r\nG1,Good 1,Halifax\nG2,Good 2,Halifax\rG3,Good 3,Halifax\r\n",
        ),
        staged=G123,
    ),
    Case(
        "json-duplicate-keys-last-wins",
        "json",
        write("dupes.json", '[{"ID": "X9", "ID": "G1", "Name": "Good 1", "City": "Halifax"}]'),
        staged=("G1",),
    ),
    Case(
        "csv-unterminated-quote-swallowing-the-file",
        "csv",
        write(
            "quote.csv",
            HEADER + good_csv(1) + 'Q1,"Unterminated,Halifax\n' + good_csv(2) + good_csv(3),
        ),
        staged=G123,
        errors=("quote.csv line 3: cannot parse CSV: unexpected end of data",),
    ),
    Case(
        "csv-one-line-not-utf8",
        "csv",
        write(
            "badbyte.csv",
            # UTF-8 throughout (its accents say so), but for one byte
            (HEADER + "G1,Good 1,Québec Montréal Trois-Rivières\n").encode()
            + b"B1,Bad \xff,Halifax\n"
            + good_csv(2).encode(),
        ),
        staged=("G1", "G2"),
        errors=("badbyte.csv line 3: field 'Name': holds the byte 0xff, which is not valid",),
    ),
    Case(
        "jsonl-one-line-not-utf8",
        "jsonl",
        write(
            "badbyte.jsonl",
            '{"ID": "G1", "Name": "Café Crème", "City": "Montréal"}\n'.encode()
            + b'{"ID": "B1", "Name": "\xff"}\n'
            + good_json(2).encode(),
        ),
        staged=("G1", "G2"),
        errors=("badbyte.jsonl line 2: not valid UTF-8 (byte 0xff)",),
    ),
    Case(
        "csv-too-many-bad-rows",
        "csv",
        write("ragged.csv", HEADER + good_csv(1) + "R,1\n" * 20),
        failure="ragged.csv: stopped after 5 unreadable records (import.limits.max_errors",
        import_={"limits": {"max_errors": 5}},
    ),
    Case(
        "unknown-encoding-configured",
        "csv",
        write("any.csv", HEADER + good_csv(1)),
        failure="any.csv: unknown encoding 'klingon'",
        import_={"encoding": "klingon"},
    ),
]


BASELINE = Case(
    "baseline-clean-csv",
    "csv",
    write("clean.csv", HEADER + "".join(map(good_csv, (1, 2, 3)))),
    G123,
)

# ---------------------------------------------------------------- running the CLI

# `listings-pipeline ARGS`, writing the process's peak RSS (kB) to a file as it exits.
_WITH_PEAK = (
    "import atexit, runpy, sys\n"
    "peak_file = sys.argv.pop(1)\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    open(peak_file, 'w').write(status.split('VmHWM:')[1].split()[0])\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'listings-pipeline'\n"
    "runpy.run_module('listings_pipeline.cli', run_name='__main__')\n"
)

# Runs at once: each is a separate worker process with its own peak RSS; two keep a 2-core
# machine busy without the runs starving each other.
PARALLEL = 2


@dataclass
class Outcome:
    case: str
    status: str
    seconds: float
    rss_mb: float
    summary: dict[str, Any]
    stderr: str


class Hostile:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.configs = home / "configs"
        self.configs.mkdir()
        self.env = cli_env(home, self.configs)
        self.outcomes: list[Outcome] = []

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "listings_pipeline.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def configure(self, case: Case, dmo_id: int) -> str:
        slug = f"h-{case.name}"[:60]
        config = {
            "slug": slug,
            "dmo_id": dmo_id,
            "dmo_name": f"Hostile {dmo_id}",
            "name": case.name,
            "source_type": case.fmt,
            "import": {"source_id": {"field": "ID"}, **case.import_},
            "transform": {
                "map_fields": {"listings.name": "Name", "locations.city": "City"},
                "geocode": {"enabled": False},
                # The cases share one catalogue (a DMO each) and the same made-up names
                # ("Good 1" in Halifax and elsewhere): matching them to each other is not what
                # these tests check, and a suggested match would stop a case at review.
                "matching": {"enabled": False},
            },
        }
        (self.configs / f"{slug}.yaml").write_text(yaml.safe_dump(config))
        return slug

    def run(self, case: Case, slug: str, directory: Path) -> Outcome:
        """Build the case's file in `directory` and run the CLI on it. The peak RSS is the
        worker's own VmHWM, read by the worker as it exits (wait4's ru_maxrss would count the
        pytest process the worker was forked from)."""
        path = case.build(directory)
        out, err, hwm = (directory / name for name in ("stdout.txt", "stderr.txt", "hwm.txt"))
        started = time.perf_counter()
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.run(
                [sys.executable, "-c", _WITH_PEAK, str(hwm), "run", slug, "--input", str(path)]
                + ["--json"],
                env={**self.env, **case.env},
                stdout=stdout,
                stderr=stderr,
                timeout=300,  # a guard against hanging the suite, not a benchmark
                check=False,
            )
        stdout_text = out.read_text()
        summary = json.loads(stdout_text) if stdout_text.strip() else {}
        outcome = Outcome(
            case.name,
            summary.get("status", f"exit {process.returncode}"),
            time.perf_counter() - started,
            int(hwm.read_text()) / 1024 if hwm.exists() else float("inf"),
            summary,
            err.read_text(),
        )
        self.outcomes.append(outcome)
        return outcome


@pytest.fixture(scope="module")
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[Hostile, Engine]]:
    home = Path(tempfile.mkdtemp(prefix="lphx-"))  # short: the server socket lives inside
    runner = Hostile(home)
    ready = runner.cli("db", "upgrade")
    assert ready.returncode == 0, ready.stderr
    url = runner.cli("db", "url").stdout.strip()
    engine = create_engine(url)
    # One run alone first: it creates Dagster's storage, which parallel first runs would race
    # to create; and its figures are the baseline of a clean input.
    baseline = runner.run(
        BASELINE, runner.configure(BASELINE, 98), Path(tempfile.mkdtemp(dir=home))
    )
    assert baseline.status == "completed", baseline.stderr[-3000:]
    yield runner, engine
    engine.dispose()
    runner.cli("db", "stop")
    shutil.rmtree(home, ignore_errors=True)
    if runner.outcomes:  # the figures, printed past pytest's capture
        order = {c.name: i for i, c in enumerate(CASES)}
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\n{'hostile input':<46} {'outcome':<10} {'seconds':>8} {'peak RSS':>9}")
            for o in sorted(runner.outcomes, key=lambda o: order.get(o.case, len(order))):
                print(f"{o.case:<46} {o.status:<10} {o.seconds:>8.1f} {o.rss_mb:>6.0f} MB")


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest,
    hostile: tuple[Hostile, Engine],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[Outcome]]]:
    """The selected cases, all started at once (PARALLEL at a time); each test waits for its
    own. Configs are all written first: a run reads the config directory."""
    runner, _ = hostile
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_hostile_input"
    ]
    slugs = {case.name: runner.configure(case, 100 + CASES.index(case)) for case in selected}
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {
            case.name: pool.submit(
                runner.run, case, slugs[case.name], tmp_path_factory.mktemp("hostile")
            )
            for case in selected
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(
    hostile: tuple[Hostile, Engine], outcomes: dict[str, Future[Outcome]], case: Case
) -> None:
    _, engine = hostile
    outcome = outcomes[case.name].result()

    assert outcome.rss_mb < MAX_RSS_MB, f"{case.name}: peak RSS {outcome.rss_mb:.0f} MB"
    assert "Traceback" not in outcome.stderr, outcome.stderr[-3000:]
    job_id = outcome.summary["job_id"]
    with engine.connect() as conn:
        status, message = conn.execute(
            text("SELECT status, error_message FROM pipeline.jobs WHERE id = :id"), {"id": job_id}
        ).one()
        staged = set(
            conn.execute(
                text("SELECT source_id FROM stage.listings_flat WHERE job_id = :id"), {"id": job_id}
            ).scalars()
        )
        errors = [
            f"{record_id}: {error}"
            for record_id, error in conn.execute(
                text(
                    "SELECT record_id, error_message FROM pipeline.job_errors"
                    " WHERE job_id = :id ORDER BY id"
                ),
                {"id": job_id},
            )
        ]
    if case.failure is not None:
        assert status == "failed", (status, errors)
        assert case.failure in message, message
        assert "\n" not in message and "Traceback" not in message
        assert staged == set()
        return
    assert status == "completed", (status, message, errors)
    assert staged == set(case.staged), errors
    assert len(errors) == len(case.errors), errors
    for expected in case.errors:
        assert any(expected in e for e in errors), (expected, errors)


def test_an_unchanged_field_name_and_value_survive_their_round_trip(
    hostile: tuple[Hostile, Engine], tmp_path: Path
) -> None:
    """What the readers decoded is what is staged: UTF-16 without BOM, duplicate keys (the
    last wins, as in every JSON parser) and accents come through as written."""
    runner, engine = hostile
    body = '[{"ID": "G1", "Name": "Wrong", "Name": "Café Été", "City": "Québec"}]'
    case = Case("round-trip", "json", write("rt.json", codecs.encode(body, "utf-16-le")))
    outcome = runner.run(case, runner.configure(case, dmo_id=99), tmp_path)
    assert outcome.status == "completed", outcome.summary
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT listing_name FROM stage.listings_flat WHERE job_id = :id"),
            {"id": outcome.summary["job_id"]},
        ).scalars()
        assert list(names) == ["Café Été"]


# ---------------------------------------------------------------- the JSON scanner itself

TRICKY = [
    {"ID": "T1", "Name": 'quote " and backslash \\ and \\" together', "n": [1, 2.5, -3e4]},
    {"ID": "T2", "Name": "brackets ] } [ { in text", "nested": {"a": [{"b": None}, True]}},
    {"ID": "T3", "Name": "\\\\\\", "City": "ends in backslashes\\\\"},
    {"ID": "T4", "Name": "Ünïcödé ✓ \U0001f600", "empty": {}, "list": []},
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_json_scanner_reads_every_record_whatever_the_chunk_boundaries(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records cut at every possible byte by the read size come out exactly as json reads
    them, under a records_path, with whitespace and escapes at the boundaries."""
    import io

    from listings_pipeline.importing.connectors import json_scan
    from listings_pipeline.importing.limits import InputLimits

    monkeypatch.setattr(json_scan, "CHUNK", chunk)
    document = {
        "meta": {"skip": [[["me"]], '"]}'], "n": 1},
        "data": {"items": TRICKY + ["not an object"]},
        "after": 1,
    }
    for text_ in (json.dumps(document), json.dumps(document, indent=3, ensure_ascii=False)):
        stream = io.BytesIO(text_.encode())
        scanned = list(json_scan.scan_records(stream, InputLimits(), "data.items"))
        assert [json.loads(s.data) for s in scanned if s.data] == [*TRICKY, "not an object"]
        assert [s.problem for s in scanned] == [None] * 5
        assert [s.number for s in scanned] == [1, 2, 3, 4, 5]
    one_per_line = "[\n" + ",\n".join(json.dumps(r) for r in TRICKY) + "\n]"
    scanned = list(json_scan.scan_records(io.BytesIO(one_per_line.encode()), InputLimits(), None))
    assert [s.line for s in scanned] == [2, 3, 4, 5]


# ---------------------------------------------------------------- every connector, the same limits


def test_api_records_pass_the_same_limits(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records from the network meet the checks file records meet: each bad one is an error
    naming the field (nested paths dotted), the good one is written."""
    monkeypatch.setenv("LISTINGS_EGRESS_ALLOW", "127.0.0.1/32")  # the server is on loopback
    from listings_pipeline import pipeline
    from listings_pipeline.configs.model import SourceConfig
    from listings_pipeline_tests.local_http import LocalServer, json_reply

    deep: Any = 1
    for _ in range(40):
        deep = {"a": deep}
    items = [
        {"id": "G1", "name": "Good 1"},
        {"id": "N1", "name": "a\x00b"},
        {"id": "S1", "content": {"rendered": "\ud800"}},
        {"id": "D1", "x": deep},
        {"id": "B1", "content": {"rendered": "b" * 600_000}},
        "not an object",
    ]
    with LocalServer() as server:
        server.routes["/listings"] = lambda _req: json_reply(items)
        config = SourceConfig.model_validate(
            {
                "slug": "hostile-api",
                "dmo_id": 3,
                "dmo_name": "API DMO",
                "name": "API",
                "source_type": "api",
                "import": {"source_id": {"field": "id"}, "api": {"url": f"{server.url}/listings"}},
                "transform": {"map_fields": {"listings.name": "name"}},
            }
        )
        job_id = pipeline.start_job(engine, config, input_path=None)
        result = pipeline.import_stage(engine, job_id, config, None)
    assert result.written == 1 and result.counts.failed == 5
    with engine.connect() as conn:
        errors = conn.execute(
            text(
                "SELECT field_name, error_type, error_message FROM pipeline.job_errors"
                " WHERE job_id = :id ORDER BY id"
            ),
            {"id": job_id},
        ).all()
    assert [(e.field_name, e.error_type) for e in errors] == [
        ("name", "record_refused"),
        ("content.rendered", "record_refused"),
        ("x" + ".a" * 31, "record_refused"),  # where the 33rd level starts
        ("content.rendered", "record_refused"),
        (None, "unreadable_record"),
    ]
    assert "holds a NUL character" in errors[0].error_message
    assert "lone surrogate (U+D800)" in errors[1].error_message
    assert "nested deeper than 32 levels" in errors[2].error_message
    assert "value of 600,000 bytes" in errors[3].error_message


def test_memory_watch_stops_the_block_and_never_fires_later() -> None:
    from listings_pipeline.importing.memory import MemoryLimitExceeded, MemoryWatch, rss_mb

    hog: list[bytes] = []
    with pytest.raises(MemoryLimitExceeded), MemoryWatch(int(rss_mb()) + 60) as watch:
        for _ in range(400):  # up to 400 MB, stopped near 60 MB more than now
            hog.append(b"x" * (1 << 20))
            time.sleep(0.002)
    assert watch.fired_mb is not None and len(hog) < 200
    hog.clear()
    with MemoryWatch(int(rss_mb()) + 500):
        time.sleep(0.2)  # nothing to stop: nothing raised, here or after
    time.sleep(0.2)


def test_csv_quote_that_never_closes_in_a_long_file_costs_only_its_line(tmp_path: Path) -> None:
    """Past the record limit (not at the end of the file) the quote's line is refused and the
    lines it swallowed are read again: none of the 500 rows after it is lost."""
    from listings_pipeline.configs.model import SourceConfig
    from listings_pipeline.importing.connectors import RecordProblem, SourceRecord, iter_source

    path = tmp_path / "long.csv"
    rows = "".join(f"P{i},Place {i},Halifax\n" for i in range(500))
    path.write_text(HEADER + good_csv(1) + 'Q1,"never closed,Halifax\n' + rows)
    config = SourceConfig.model_validate(
        {
            "slug": "long-csv",
            "dmo_id": 1,
            "dmo_name": "d",
            "name": "n",
            "source_type": "csv",
            "import": {"limits": {"max_record_bytes": 4096}},
            "transform": {"map_fields": {"listings.name": "Name"}},
        }
    )
    items = list(iter_source(config, path))
    records = [i.data["ID"] for i in items if isinstance(i, SourceRecord)]
    problems = [i for i in items if isinstance(i, RecordProblem)]
    assert records == ["G1", *(f"P{i}" for i in range(500))]
    assert [p.locator for p in problems] == ["long.csv line 3"]
    assert "reading resumes on line 4" in problems[0].message
