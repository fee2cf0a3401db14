"""Issue 19, item 2: a first import made cheaper without changing what a reader sees. The
promotion takes each stage row's reviewer notes once per row (collect_targets) instead of once
per version; every version's change_reason must read as it did when each version looked its
stage row up: the default reason, then "reviewer accepted the suggested match", "reviewer
overrode manual edits" and the review note, each only when present."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.review import decide
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import listing, run_job, stage_job, stage_row

# change_reason as write_creates/write_history built it before, from the version's stage row.
REASONS = """
SELECT h.target_table, h.target_id, h.change_type, h.change_reason,
       concat_ws('; ', CASE h.change_type WHEN 'create' THEN 'new in the source'
                                          WHEN 'update' THEN 'changed at the source' END,
           CASE WHEN s.match_method = 'reviewer' THEN 'reviewer accepted the suggested match' END,
           CASE WHEN s.force_overwrite THEN 'reviewer overrode manual edits' END,
           s.review_note) AS expected
FROM pipeline.listing_history h JOIN stage.listings_flat s ON s.id = h.stage_id
WHERE h.job_id = :job_id
ORDER BY h.target_table, h.target_id
"""


def test_change_reasons_carry_each_rows_review_notes(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1), place(2)])
    job = stage_job(
        engine,
        config,
        tmp_path,
        [place(1, Description="Now with a terrace."), place(2, Description="New hours."),
         place(3), place(4), place(5)],
    )  # fmt: skip
    rows = {sid: stage_row(engine, job, sid)["id"] for sid in ("P1", "P2", "P3", "P5")}
    decide(engine, job, "approve", row_ids=[rows["P1"]], reviewer="rita",
           note="checked the site", override="force_overwrite")  # fmt: skip
    decide(engine, job, "approve", row_ids=[rows["P2"]], reviewer="rita", note="")
    decide(engine, job, "approve", row_ids=[rows["P3"]], reviewer="rita", note="new one, fine")
    decide(engine, job, "approve", row_ids=[rows["P5"]], reviewer="rita",
           override="force_overwrite")  # fmt: skip
    pipeline.promote_stage(engine, job, config, promoted_by="test")

    with engine.connect() as conn:
        versions = conn.execute(text(REASONS), {"job_id": job}).all()
    # 2 updated listing_info rows, 3 new places × 4 rows (every place has contact details).
    assert len(versions) == 2 + 3 * 4
    assert [(v.target_table, v.target_id, v.change_reason) for v in versions] == [
        (v.target_table, v.target_id, v.expected) for v in versions
    ]
    reasons = {(v.target_table, v.target_id): v.change_reason for v in versions}
    p1, p3, p4, p5 = (listing(engine, f"P{n}") for n in (1, 3, 4, 5))
    assert reasons[("listing_info", p1["info_id"])] == (
        "changed at the source; reviewer overrode manual edits; checked the site"
    )
    for table, key in (("listings", "id"), ("listing_info", "info_id")):
        assert reasons[(table, p3[key])] == "new in the source; new one, fine"
        assert reasons[(table, p4[key])] == "new in the source"
        assert reasons[(table, p5[key])] == "new in the source; reviewer overrode manual edits"
