-- One scan of the job's stage rows: how many rows carry each action, per entity.
SELECT a.entity, coalesce(a.action, 'pending') AS action, count(*) AS n
FROM stage.listings_flat s
CROSS JOIN LATERAL (VALUES
    (1, 'listing', s.listing_action),
    (2, 'listing_info', s.listing_info_action),
    (3, 'location', s.location_action),
    (4, 'contact_info', s.contact_info_action),
    (5, 'images', s.images_action),
    (6, 'opening_dates', s.opening_dates_action),
    (7, 'opening_hours', s.opening_hours_action),
    (8, 'attributes', s.attributes_action),
    (9, 'review_status', s.review_status),
    (10, 'promote_status', s.promote_status)
) AS a (sort, entity, action)
WHERE s.job_id = :job_id
GROUP BY a.sort, a.entity, 2
ORDER BY a.sort, 2;
