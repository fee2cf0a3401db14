"""Stage retention (issue 15): stage.listings_flat holds every row of every job (~10 KB each,
up to 50,000 per import); most are never read again. `prune_stage` deletes the rows of jobs
nothing needs any more, keeping:

* unfinished jobs (running, or waiting for review);
* each source's latest job (a failed one resumes from its rows);
* each source's latest job whose transform completed (the next import reuses its rows for
  records that did not change);
* each source's last completed job;
* every job of the last `keep_days` days (LISTINGS_STAGE_KEEP_DAYS, default 30).

Only stage rows go. pipeline.jobs, job_stages, stage_results, job_errors (the readable record of
what went wrong, small next to the stage rows), files, config snapshots and listing_history stay
for audit; the job records when its rows were pruned (`stage_pruned_at`). Rows are deleted in
batches, one short transaction each, so imports and transforms never wait on the prune.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from listings_pipeline.db import load_queries
from listings_pipeline.settings import get_settings

Q = load_queries(__file__, "retention.sql")
BATCH_ROWS = 5000


@dataclass
class PruneResult:
    keep_days: int
    dry_run: bool
    jobs: list[dict[str, Any]] = field(default_factory=list)  # job_id, slug, status, rows
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "keep_days": self.keep_days,
            "dry_run": self.dry_run,
            "jobs": self.jobs,
            "rows": self.rows,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
        }


def prune_stage(
    engine: Engine,
    *,
    keep_days: int | None = None,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> PruneResult:
    """Delete the stage rows of the jobs retention does not keep (see the module's doc);
    `dry_run` only reports what would go."""
    keep_days = get_settings().stage_keep_days if keep_days is None else keep_days
    if keep_days < 0:
        raise ValueError(f"keep_days must not be negative (got {keep_days})")
    started = time.perf_counter()
    result = PruneResult(keep_days=keep_days, dry_run=dry_run)
    with engine.connect() as conn:
        params = {"keep_days": keep_days}
        jobs = [dict(r) for r in conn.execute(text(Q["prunable_jobs"]), params).mappings()]
        if dry_run:
            rows = dict(
                conn.execute(text(Q["job_rows"]), {"job_ids": [j["job_id"] for j in jobs]}).all()
            )
    for job in jobs:
        if dry_run:
            job["rows"] = rows.get(job["job_id"], 0)
        else:
            job["rows"] = 0
            while True:
                with engine.begin() as conn:
                    deleted = conn.execute(
                        text(Q["delete_batch"]),
                        {"job_id": job["job_id"], "batch_rows": batch_rows},
                    ).rowcount
                    if deleted < batch_rows:
                        conn.execute(text(Q["mark_pruned"]), {"job_id": job["job_id"]})
                result.batches += 1
                job["rows"] += deleted
                if deleted < batch_rows:
                    break
        result.rows += job["rows"]
        result.jobs.append(job)
    result.seconds = time.perf_counter() - started
    return result
