-- Issue 7: a re-import that sends a record unchanged reuses what the transform made of it last
-- time. record_hash = sha256 of the transform's fingerprint (its settings and code) and the raw
-- record, so a changed config or transform code never reuses a row. NULL on rows whose values
-- are no longer the record's alone (coordinates or address filled from production or by the
-- geocoder). Looked up by (job_id, dmo_id, source_id) through idx_stage_job_source.
ALTER TABLE stage.listings_flat ADD COLUMN record_hash TEXT;
