"""The matching step sorts and hashes in a larger work_mem of its own (fuzzy.WORK_MEM, for speed
at scale: issue 17, item 3); the caller's transaction, which goes on to redo the linked rows'
steps, gets its own setting back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline.configs.model import MatchingSettings
from listings_pipeline.transform.fuzzy import WORK_MEM, match_unmatched
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import run_job, stage_job

GUIDE_1 = csv_config("guide1-csv", dmo_id=1)
GUIDE_2 = csv_config("guide2-csv", dmo_id=2)


def test_the_callers_work_mem_is_back_after_matching(engine: Engine, tmp_path: Path) -> None:
    run_job(engine, GUIDE_1, tmp_path / "g1", [place(1), place(2)])
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [place(1), place(3)])
    with engine.begin() as conn:
        conn.execute(text("UPDATE stage.listings_flat SET listing_internal_id = NULL,"
                          " match_method = NULL WHERE job_id = :j"), {"j": job})  # fmt: skip
        conn.execute(text("SET LOCAL work_mem = '5MB'"))
        assert WORK_MEM != "5MB"
        counts = match_unmatched(conn, job, MatchingSettings())
        assert counts.considered == 2 and counts.pairs > 0  # the step did run
        assert conn.execute(text("SHOW work_mem")).scalar() == "5MB"
