"""Quality alerts: a transformed job whose data looks wrong — too many records refused, or held
at the review gate by a source change or a mass change (`pipeline.gate`'s holds)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.db import load_queries
from listings_pipeline.notify import Alert

Q = load_queries(__file__, "quality.sql")


@dataclass(frozen=True)
class QualityCheck:
    alerts: list[Alert]
    last_job_id: int  # the newest job looked at: the next check starts after it


def check_jobs(engine: Engine, after_job_id: int, *, max_error_share: float) -> QualityCheck:
    """Alerts for the jobs transformed since `after_job_id` (each job is looked at once)."""
    with engine.connect() as conn:
        jobs = conn.execute(text(Q["transformed_jobs"]), {"after": after_job_id}).all()
    alerts: list[Alert] = []
    for job in jobs:
        total, failed = job.records_total or 0, job.records_failed or 0
        if total and failed / total > max_error_share:
            alerts.append(
                Alert(
                    kind="error_share",
                    title=f"{job.slug}: {failed:,} of {total:,} records refused (job {job.id})",
                    text=f"Job {job.id} of {job.slug} refused {failed / total:.0%} of its records"
                    f" (the alert threshold is {max_error_share:.0%}). See `listings-pipeline"
                    f" review list {job.id} --kind error` or the job's errors in the console.",
                    details={
                        "job_id": job.id,
                        "slug": job.slug,
                        "records_total": total,
                        "records_failed": failed,
                    },  # fmt: skip
                )
            )
        holds = getattr(pipeline.gate(engine, job.id), "holds", None) or []
        if job.status == "review" and holds:
            gate = pipeline.gate(engine, job.id)
            kinds = sorted({str(getattr(h, "kind", h)) for h in holds})
            alerts.append(
                Alert(
                    kind="source_change" if "mass_change" not in kinds else "mass_change",
                    title=f"{job.slug}: job {job.id} held at the review gate ({', '.join(kinds)})",
                    text=gate.describe(),
                    details={"job_id": job.id, "slug": job.slug, "holds": kinds},
                )
            )
    return QualityCheck(alerts, jobs[-1].id if jobs else after_job_id)


def latest_job_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text(Q["latest_job_id"])).scalar_one()
