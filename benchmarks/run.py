"""The pipeline's benchmark suite: `python benchmarks/run.py [--sizes 10000,50000,100000]
[--runs N] [--json] [--data-dir DIR]`.

For each size (listings per DMO, ~10 KB each, from the seeded generator) and each run, on a
fresh embedded PostgreSQL (a temporary LISTINGS_HOME), through the domain functions
(pipeline.start_job / import_stage / transform_stage / promote_stage, review.decide):

* floor       the same CSV bytes loaded by a plain COPY into a table of text columns
* first       import, transform, promote of DMO 1's first export
* unchanged   the same export again, checking that it writes nothing to public
* changed     DMO 1's next export: 1% of the records changed, 0.5% removed (deletions approved)
* dlt         the peer (benchmarks/dlt_peer.py): dlt's `merge` of the same export into the same
              PostgreSQL, first load and the same export again (optional `[bench]` extra)
* matching    DMO 2's first export, 20% of whose places DMO 1 lists too: precision and recall
              of the listings matched across DMOs against the generator's truth.csv (first run),
              its hard negatives linked; and before it, the same export imported and
              transformed as another source of DMO 2 with matching off, for the ratio

Each measured stage runs in a fresh worker process, so the memory figures are that worker's
own, from the OS: baseline = RSS once everything is imported and connected, before the first
record; peak = VmHWM; "data" = peak − baseline. PostgreSQL's own processes are not counted.
The table shows medians over the runs and each stage's ratio to the COPY floor of the same run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SIZES = (10_000, 50_000, 100_000)
CHANGED_SHARE = 0.01
REMOVED_SHARE = 0.005
SEED = 42
PUBLIC_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"


# ---------------------------------------------------------------- worker (one stage, own RSS)


def _rss_mb(field_name: str) -> float:
    """VmRSS / VmHWM of this process from /proc (kB → MB)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one stage in this (fresh) process and measure it."""
    # Everything a stage needs is imported and connected before the baseline is taken.
    import listings_pipeline.importing.connectors.files  # noqa: F401  (the CSV connector)
    from listings_pipeline import pipeline
    from listings_pipeline.configs.loader import load_config
    from listings_pipeline.db import get_engine
    from listings_pipeline.review import decide
    from listings_pipeline.review.holds import decide_holds

    engine = get_engine()
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    config = load_config(Path(spec["config"])) if spec.get("config") else None
    input_path = Path(spec["input"]) if spec.get("input") else None
    stage = spec["stage"]
    # The reviewer's decisions are not part of the timing: deletions are approved, and
    # uncertain matches are approved as they stand (new listings), so matching quality
    # measures the automatic links only.
    job_id = spec.get("job_id")
    gate = pipeline.gate(engine, job_id) if stage == "promote" else None
    if gate is not None and gate.waiting:
        decide(engine, job_id, "approve", all_rows=True, reviewer="bench")
    if gate is not None and gate.holds:  # a held job is reported, and accepted to go on
        print(f"bench: {gate.describe()}", file=sys.stderr)
        decide_holds(engine, job_id, "accept", reviewer="bench")
    baseline = _rss_mb("VmRSS")
    cpu0, t0 = _cpu(), time.perf_counter()
    out: dict[str, Any] = {}
    if stage == "floor":
        out.update(_copy_floor(engine, input_path))
    elif stage == "import":
        job_id = pipeline.start_job(engine, config, input_path=input_path)
        result = pipeline.import_stage(engine, job_id, config, input_path)
        out.update(job_id=job_id, records=result.counts.total, files=len(result.files))
        out["bytes_stored"] = sum(f.file_size for f in result.files)
    elif stage == "transform":
        result = pipeline.transform_stage(engine, spec["job_id"], config)
        out.update(records=result.counts.total, counts=_counts(result.counts))
    elif stage == "promote":
        result = pipeline.promote_stage(engine, spec["job_id"], config, promoted_by="bench")
        out.update(records=result.counts.total, counts=_counts(result.counts))
    elif stage == "dlt":
        from benchmarks.dlt_peer import load

        url = engine.url.render_as_string(hide_password=False)
        out.update(load(input_path, url, Path(spec["dir"])))
    else:
        raise ValueError(f"unknown stage {stage!r}")
    if stage in ("transform", "promote"):  # where the stage's time went
        steps = getattr(result, "step_seconds", {})
        out["step_seconds"] = {k: round(v, 3) for k, v in steps.items()}
    out.update(
        seconds=time.perf_counter() - t0,
        cpu_seconds=_cpu() - cpu0,
        baseline_mb=baseline,
        peak_mb=_rss_mb("VmHWM"),
    )
    return out


def _counts(counts: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(counts).items() if k != "extra"} | {
        k: v for k, v in counts.extra.items() if isinstance(v, int | float)
    }


def _copy_floor(engine: Any, path: Path) -> dict[str, Any]:
    """The physical floor: the CSV's bytes through COPY into a table of text columns."""
    from psycopg import sql

    with path.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    columns = sql.SQL(", ").join(
        sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(len(header))
    )
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.execute("DROP TABLE IF EXISTS public.bench_copy_floor")
        raw.execute(sql.SQL("CREATE TABLE public.bench_copy_floor ({})").format(columns))
    started = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        copy_sql = "COPY public.bench_copy_floor FROM STDIN (FORMAT csv, HEADER true)"
        with raw.cursor() as cur, cur.copy(copy_sql) as copy, path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        records = conn.exec_driver_sql("SELECT count(*) FROM public.bench_copy_floor").scalar()
        conn.exec_driver_sql("DROP TABLE public.bench_copy_floor")
    return {"records": records, "copy_seconds": seconds}


# ---------------------------------------------------------------- orchestration


@dataclass
class Dataset:
    size: int
    root: Path

    def config(self, dmo: int) -> Path:
        manifest = json.loads((self.root / "manifest.json").read_text())
        return self.root / manifest["configs"][str(dmo)][0]

    def export(self, dmo: int, snapshot: int) -> Path:
        return self.root / f"dmo-{dmo}" / f"snapshot-{snapshot}.csv"


def dataset(size: int, data_dir: Path, echo: Any = print) -> Dataset:
    """Two DMOs × `size` listings of ~10 KB, two snapshots each; generated once and reused
    (the generator is seeded: the same arguments give the same bytes)."""
    from listings_pipeline.generate import generate

    root = data_dir / f"listings-{size}"
    if not (root / "manifest.json").exists():
        shutil.rmtree(root, ignore_errors=True)
        echo(f"generating {size:,} listings x 2 DMOs x 2 snapshots into {root} ...")
        generate(
            root,
            dmos=2,
            listings_per_dmo=size,
            description_kb=10,
            seed=SEED,
            snapshots=2,
            new_share=0.0,
            changed_share=CHANGED_SHARE,
            removed_share=REMOVED_SHARE,
            formats=["csv"],
        )
    return Dataset(size, root)


class Database:
    """A fresh embedded PostgreSQL in a temporary LISTINGS_HOME, migrated."""

    def __init__(self, home: Path | None = None) -> None:
        # Short path: the server's Unix socket lives in the data directory (108-byte limit).
        # A given home is kept (a catalogue built once, measured many times).
        self.keep = home is not None
        self.home = home or Path(tempfile.mkdtemp(prefix="lpb-", dir="/tmp"))
        self.env = {k: v for k, v in os.environ.items() if k != "LISTINGS_DATABASE_URL"}
        self.env["LISTINGS_HOME"] = str(self.home)
        self.env["PYTHONPATH"] = str(ROOT)
        os.environ["LISTINGS_HOME"] = str(self.home)
        os.environ.pop("LISTINGS_DATABASE_URL", None)
        from listings_pipeline.db import database_url, get_engine, reset_engine
        from listings_pipeline.db.migrate import upgrade

        reset_engine()
        self.engine = get_engine()
        upgrade(self.engine)
        # Workers attach to the running server by URL instead of starting it.
        self.env["LISTINGS_DATABASE_URL"] = database_url()

    def close(self) -> None:
        from listings_pipeline.db import reset_engine
        from listings_pipeline.db.embedded import stop

        reset_engine()
        stop(self.home / "pgdata")
        if not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)

    def run(self, stage: str, **spec: Any) -> dict[str, Any]:
        """Run one stage in a fresh worker process; its JSON result."""
        spec = {"stage": stage} | {k: str(v) if isinstance(v, Path) else v for k, v in spec.items()}
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{stage} worker failed:\n{proc.stderr[-4000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def public_state(self) -> dict[str, tuple[int, int]]:
        """Per public table: row count and newest writing transaction id. Any insert, update
        or delete changes one of them (a fresh database: no xid wraparound)."""
        from psycopg import sql

        state = {}
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            for (table,) in raw.execute(PUBLIC_TABLES).fetchall():
                query = sql.SQL("SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM {}")
                row = raw.execute(query.format(sql.Identifier("public", table))).fetchone()
                state[table] = (row[0], row[1])
        return state

    def matched_listings(self, job_ids: Iterable[int]) -> dict[tuple[int, str], int]:
        """(dmo_id, source_id) → the public listing each promoted record ended up in."""
        query = (
            "SELECT dmo_id, source_id, listing_internal_id FROM stage.listings_flat"
            " WHERE job_id = ANY(%s) AND rec_num IS NOT NULL AND listing_internal_id IS NOT NULL"
        )
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            return {(d, s): lid for d, s, lid in raw.execute(query, [list(job_ids)]).fetchall()}


def without_matching(config: Path, out_dir: Path) -> Path:
    """A copy of the source config, as another source of the same DMO, with matching off."""
    import yaml

    data = yaml.safe_load(config.read_text())
    data["slug"] = f"{data['slug']}-nomatch"
    data["name"] = f"{data['name']} (no matching)"
    data["transform"].setdefault("matching", {})["enabled"] = False
    path = out_dir / f"{data['slug']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def pipeline_run(db: Database, config: Path, export: Path) -> dict:
    """Import, transform and promote one export, each stage in its own worker."""
    imported = db.run("import", config=config, input=export)
    job_id = imported["job_id"]
    transformed = db.run("transform", config=config, job_id=job_id)
    promoted = db.run("promote", config=config, job_id=job_id)
    return {"job_id": job_id, "import": imported, "transform": transformed, "promote": promoted}


def matching_quality(
    truth_csv: Path, matched: dict[tuple[int, str], int], hard_negatives: list[dict] = ()
) -> dict[str, Any]:
    """Precision and recall of cross-DMO pairs: two records of different DMOs are a predicted
    pair when they ended up in the same listing, a true pair when truth.csv gives them the
    same place (first snapshot records only); and how many of the generator's hard negatives
    (different places at one address and phone) ended up in one listing."""
    truth: dict[tuple[int, str], int] = {}
    with truth_csv.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["first_snapshot"] == "0":
                truth[(int(row["dmo_id"]), row["source_key"])] = int(row["place_id"])

    def pairs(groups: dict[tuple[int, str], int]) -> set[tuple]:
        by_group: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for key, group in groups.items():
            by_group[group].append(key)
        found = set()
        for members in by_group.values():
            for i, a in enumerate(sorted(members)):
                for b in sorted(members)[i + 1 :]:
                    if a[0] != b[0]:
                        found.add((a, b))
        return found

    keys = truth.keys() & matched.keys()
    predicted = pairs({k: matched[k] for k in keys})
    actual = pairs({k: truth[k] for k in keys})
    hits = len(predicted & actual)
    return {
        "records": len(keys),
        "true_pairs": len(actual),
        "predicted_pairs": len(predicted),
        "correct_pairs": hits,
        "precision": hits / len(predicted) if predicted else None,
        "recall": hits / len(actual) if actual else None,
        "hard_negatives": len(hard_negatives),
        "hard_negatives_linked": sum(
            1
            for h in hard_negatives
            if (a := matched.get((h["catalogue_dmo"], h["catalogue_key"]))) is not None
            and a == matched.get((h["source_dmo"], h["source_key"]))
        ),
    }


PARTS = ("floor", "first", "unchanged", "dlt", "changed", "matching")
# Per-step seconds reported (the stage's step_seconds): transform steps are wall time in the
# flushing thread, overlapping "map" (Python); promotion steps are one after the other.
STEP_PROFILES = (
    ("first", "transform"),
    ("first", "promote"),
    ("unchanged", "transform"),
    ("matching", "transform"),
)
STEPS_SHOWN = 8


def measure(size: int, data: Dataset, parts: Iterable[str] = PARTS, echo: Any = print) -> dict:
    """One run at one size on a fresh database: the figures of every part asked for."""
    parts = set(parts)
    db = Database()
    config1, export = data.config(1), data.export(1, 0)
    run: dict[str, Any] = {"size": size, "input_bytes": export.stat().st_size}
    try:
        if "floor" in parts:
            run["floor"] = db.run("floor", input=export)
            echo(f"  COPY floor {run['floor']['copy_seconds']:.2f} s")
        if parts & {"first", "unchanged", "changed"}:
            run["first"] = pipeline_run(db, config1, export)
            echo(f"  first import {_e2e(run['first']):.2f} s ({_stages(run['first'])})")
        if "unchanged" in parts:
            before = db.public_state()
            run["unchanged"] = pipeline_run(db, config1, export)
            after = db.public_state()
            run["unchanged"]["public_writes"] = {
                t: [before.get(t), after[t]] for t in after if before.get(t) != after[t]
            }
            u = run["unchanged"]
            echo(f"  unchanged re-import {_e2e(u):.2f} s ({_stages(u)})")
        if "dlt" in parts:  # its own schema, so the order of parts does not matter
            pipelines = db.home / "dlt"
            run["dlt"] = {
                "first": db.run("dlt", input=export, dir=pipelines),
                "unchanged": db.run("dlt", input=export, dir=pipelines),
            }
            d = run["dlt"]
            echo(
                f"  dlt merge: first {d['first']['seconds']:.2f} s,"
                f" unchanged {d['unchanged']['seconds']:.2f} s"
            )
        if "changed" in parts:
            changed = data.export(1, 1)
            run["changed"] = pipeline_run(db, config1, changed)
            run["changed"]["input_bytes"] = changed.stat().st_size
            echo(f"  changed re-import {_e2e(run['changed']):.2f} s ({_stages(run['changed'])})")
        if "matching" in parts:
            plain = without_matching(data.config(2), db.home)
            imported = db.run("import", config=plain, input=data.export(2, 0))
            run["nomatch"] = {"import": imported, "transform": db.run(
                "transform", config=plain, job_id=imported["job_id"])}  # fmt: skip
            run["matching"] = pipeline_run(db, data.config(2), data.export(2, 0))
            jobs = [run["first"]["job_id"], run["matching"]["job_id"]]
            manifest = json.loads((data.root / "manifest.json").read_text())
            run["matching"]["quality"] = matching_quality(
                data.root / "truth.csv", db.matched_listings(jobs),
                manifest.get("hard_negatives", []),
            )  # fmt: skip
            q = run["matching"]["quality"]
            ratio = run["matching"]["transform"]["seconds"] / run["nomatch"]["transform"]["seconds"]
            echo(f"  second DMO {_e2e(run['matching']):.2f} s; transform"
                 f" {run['matching']['transform']['seconds']:.2f} s, without matching"
                 f" {run['nomatch']['transform']['seconds']:.2f} s ({ratio:.2f}x);"
                 f" matching {q}")  # fmt: skip
    finally:
        db.close()
    return run


def _stages(part: dict) -> str:
    return ", ".join(f"{s} {part[s]['seconds']:.2f}" for s in ("import", "transform", "promote"))


def _e2e(part: dict) -> float:
    return sum(part[s]["seconds"] for s in ("import", "transform", "promote"))


# ---------------------------------------------------------------- report


@dataclass
class Row:
    label: str
    seconds: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    peak: list[float] = field(default_factory=list)
    records: int = 0
    input_bytes: int = 0


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(size: int, runs: list[dict]) -> dict[str, Any]:
    """Medians over runs: seconds, ratio to the COPY floor of the same run, records/s, MB/s,
    worker memory."""
    rows: dict[str, Row] = {}

    def add(
        label: str,
        seconds: float,
        floor: float | None,
        stage: dict | None,
        records: int,
        input_bytes: int,
    ) -> None:
        row = rows.setdefault(label, Row(label))
        row.seconds.append(seconds)
        if floor:
            row.ratios.append(seconds / floor)
        if stage is not None:
            row.baseline.append(stage["baseline_mb"])
            row.peak.append(stage["peak_mb"])
        row.records, row.input_bytes = records, input_bytes

    for run in runs:
        floor = run.get("floor", {}).get("copy_seconds")
        if floor:
            add("COPY floor", floor, floor, None, run["floor"]["records"], run["input_bytes"])
        for part, title in (
            ("first", "first"),
            ("unchanged", "unchanged"),
            ("changed", "1% changed"),
            ("matching", "DMO 2"),
        ):
            if part not in run:
                continue
            p = run[part]
            n = p["import"]["records"]
            nbytes = p.get("input_bytes", run["input_bytes"])
            for stage in ("import", "transform", "promote"):
                add(f"{title}: {stage}", p[stage]["seconds"], floor, p[stage], n, nbytes)
            add(f"{title}: end to end", _e2e(p), floor, None, n, nbytes)
            if part == "matching" and "nomatch" in run:
                nomatch = run["nomatch"]["transform"]
                add("no-match DMO 2: transform", nomatch["seconds"], floor, nomatch, n, nbytes)
        for load in ("first", "unchanged") if "dlt" in run else ():
            d = run["dlt"][load]
            label = f"dlt merge: {load}"
            add(label, d["seconds"], floor, d, d["records"], run["input_bytes"])
    table = []
    for row in rows.values():
        s = _median(row.seconds)
        data = [p - b for p, b in zip(row.peak, row.baseline, strict=True)]
        table.append(
            {
                "stage": row.label,
                "runs": len(row.seconds),
                "seconds": s,
                "x_copy": _median(row.ratios),
                "records_per_s": row.records / s if s else None,
                "mb_per_s": row.input_bytes / 1e6 / s if s else None,
                "baseline_mb": _median(row.baseline),
                "peak_mb": _median(row.peak),
                "data_mb": _median(data),
            }
        )
    checks: dict[str, Any] = {}
    unchanged = [r["unchanged"]["public_writes"] for r in runs if "unchanged" in r]
    if unchanged:
        checks["unchanged_public_writes"] = unchanged
    changed = [r["changed"]["transform"]["counts"] for r in runs if "changed" in r]
    if changed:
        c = changed[0]
        checks["changed_counts"] = {k: c.get(k) for k in ("total", "updated", "deleted", "new")}
    quality = [r["matching"]["quality"] for r in runs if "matching" in r]
    if quality:
        checks["matching"] = quality[0]
    ratios = [r["matching"]["transform"]["seconds"] / r["nomatch"]["transform"]["seconds"]
              for r in runs if "nomatch" in r]  # fmt: skip
    if ratios:
        checks["matching_ratio"] = {"median": statistics.median(ratios),
                                    "runs": [round(x, 2) for x in ratios]}  # fmt: skip
    for part, stage in STEP_PROFILES:
        steps = [r[part][stage].get("step_seconds", {}) for r in runs if part in r]
        if steps and steps[0]:
            medians = {k: statistics.median(s.get(k, 0.0) for s in steps) for k in steps[0]}
            top = sorted(medians.items(), key=lambda kv: -kv[1])[:STEPS_SHOWN]
            checks[f"{part}_{stage}_steps"] = {k: round(v, 2) for k, v in top}
    return {"size": size, "runs": len(runs), "table": table, "checks": checks}


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        width = "".join(c for c in spec.split(".")[0].split(",")[0] if c.isdigit())
        return "-".rjust(int(width or 0))
    return format(value, spec)


def check_lines(checks: dict[str, Any]) -> list[str]:
    """The correctness checks and the transform's step times, one line each."""
    lines: list[str] = []
    if "unchanged_public_writes" in checks:
        writes = checks["unchanged_public_writes"]
        verdict = "none" if not any(writes) else f"CHANGED: {writes}"
        lines.append(f"unchanged re-import, writes to public tables: {verdict}")
    if "changed_counts" in checks:
        lines.append(f"1% changed re-import, transform counts: {checks['changed_counts']}")
    if "matching" in checks:
        q = checks["matching"]
        lines.append(
            f"cross-DMO matching: precision {_fmt(q['precision'], '.3f')},"
            f" recall {_fmt(q['recall'], '.3f')} ({q['correct_pairs']} of"
            f" {q['predicted_pairs']} predicted pairs right, {q['true_pairs']} true pairs);"
            f" hard negatives linked {q.get('hard_negatives_linked', 0)} of"
            f" {q.get('hard_negatives', 0)}"
        )
    if "matching_ratio" in checks:
        r = checks["matching_ratio"]
        lines.append(
            f"DMO 2 transform with matching / without (same run): median {r['median']:.2f}x"
            f" (runs: {r['runs']})"
        )
    for part, stage in STEP_PROFILES:
        if f"{part}_{stage}_steps" in checks:
            steps = checks[f"{part}_{stage}_steps"]
            lines.append(f"{part} {stage}, slowest steps (median s): {steps}")
    return lines


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"\n{summary['size']:,} listings (~10 KB each), median of {summary['runs']} run(s);"
        f" load average {summary.get('load_average', '?')} (2 cores, shared)",
        f"{'stage':<26}{'s':>8}{'xCOPY':>7}{'rec/s':>9}{'MB/s':>7}"
        f"{'base MB':>9}{'peak MB':>9}{'data MB':>9}",
    ]
    for r in summary["table"]:
        lines.append(
            f"{r['stage']:<26}{_fmt(r['seconds'], '8.2f')}{_fmt(r['x_copy'], '7.2f')}"
            f"{_fmt(r['records_per_s'], '9,.0f')}{_fmt(r['mb_per_s'], '7.1f')}"
            f"{_fmt(r['baseline_mb'], '9.0f')}{_fmt(r['peak_mb'], '9.0f')}"
            f"{_fmt(r['data_mb'], '9.0f')}"
        )
    lines += check_lines(summary["checks"])
    return "\n".join(lines)


def markdown(summaries: list[dict[str, Any]]) -> str:
    """The tables as Markdown (for the README)."""
    out = []
    for summary in summaries:
        out += [
            f"\n**{summary['size']:,} listings** (~10 KB each; median of {summary['runs']} runs;"
            f" load average {summary.get('load_average', '?')})\n",
            "| stage | s | × COPY | records/s | MB/s | worker base MB | peak MB | data MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in summary["table"]:
            out.append(
                f"| {r['stage']} | {_fmt(r['seconds'], '.2f')} | {_fmt(r['x_copy'], '.2f')} |"
                f" {_fmt(r['records_per_s'], ',.0f')} | {_fmt(r['mb_per_s'], '.1f')} |"
                f" {_fmt(r['baseline_mb'], '.0f')} | {_fmt(r['peak_mb'], '.0f')} |"
                f" {_fmt(r['data_mb'], '.0f')} |"
            )
        out.append("\n" + "  \n".join(check_lines(summary["checks"])))
    return "\n".join(out)


def scaling(summaries: list[dict[str, Any]]) -> list[str]:
    """Time linearity and memory flatness across sizes."""
    by_size = {s["size"]: {r["stage"]: r for r in s["table"]} for s in summaries}
    sizes = sorted(by_size)
    lines = []
    for small, big in zip(sizes, sizes[1:], strict=False):
        for stage in ("first: end to end", "unchanged: end to end"):
            a, b = by_size[small].get(stage), by_size[big].get(stage)
            if a and b and a["seconds"]:
                lines.append(
                    f"{stage} {big:,} vs {small:,}: {b['seconds'] / a['seconds']:.2f}x time"
                    f" for {big / small:.1f}x records"
                )
    for stage in ("first: import", "first: transform", "first: promote"):
        data = [by_size[s][stage]["data_mb"] for s in sizes if stage in by_size[s]]
        if data:
            lines.append(f"{stage} data MB by size: " + ", ".join(f"{d:.0f}" for d in data))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lp-bench")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"subset of {PARTS}")
    parser.add_argument(
        "--from-json", type=Path, help="print the tables of an earlier --json run; run nothing"
    )
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0
    if args.from_json:
        return _report(json.loads(args.from_json.read_text()), args.markdown)
    parts = args.parts.split(",")

    def echo(*values: Any) -> None:  # progress; on stderr when stdout is JSON
        print(*values, file=sys.stderr if args.json else sys.stdout, flush=True)

    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        data = dataset(size, args.data_dir, echo)
        runs = []
        for n in range(args.runs):
            echo(f"{size:,} listings, run {n + 1}/{args.runs} (load average {_load()})")
            runs.append(measure(size, data, parts, echo))
        summary = summarize(size, runs)
        summary["load_average"] = _load()
        summary["raw"] = runs
        results.append(summary)
        if not args.json:
            print(format_summary(summary), flush=True)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return 0
    return _report(results, args.markdown, printed=True)


def _report(results: list[dict[str, Any]], as_markdown: bool, printed: bool = False) -> int:
    if as_markdown:
        print(markdown(results))
    elif not printed:
        for summary in results:
            print(format_summary(summary))
    for line in scaling(results):
        print(line + ("  " if as_markdown else ""))
    return 0


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
