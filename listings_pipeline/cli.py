"""`listings-pipeline`: the command line other tools and scripts rely on (keep the names)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from listings_pipeline.settings import get_settings

EXIT_REVIEW = 3  # `run`, `promote`: rows wait at the review gate (not an error, not done)


class Cli(click.Group):
    """The command group: under `--json`, an error is one JSON object on stdout too."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["json"] = "--json" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as err:
            if not ctx.meta.get("json"):
                raise
            click.echo(json.dumps({"error": err.format_message()}))
            raise SystemExit(err.exit_code) from err


def _engine() -> Engine:
    from listings_pipeline.db import get_engine
    from listings_pipeline.db.migrate import upgrade

    engine = get_engine()
    upgrade(engine)  # migrations apply automatically before any run
    return engine


def _config(slug: str):  # noqa: ANN202 - SourceConfig, imported late for a fast --help
    from listings_pipeline.configs import ConfigError, load_config

    path = get_settings().config_dir / f"{slug}.yaml"
    try:
        return load_config(path)
    except ConfigError as err:
        raise click.ClickException(str(err)) from err


def _emit(data: dict[str, Any], as_json: bool, text_: str) -> None:
    if as_json:
        click.echo(json.dumps(data, default=str))
    else:
        click.echo(text_)


@click.group(cls=Cli)
@click.version_option(package_name="listings-pipeline", prog_name="listings-pipeline")
def main() -> None:
    """Keep a listings catalogue in sync with many messy sources."""


# --- db -------------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """The database: LISTINGS_DATABASE_URL, or an embedded PostgreSQL in LISTINGS_HOME."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations from sql/ (safe to run again)."""
    from listings_pipeline.db import get_engine
    from listings_pipeline.db.migrate import upgrade

    applied = upgrade(get_engine())
    click.echo("applied: " + ", ".join(applied) if applied else "database is up to date")


@db.command("url")
@click.option("--show-password", is_flag=True, help="Print the password too (it is masked).")
def db_url(show_password: bool) -> None:
    """Print the SQLAlchemy URL in use (password masked unless asked: terminals get logged)."""
    from sqlalchemy.engine import make_url

    from listings_pipeline.db import database_url

    url = make_url(database_url())
    click.echo(url.render_as_string(hide_password=not show_password))


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server."""
    from listings_pipeline.db import reset_engine
    from listings_pipeline.db.embedded import stop

    settings = get_settings()
    if settings.database_url:
        click.echo("LISTINGS_DATABASE_URL is set: no embedded server to stop")
        return
    reset_engine()
    click.echo("stopped" if stop(settings.pgdata) else "the embedded server was not running")


# --- configs --------------------------------------------------------------------------------
@main.group()
def configs() -> None:
    """Source configs (YAML files in LISTINGS_CONFIG_DIR)."""


@configs.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def configs_validate(paths: tuple[Path, ...], as_json: bool) -> None:
    """Validate config files (default: every file in the config directory)."""
    from listings_pipeline.configs import ConfigError, load_config
    from listings_pipeline.configs.loader import config_paths

    targets = list(paths) or config_paths(get_settings().config_dir)
    if not targets:
        raise click.ClickException(f"no config files in {get_settings().config_dir}")
    results = []
    for path in targets:
        try:
            config = load_config(path)
        except ConfigError as err:
            results.append({"path": str(path), "ok": False, "error": str(err)})
            if not as_json:
                click.echo(str(err), err=True)
        else:
            results.append({"path": str(path), "ok": True, "slug": config.slug})
            if not as_json:
                click.echo(f"{path}: ok ({config.slug}, dmo {config.dmo_id}, {config.source_type})")
    if as_json:
        click.echo(json.dumps({"configs": results}))
    if not all(r["ok"] for r in results):
        raise SystemExit(1)


@configs.command("list")
@click.option("--json", "as_json", is_flag=True)
def configs_list(as_json: bool) -> None:
    """List the configs with their DMO, source type and schedule."""
    from listings_pipeline.configs import load_configs

    found, errors = load_configs(get_settings().config_dir)
    rows = [
        {"slug": c.slug, "dmo_id": c.dmo_id, "dmo_name": c.dmo_name,
         "source_type": c.source_type, "schedule": c.schedule, "active": c.active}
        for c in found.values()
    ]  # fmt: skip
    text_ = "\n".join(
        f"{r['slug']:<28} dmo {r['dmo_id']:<5} {r['source_type']:<10} {r['schedule'] or '-'}"
        for r in rows
    )
    _emit({"configs": rows, "errors": errors}, as_json, text_ or "no configs")
    for message in errors if not as_json else []:
        click.echo(message, err=True)


# --- run / promote --------------------------------------------------------------------------
def _progress(line: str) -> None:
    """The run's progress, on stderr: stdout keeps the command's answer (one JSON object)."""
    click.echo(f"  {line}", err=True)


def _plain(message: str) -> str:
    """A step failure's message without the exception's dotted class name in front."""
    return re.sub(r"^(?:[A-Za-z_][\w]*\.)+[A-Za-z_]\w*: ", "", message.strip())


def _report_run(outcome, as_json: bool) -> None:  # noqa: ANN001
    from listings_pipeline.job_runs import job_created_by_run
    from listings_pipeline.reports import format_summary, job_summary

    engine = _engine()
    with engine.connect() as conn:
        job_id = job_created_by_run(conn, outcome.run_id)
        summary = job_summary(conn, job_id) if job_id is not None else None
    if summary is None:  # e.g. refused: another run holds the source (SourceBusy)
        message = "the run failed before creating a job: " + "; ".join(
            map(_plain, outcome.failures)
        )
        if as_json:
            click.echo(json.dumps({"status": "refused", "error": message, "run": outcome.run_id}))
            raise SystemExit(1)
        raise click.ClickException(message)
    summary["run_success"] = outcome.success
    summary["run_failures"] = outcome.failures
    text_ = format_summary(summary) + f"\n  dagster run: {outcome.run_id}"
    if not outcome.success:
        text_ += "\n  run failed: " + "; ".join(outcome.failures)
    _emit(summary, as_json, text_)
    if summary["status"] == "review":
        raise SystemExit(EXIT_REVIEW)
    if summary["status"] in ("failed", "superseded", "cancelled") or not outcome.success:
        if not as_json:  # the reason on one line where scripts and people look for it
            reason = summary["error"] or "; ".join(map(_plain, outcome.failures))
            click.echo(f"Error: job {summary['job_id']} {summary['status']}: {reason}", err=True)
        raise SystemExit(1)


@main.command("run")
@click.argument("slug")
@click.option("--input", "input_path", type=click.Path(path_type=Path), help="File to import.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def run(slug: str, input_path: Path | None, as_json: bool) -> None:
    """Import, transform and (if the review gate passes) promote one source config."""
    from listings_pipeline import pipeline
    from listings_pipeline.importing.connectors import ImportFailed
    from listings_pipeline.orchestration.runner import LaunchFailed, run_partition

    config = _config(slug)
    try:  # bad input is refused before a job exists
        pipeline.resolve_input(config, input_path)
    except ImportFailed as err:
        raise click.ClickException(str(err)) from err
    _engine()
    try:
        outcome = run_partition(slug, input_path, echo=_progress)
    except LaunchFailed as err:
        raise click.ClickException(str(err)) from err
    _report_run(outcome, as_json)


@main.command("promote")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def promote(slug: str, as_json: bool) -> None:
    """Review gate + promotion for the partition's latest job."""
    from listings_pipeline.jobs import latest_job_id
    from listings_pipeline.orchestration.runner import promote_partition
    from listings_pipeline.reports import job_summary

    _config(slug)
    engine = _engine()
    with engine.connect() as conn:
        job_id = latest_job_id(conn, slug)
    if job_id is None:
        raise click.ClickException(f"{slug}: no job to promote; run it first")
    outcome = promote_partition(slug, job_id, echo=_progress)
    with engine.connect() as conn:
        summary = job_summary(conn, job_id)
    summary["run_success"] = outcome.success
    summary["run_failures"] = outcome.failures
    if not outcome.success:
        text_ = f"job {job_id}: not promoted: {'; '.join(outcome.failures)}"
    elif summary["status"] == "review" or not summary["gate"]["passed"]:
        # the gate's own words: what waits, which holds
        text_ = f"job {job_id}: not promoted: {summary['gate']['description']}"
    else:
        text_ = f"job {job_id}: promoted, status {summary['status']}"
    _emit(summary, as_json, text_)
    if not outcome.success:
        raise SystemExit(1)
    if summary["status"] == "review":
        raise SystemExit(EXIT_REVIEW)


# --- review ---------------------------------------------------------------------------------
@main.group()
def review() -> None:
    """Look at and decide on the stage rows of a job."""


@review.command("list")
@click.argument("job_id", type=int)
@click.option("--status", type=click.Choice(["pending", "auto_approved", "approved", "rejected"]))
@click.option("--kind", help="insert, update, skip, delete, duplicate, error, uncertain_match")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def review_list(
    job_id: int, status: str | None, kind: str | None, limit: int, as_json: bool
) -> None:
    """Rows of a job with their action and review status (pending first by default)."""
    from listings_pipeline.review import review_rows, review_summary

    with _engine().connect() as conn:
        summary = review_summary(conn, job_id)
        if not summary:
            raise click.ClickException(f"job {job_id} does not exist or has no stage rows")
        rows = review_rows(conn, job_id, status=status, kind=kind, limit=limit)
    lines = ["kind             status          rows"]
    for k, statuses in summary.items():
        for s, n in statuses.items():
            lines.append(f"{k:<16} {s:<15} {n}")
    lines.append("")
    lines.append(f"{'row':>7}  {'kind':<15} {'status':<13} {'source_id':<20} name")
    for r in rows:
        lines.append(
            f"{r['id']:>7}  {r['change_kind'] or '':<15} {r['review_status']:<13}"
            f" {str(r['source_id'])[:20]:<20} {r['listing_name'] or ''}"
            + (f"  [{r['validation_errors']}]" if r["validation_errors"] else "")
        )
        if r["candidate_name"] is not None:  # a suggested match: both records, then why
            lines.extend(_suggestion_lines(r))
    _emit({"summary": summary, "rows": rows}, as_json, "\n".join(lines))


def _suggestion_lines(r: dict[str, Any]) -> list[str]:
    from listings_pipeline.review.signals import signal_lines

    def record(*values: Any) -> str:
        return " | ".join(str(v) if v not in (None, "") else "-" for v in values)

    return [
        f"{'':9}this row:  "
        + record(r["listing_name"], r["loc_address1"], r["loc_city"], r["phone"]),
        f"{'':9}suggested: listing #{r['match_candidate_id']}: "
        + record(r["candidate_name"], r["candidate_address1"], r["candidate_city"],
                 r["candidate_phone"]),
        *(f"{'':11}{name:<9} {text}" for name, text in signal_lines(r["match_signals"])),
    ]  # fmt: skip


def _decide(
    decision: str,
    job_id: int,
    all_rows: bool,
    rows: str | None,
    kind: str | None,
    override: str | None,
    note: str | None,
    reviewer: str,
    as_json: bool = False,
) -> None:
    from listings_pipeline.locks import SourceBusy
    from listings_pipeline.review import ReviewError, decide

    row_ids = [int(x) for x in rows.split(",") if x.strip()] if rows else None
    try:
        result = decide(
            _engine(),
            job_id,
            decision,
            reviewer=reviewer,
            row_ids=row_ids,  # type: ignore[arg-type]
            kind=kind,
            all_rows=all_rows,
            note=note,
            override=override,
        )  # type: ignore[arg-type]
    except (ReviewError, SourceBusy) as err:
        raise click.ClickException(str(err)) from err
    data = {
        "job_id": job_id,
        "decision": decision,
        "decided": len(result.decided),
        "already_decided": result.already_decided,
    }
    text_ = f"job {job_id}: {decision}d {len(result.decided)} rows" + (
        f" ({result.already_decided} were already decided)" if result.already_decided else ""
    )
    _emit(data, as_json, text_)


def _decision_command(decision: str) -> click.Command:
    @click.command(decision, help=f"{decision.capitalize()} rows of a job (all, by id or kind).")
    @click.argument("job_id", type=int)
    @click.option("--all", "all_rows", is_flag=True, help="Every undecided row.")
    @click.option("--rows", help="Comma-separated stage row ids.")
    @click.option("--kind", help="All rows of one kind, e.g. delete.")
    @click.option(
        "--override",
        type=click.Choice(["skip", "force_overwrite", "accept_match", "reject_match"]),
        help="skip: change nothing; force_overwrite: overwrite manual edits (and claims);"
        " accept_match: the suggested listing is the match; reject_match: a new listing.",
    )
    @click.option("--note")
    @click.option("--reviewer", default="cli", show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
    def command(
        job_id: int,
        all_rows: bool,
        rows: str | None,
        kind: str | None,
        override: str | None,
        note: str | None,
        reviewer: str,
        as_json: bool,
    ) -> None:
        _decide(decision, job_id, all_rows, rows, kind, override, note, reviewer, as_json)

    return command


review.add_command(_decision_command("approve"))
review.add_command(_decision_command("reject"))


@review.command("pending")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def review_pending(as_json: bool) -> None:
    """What waits for a person, across every source: each job stopped at the review gate."""
    from listings_pipeline import pipeline
    from listings_pipeline.job_runs import waiting_jobs

    engine = _engine()
    with engine.connect() as conn:
        jobs = waiting_jobs(conn)
    found = []
    for job_id, slug in jobs:
        gate = pipeline.gate(engine, job_id)
        found.append({"job_id": job_id, "slug": slug, "passed": gate.passed,
                      "waiting": gate.waiting, "describe": gate.describe()})  # fmt: skip
    lines = [f"{j['slug']:<28} {j['describe']}" for j in found]
    if found:
        lines.append("decide with: listings-pipeline review list JOB_ID / review approve JOB_ID")
    _emit({"jobs": found}, as_json, "\n".join(lines) or "nothing waits for review")


@review.command("holds")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def review_holds(job_id: int, as_json: bool) -> None:
    """A job's holds (source changes, mass changes) with their evidence and status."""
    from listings_pipeline.review.holds import job_holds

    with _engine().connect() as conn:
        holds = job_holds(conn, job_id)
    lines = [f"hold {h.id} ({h.status}): {h.describe()}" for h in holds]
    _emit(
        {"job_id": job_id, "holds": [h.as_dict() for h in holds]},
        as_json,
        "\n".join(lines) or f"job {job_id} has no holds",
    )


def _decide_holds(
    decision: str, job_id: int, holds: str | None, note: str | None, reviewer: str, as_json: bool
) -> None:
    from listings_pipeline.review.holds import HoldError, decide_holds

    hold_ids = [int(x) for x in holds.split(",") if x.strip()] if holds else None
    try:
        result = decide_holds(
            _engine(), job_id, decision, reviewer=reviewer, note=note, hold_ids=hold_ids
        )  # type: ignore[arg-type]
    except HoldError as err:
        raise click.ClickException(str(err)) from err
    done = "accepted" if decision == "accept" else "rejected"
    text_ = f"job {job_id}: {done} holds {', '.join(map(str, result.holds))}"
    if decision == "accept":
        text_ += (
            f"; approved {result.approved_rows} rows that clear the accepted fields."
            " Promote with `listings-pipeline promote SLUG` once nothing else waits"
            " (Dagster's promotion sensor does it by itself)"
        )
    else:
        text_ += "; the job is cancelled: fix the config or the source and run again"
    data = {
        "job_id": job_id,
        "decision": decision,
        "holds": result.holds,
        "approved_rows": result.approved_rows,
    }
    _emit(data, as_json, text_)


def _hold_command(decision: str, help_: str) -> click.Command:
    @click.command(f"{decision}-change", help=help_)
    @click.argument("job_id", type=int)
    @click.option("--holds", help="Comma-separated hold ids (default: every pending hold).")
    @click.option("--note")
    @click.option("--reviewer", default="cli", show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    def command(
        job_id: int, holds: str | None, note: str | None, reviewer: str, as_json: bool
    ) -> None:
        _decide_holds(decision, job_id, holds, note, reviewer, as_json)

    return command


review.add_command(
    _hold_command(
        "accept",
        "Accept a job's source change / mass change holds: the job may then be promoted (rows"
        " that wait only because they clear the accepted fields are approved with it).",
    )
)
review.add_command(
    _hold_command(
        "reject",
        "Reject a job's holds: the job is cancelled and nothing of it is promoted.",
    )
)


# --- history / expiry -------------------------------------------------------------------------
@main.group()
def history() -> None:
    """What changed in production: per job, per listing, as of a time."""


@history.command("job")
@click.argument("job_id", type=int)
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def history_job(job_id: int, limit: int, as_json: bool) -> None:
    """The versions a job's promotion wrote, with the changed fields."""
    from dataclasses import asdict

    from listings_pipeline.promotion.history import job_change_summary, job_changes

    with _engine().connect() as conn:
        summary = job_change_summary(conn, job_id)
        changes = job_changes(conn, job_id, limit=limit)
    lines = [
        f"{t}: " + ", ".join(f"{n} {k}" for k, n in kinds.items()) for t, kinds in summary.items()
    ]
    lines += [
        f"listing {c.listing_id} {c.target_table} {c.target_id} v{c.version} {c.change_type}"
        f" by {c.reviewer}: {', '.join(c.changed_fields)}"
        for c in changes
    ]
    data = {"summary": summary, "changes": [asdict(c) for c in changes]}
    _emit(data, as_json, "\n".join(lines) or f"job {job_id} changed nothing in production")


@history.command("listing")
@click.argument("listing_id", type=int)
@click.option("--as-of", "as_of", help="A date or ISO time: the listing as it was then.")
@click.option("--json", "as_json", is_flag=True, help="JSON (the only output of this command).")
def history_listing(listing_id: int, as_of: str | None, as_json: bool) -> None:
    """Every version of a listing (JSON), or its state as of a time."""
    from dataclasses import asdict
    from datetime import date, datetime

    from listings_pipeline.promotion.history import listing_as_of, listing_history

    with _engine().connect() as conn:
        if as_of is None:
            click.echo(
                json.dumps([asdict(c) for c in listing_history(conn, listing_id)], default=str)
            )
            return
        try:
            at: date | datetime = (
                date.fromisoformat(as_of) if len(as_of) == 10 else datetime.fromisoformat(as_of)
            )
        except ValueError as err:
            raise click.ClickException(f"--as-of {as_of!r}: not a date or ISO time") from err
        state = listing_as_of(conn, listing_id, at)
    if state is None:
        raise click.ClickException(f"listing {listing_id} did not exist at {as_of}")
    click.echo(json.dumps(state, default=str))


@main.command("expire")
@click.argument("slug")
@click.option("--today", help="Judge expiry as on this date (YYYY-MM-DD); default: today.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def expire(slug: str, today: str | None, as_json: bool) -> None:
    """Archive the source's expired listings, restore renewed ones (config promotion.expiry)."""
    from datetime import date

    from listings_pipeline.locks import SourceBusy
    from listings_pipeline.promotion.expiry import archive_expired

    config = _config(slug)
    if config.promotion.expiry is None:
        raise click.ClickException(f"{slug}: the config has no promotion.expiry")
    try:
        result = archive_expired(
            _engine(), config, today=date.fromisoformat(today) if today else None
        )
    except SourceBusy as err:
        raise click.ClickException(str(err)) from err
    counts = result.as_dict()
    _emit(
        {"slug": slug, **counts},
        as_json,
        ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()),
    )


# --- maintenance ------------------------------------------------------------------------------
@main.group()
def maintenance() -> None:
    """The pipeline's own upkeep (the daily schedules run the same): stale jobs, stage rows."""


@maintenance.command("sweep")
@click.option(
    "--stale-hours",
    type=click.FloatRange(min=0),
    help="A job idle between stages this long is abandoned [LISTINGS_STALE_JOB_HOURS, 6].",
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def maintenance_sweep(stale_hours: float | None, as_json: bool) -> None:
    """Mark failed the jobs a dead worker left pending/running, and remove their raw leftovers."""
    from listings_pipeline.maintenance import sweep_stale_jobs

    result = sweep_stale_jobs(_engine(), stale_hours=stale_hours)
    lines = [f"job {j.job_id} ({j.slug}): failed: {j.reason}" for j in result.failed]
    lines += [f"{slug}: a run holds it now; not looked at" for slug in result.busy]
    _emit(result.as_dict(), as_json, "\n".join(lines) or "no stale job")


@maintenance.command("prune-stage")
@click.option(
    "--keep-days",
    type=click.IntRange(min=0),
    help="Keep every job of the last N days [LISTINGS_STAGE_KEEP_DAYS, 30].",
)
@click.option("--dry-run", is_flag=True, help="Only say what would be pruned.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def maintenance_prune_stage(keep_days: int | None, dry_run: bool, as_json: bool) -> None:
    """Delete the stage rows of old jobs (unfinished jobs, each source's latest and last
    completed jobs and the last N days are kept; jobs, errors, files and history stay)."""
    from listings_pipeline.maintenance import prune_stage

    result = prune_stage(_engine(), keep_days=keep_days, dry_run=dry_run)
    verb = "would prune" if dry_run else "pruned"
    lines = [
        f"job {j['job_id']} ({j['slug']}, {j['status']}): {j['rows']} rows" for j in result.jobs
    ]
    lines.append(
        f"{verb} {result.rows} stage rows of {len(result.jobs)} jobs"
        f" (kept the last {result.keep_days} days) in {result.seconds:.1f} s"
    )
    _emit(result.as_dict(), as_json, "\n".join(lines))


# --- ui / demo --------------------------------------------------------------------------------
@main.command("ui")
@click.option("--port", default=3000, show_default=True, help="Dagster UI port.")
@click.option("--console-port", default=8000, show_default=True, help="Console port.")
@click.option("--no-console", is_flag=True, help="Only the Dagster UI.")
def ui(port: int, console_port: int, no_console: bool) -> None:
    """The Dagster UI (webserver and daemon) and the pipeline console, on 127.0.0.1."""
    from listings_pipeline.orchestration.ui import serve_dagster

    _engine()
    sys.exit(serve_dagster(port=port, console_port=None if no_console else console_port))


@main.command("demo")
def demo() -> None:
    """The whole story on bundled sample data, narrated."""
    from listings_pipeline.demo import run_demo

    run_demo(echo=click.echo)


@main.command(
    "generate",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def generate(args: tuple[str, ...]) -> None:
    """Generate realistic test listings (see `listings-pipeline generate --help`)."""
    from listings_pipeline.generate.__main__ import main as generate_main

    sys.exit(generate_main(list(args)))


# --- console ----------------------------------------------------------------------------------
@main.command("console")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def console(host: str, port: int) -> None:
    """The pipeline console: review, promote, configs, jobs and listings, and its JSON API."""
    from listings_pipeline.console import serve

    _engine()
    serve(host=host, port=port)


from listings_pipeline.console.users import users_cli  # noqa: E402 - accounts live with the console

main.add_command(users_cli, "users")


if __name__ == "__main__":
    main()
