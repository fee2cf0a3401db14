-- name: previous_mean
-- The average quality of the source's previous completed import, as its transform recorded it
-- (job_stages.result_summary survives stage retention).
SELECT (s.result_summary ->> 'quality_mean')::NUMERIC
FROM pipeline.jobs j
JOIN pipeline.job_stages s ON s.job_id = j.id AND s.name = 'transform'
WHERE j.slug = :slug AND j.id < :job_id AND j.status = 'completed'
ORDER BY j.id DESC
LIMIT 1;

-- name: quality
-- The quality scores of a job's records (transform/validate.py: 0-100, completeness, accuracy
-- and consistency): how many, their mean, extremes and quantiles.
SELECT count(*) AS records, count(quality_score) AS scored,
       round(avg(quality_score), 2) AS mean, min(quality_score) AS min, max(quality_score) AS max,
       percentile_cont(ARRAY[0.1, 0.25, 0.5, 0.75, 0.9])
           WITHIN GROUP (ORDER BY quality_score) AS quantiles
FROM stage.listings_flat WHERE job_id = :job_id AND rec_num IS NOT NULL;

-- name: quality_histogram
-- Records per tenth of the scale (bucket 9 = 90-100, 100 included).
SELECT least(floor(quality_score / 10), 9)::INT AS bucket, count(*) AS n
FROM stage.listings_flat
WHERE job_id = :job_id AND rec_num IS NOT NULL AND quality_score IS NOT NULL
GROUP BY 1 ORDER BY 1;
