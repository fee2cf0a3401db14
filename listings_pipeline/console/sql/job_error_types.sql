SELECT coalesce(error_type, '') AS error_type, count(*) AS n
FROM pipeline.job_errors
WHERE job_id = :job_id
GROUP BY 1
ORDER BY 2 DESC, 1;
