"""`listings-pipeline demo`: the whole story on bundled sample data, narrated.

Two DMOs whose listings overlap are imported; then Discover Halifax sends a second export
with changed, new and missing listings, the missing one waits for a reviewer, is approved,
and promotion hides it. Every step is a real Dagster run submitted to the instance (queued and
launched like a run started in the UI), visible afterwards in the UI.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline.configs import ConfigError, load_config
from listings_pipeline.db import get_engine, load_queries
from listings_pipeline.db.migrate import upgrade
from listings_pipeline.generate import write_demo_data
from listings_pipeline.job_runs import job_created_by_run
from listings_pipeline.orchestration.runner import promote_partition, run_partition
from listings_pipeline.reports import format_summary, job_summary
from listings_pipeline.review import decide, review_rows
from listings_pipeline.settings import get_settings

Q = load_queries(__file__, "demo.sql")
HALIFAX = "discover-halifax-csv"
NOVA_SCOTIA = "tourism-nova-scotia-csv"


class DemoError(Exception):
    pass


def _run(engine: Engine, slug: str, path: Path, echo: Callable[[str], None]) -> dict:
    outcome = run_partition(slug, path, triggered_by="demo")
    with engine.connect() as conn:
        job_id = job_created_by_run(conn, outcome.run_id)
        if job_id is None:
            raise DemoError(f"{slug}: the run failed before creating a job: {outcome.failures}")
        summary = job_summary(conn, job_id)
    echo(format_summary(summary))
    if summary["status"] == "failed":
        raise DemoError(f"{slug}: job {job_id} failed: {summary['error']}")
    return summary


def _production(engine: Engine, echo: Callable[[str], None]) -> None:
    with engine.connect() as conn:
        counts = conn.execute(text(Q["production_counts"])).mappings().one()
        shared = list(conn.execute(text(Q["shared_listings"])))
    echo(
        f"  production: {counts['listings']} listings ({counts['visible']} visible),"
        f" {counts['infos']} listing_info rows, {counts['images']} images,"
        f" {counts['sources']} source mappings in the bridge table"
    )
    for row in shared:
        echo(f"    shared by {row.dmos} DMOs: {row.name} ({row.city})")


def _review_matches(engine: Engine, job_id: int, echo: Callable[[str], None]) -> None:
    with engine.connect() as conn:
        suggested = list(conn.execute(text(Q["suggested_matches"]), {"job_id": job_id}))
    for row in suggested:
        echo(
            f"    row {row.id}: {row.listing_name!r} ({row.loc_address1}) may be the existing"
            f" {row.candidate!r} ({row.candidate_address}); score {row.match_score}"
        )
    echo(
        f"  $ listings-pipeline review approve {job_id} --kind uncertain_match"
        " --override accept_match --reviewer demo"
    )
    result = decide(
        engine,
        job_id,
        "approve",
        kind="uncertain_match",
        reviewer="demo",
        override="accept_match",
        note="same tour company; the unit number differs",
    )
    echo(f"  approved {len(result.decided)} row(s)")


def _promote(engine: Engine, slug: str, job_id: int, echo: Callable[[str], None]) -> None:
    echo(f"  $ listings-pipeline promote {slug}")
    outcome = promote_partition(slug, job_id)
    if not outcome.success:
        raise DemoError(f"promotion failed: {outcome.failures}")
    with engine.connect() as conn:
        echo(format_summary(job_summary(conn, job_id)))


def run_demo(echo: Callable[[str], None] = print, reset: bool = True) -> None:
    settings = get_settings()
    configs = {}
    for slug in (HALIFAX, NOVA_SCOTIA):
        try:
            configs[slug] = load_config(settings.config_dir / f"{slug}.yaml")
        except ConfigError as err:
            raise DemoError(
                f"{err}\nThe demo uses the example configs in the repository's configs/ folder;"
                " run it from the repository root or set LISTINGS_CONFIG_DIR to that folder."
            ) from err
    engine = get_engine()
    upgrade(engine)
    if reset:
        if settings.database_url:
            raise DemoError(
                "LISTINGS_DATABASE_URL is set: the demo only resets the embedded"
                " database; unset it to run the demo"
            )
        with engine.begin() as conn:
            conn.connection.driver_connection.execute(Q["reset"])
        shutil.rmtree(settings.raw_dir, ignore_errors=True)  # raw files of the old jobs
    data = settings.home / "demo-data"
    shutil.rmtree(data, ignore_errors=True)
    manifest = write_demo_data(data)
    halifax, nova = manifest["dmos"][0], manifest["dmos"][1]

    echo("== 1. Discover Halifax sends its first CSV export (8 listings)")
    _run(engine, HALIFAX, data / "dmo-1/snapshot-0.csv", echo)
    _production(engine, echo)

    echo("\n== 2. Tourism Nova Scotia sends its export; 3 of its places are Halifax's too,")
    echo("      spelled differently. Confident matches link to the existing listings; an")
    echo("      uncertain one would wait for a reviewer with the candidate shown.")
    summary = _run(engine, NOVA_SCOTIA, data / "dmo-2/snapshot-0.csv", echo)
    if not summary["gate"]["passed"]:
        _review_matches(engine, summary["job_id"], echo)
        _promote(engine, NOVA_SCOTIA, summary["job_id"], echo)
    _production(engine, echo)

    changes = halifax["snapshots"][1]
    echo(
        "\n== 3. Discover Halifax's next export: "
        f"{len(changes['changed'])} changed ({', '.join(changes['changed'])}),"
        f" {len(changes['new'])} new ({', '.join(changes['new'])}),"
        f" {len(changes['removed'])} missing ({', '.join(changes['removed'])})"
    )
    summary = _run(engine, HALIFAX, data / "dmo-1/snapshot-1.csv", echo)
    job_id = summary["job_id"]
    if summary["gate"]["passed"]:
        raise DemoError("expected the missing listing to wait for review")
    echo(
        f"\n== 4. The review gate holds job {job_id}: a missing listing is only hidden once a"
        " person agrees"
    )
    with engine.connect() as conn:
        for row in review_rows(conn, job_id, status="pending"):
            echo(
                f"    row {row['id']}: {row['change_kind']} {row['listing_name']}"
                f" ({row['source_id']})"
            )
    echo(f"  $ listings-pipeline review approve {job_id} --kind delete --reviewer demo")
    result = decide(
        engine, job_id, "approve", kind="delete", reviewer="demo", note="confirmed closed"
    )
    echo(f"  approved {len(result.decided)} row(s)")
    _promote(engine, HALIFAX, job_id, echo)
    with engine.connect() as conn:
        hidden = list(conn.execute(text(Q["hidden_listings"])))
    for row in hidden:
        echo(
            f"    hidden: {row.name} (listing_status={row.listing_status},"
            f" listing_visible={row.listing_visible})"
        )
    _production(engine, echo)
    del nova

    echo("\n== Done. Every step above was a Dagster run. To see them, the assets, the review_gate")
    echo("   check and one partition per config:")
    echo("     listings-pipeline ui        # then open http://127.0.0.1:3000")
    echo("   Re-run the demo any time: listings-pipeline demo (it starts from an empty database).")
