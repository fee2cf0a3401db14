"""The fuzzy-matching step statement by statement, on a job already staged in a kept home.

    python benchmarks/matching_steps.py --home /work/lp-scale/home-50k --job 2 [--explain]
        [--sql OTHER/fuzzy_match.sql] [--repeat 2]

Runs the statements of `transform.fuzzy.match_unmatched` in one transaction, rolled back at the
end (the job's rows are left as they were), over a job transformed with matching off (its rows
are what matching would start from; `benchmarks/matching_scale.py` keeps such jobs in its
`--home`). Prints each statement's time, with `--explain` its EXPLAIN (ANALYZE, BUFFERS) plan,
and fingerprints (md5) of the candidates, the compared pairs and the decisions, so that two
versions of the SQL (`--sql`: another fuzzy_match.sql) can be shown to find the same.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import Connection, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Database  # noqa: E402  (benchmarks/run.py)

FINGERPRINTS = {
    "candidates": "SELECT count(*), md5(string_agg(concat_ws(':', stage_id, listing_id, strength),"
    " ',' ORDER BY stage_id, listing_id)) FROM match_cand",
    "pairs": "SELECT count(*), md5(string_agg(concat_ws(':', stage_id, listing_id, other_dmo,"
    " has_dmo_info, levels, name_s, street_s, distance, phone), ',' ORDER BY stage_id,"
    " listing_id)) FROM match_pairs",
    "weights": "SELECT count(*), md5(string_agg(concat_ws(':', other_dmo, levels, weight,"
    " probability), ',' ORDER BY other_dmo, levels::TEXT)) FROM match_weights",
    "decisions": "SELECT count(*), md5(string_agg(concat_ws(':', id, listing_internal_id,"
    " match_candidate_id, match_method, match_score, match_signals), ',' ORDER BY id))"
    " FROM stage.listings_flat WHERE job_id = :job_id AND match_method IS NOT NULL",
}


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the server process `pid` has used: on a shared machine the
    wall-clock times move with the load, the server's CPU time much less."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def queries(path: Path | None) -> dict[str, str]:
    from listings_pipeline.db.sqlfiles import _NAME
    from listings_pipeline.transform import fuzzy

    if path is None:
        return fuzzy.Q
    parts = _NAME.split(path.read_text())
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


def steps(
    conn: Connection, q: dict[str, str], job_id: int, explain: bool, until: str | None = None
) -> dict[str, float]:
    from listings_pipeline.configs.model import MatchingSettings
    from listings_pipeline.transform import fuzzy

    m = MatchingSettings()
    blocks = {
        "max_block": m.max_block_size,
        "max_candidates": m.max_candidates,
        "max_weak": m.max_weak_candidates,
    }
    decide = {
        "job_id": job_id, "auto": m.auto_threshold, "suggest": m.suggest_threshold,
        "margin": m.min_margin, "margin_bits": m.min_margin_bits,
        "min_name_level": m.auto_min_name_level, "far_m": m.far_distance_m,
        "phone_m": m.phone_distance_m,
    }  # fmt: skip
    # the statements in fuzzy.match_unmatched's order, with their parameters
    order: list[tuple[str, str, dict[str, object]]] = []
    if "set_work_mem" in q:
        order.append(("work_mem", q["set_work_mem"], {"value": fuzzy.WORK_MEM}))
    order += [
        ("reset", q["reset"], {}),
        ("merge_keys", q["merge_keys"], {}),
        ("sources", q["sources"], {"job_id": job_id}),
        ("analyze_src", q.get("sources_analyze", "ANALYZE match_src"), {}),
    ]
    if "hits_analyze" in q:
        order += [(n, q[n], blocks) for n in fuzzy.CANDIDATE_STEPS]
    else:  # fuzzy_match.sql of main before this branch (commit 886b0af)
        names = ("hits", "hits_index", "cells", "cells_index", "told", "told_index")
        order += [(n, q[n], blocks) for n in names]
        order += [
            ("analyze_hits", "ANALYZE match_hits, match_cells, match_told", {}),
            ("candidates", q["candidates"], blocks),
        ]
    order += [
        ("profiles", q["profiles"], {}),
        ("analyze_cand", q.get("profiles_analyze", "ANALYZE match_cand, match_prod"), {}),
        ("pairs", q["pairs"], {}),
    ]
    if "hits_analyze" in q:
        order.append(("analyze_pairs", "ANALYZE match_pairs", {}))
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}  # the server backend's CPU seconds per statement
    backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    for name, sql, params in order:
        started = time.perf_counter()
        cpu_started = server_cpu(backend)
        body = "\n".join(x for x in sql.splitlines() if not x.startswith("--"))
        if explain and body.lstrip().upper().startswith(("CREATE TEMP TABLE", "SELECT", "WITH")):
            plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).scalars()
            print(f"--- {name}\n" + "\n".join(plan), flush=True)
        else:
            conn.execute(text(sql), params)
        seconds[name] = time.perf_counter() - started
        cpu[name] = server_cpu(backend) - cpu_started
        print(f"{name}: {seconds[name]:.2f} s (server CPU {cpu[name]:.2f} s)", flush=True)
        if name == until:
            n, digest = conn.execute(text(FINGERPRINTS["candidates"])).one()
            print(f"fingerprint candidates: {n} rows, md5 {digest}")
            return seconds | {f"{k} cpu": v for k, v in cpu.items()}
    saved = fuzzy.Q
    fuzzy.Q = q
    try:
        if explain:
            for name in ("patterns", "pattern_rows"):
                plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + q[name])).scalars()
                print(f"--- {name}\n" + "\n".join(plan), flush=True)
        started = time.perf_counter()
        cpu_started = server_cpu(backend)
        fuzzy._models(conn)
        if "hits_analyze" in q:
            conn.execute(text("ANALYZE match_weights"))
        seconds["models"] = time.perf_counter() - started
        cpu["models"] = server_cpu(backend) - cpu_started
        started = time.perf_counter()
        cpu_started = server_cpu(backend)
        if explain:
            plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + q["decide"]), decide)
            print("--- decide\n" + "\n".join(plan.scalars()), flush=True)
        else:
            conn.execute(text(q["decide"]), decide)
        seconds["decide"] = time.perf_counter() - started
        cpu["decide"] = server_cpu(backend) - cpu_started
    finally:
        fuzzy.Q = saved
    print(f"models: {seconds['models']:.2f} s; decide: {seconds['decide']:.2f} s")
    for name, sql in FINGERPRINTS.items():
        n, digest = conn.execute(text(sql), {"job_id": job_id}).one()
        print(f"fingerprint {name}: {n} rows, md5 {digest}")
    total = sum(seconds.values())
    print(f"total {total:.2f} s, server CPU {sum(cpu.values()):.2f} s", flush=True)
    return seconds | {f"{k} cpu": v for k, v in cpu.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--job", type=int, required=True, help="a job transformed without matching")
    parser.add_argument("--sql", type=Path, help="another fuzzy_match.sql to run instead")
    parser.add_argument("--compare", type=Path, help="another fuzzy_match.sql to alternate with")
    parser.add_argument("--until", help="stop after this statement (e.g. candidates)")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], help="a setting, e.g. work_mem=64MB")
    args = parser.parse_args(argv)
    db = Database(args.home)
    try:
        versions = {"this": queries(args.sql)}
        if args.compare:
            versions["other"] = queries(args.compare)
        times: dict[str, list[dict[str, float]]] = {v: [] for v in versions}
        for n in range(args.repeat):
            labels = list(versions) if n % 2 == 0 else list(reversed(versions))
            for label in labels:
                print(f"=== {label}, run {n + 1} (load {os.getloadavg()[0]:.1f})", flush=True)
                with db.engine.connect() as conn, conn.begin() as tx:
                    for setting in args.set:
                        key, value = setting.split("=", 1)
                        conn.execute(text("SELECT set_config(:k, :v, true)"),
                                     {"k": key, "v": value})  # fmt: skip
                    times[label].append(
                        steps(conn, versions[label], args.job, args.explain, args.until)
                    )
                    tx.rollback()
        for label, runs in times.items():
            for kind, names in (
                ("", [k for k in runs[0] if not k.endswith(" cpu")]),
                (" server CPU", [k for k in runs[0] if k.endswith(" cpu")]),
            ):
                medians = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in names}
                print(f"median of {len(runs)}, {label}{kind}: total {sum(medians.values()):.2f} s; "
                      + ", ".join(f"{k.removesuffix(' cpu')} {v:.2f}"
                                  for k, v in medians.items() if v >= 0.05))  # fmt: skip
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
