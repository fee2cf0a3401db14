-- One scan of the job's stage rows: rows per value of each action column (and of the review
-- and promotion status). Each grouping set groups by one column, so the others are NULL there.
SELECT CASE
           WHEN GROUPING(listing_action) = 0 THEN 'listing'
           WHEN GROUPING(listing_info_action) = 0 THEN 'listing_info'
           WHEN GROUPING(location_action) = 0 THEN 'location'
           WHEN GROUPING(contact_info_action) = 0 THEN 'contact_info'
           WHEN GROUPING(images_action) = 0 THEN 'images'
           WHEN GROUPING(opening_dates_action) = 0 THEN 'opening_dates'
           WHEN GROUPING(opening_hours_action) = 0 THEN 'opening_hours'
           WHEN GROUPING(attributes_action) = 0 THEN 'attributes'
           WHEN GROUPING(review_status) = 0 THEN 'review_status'
           ELSE 'promote_status'
       END AS entity,
       coalesce(listing_action, listing_info_action, location_action, contact_info_action,
                images_action, opening_dates_action, opening_hours_action, attributes_action,
                review_status, promote_status, 'pending') AS action,
       count(*) AS n
FROM stage.listings_flat
WHERE job_id = :job_id
GROUP BY GROUPING SETS ((listing_action), (listing_info_action), (location_action),
                        (contact_info_action), (images_action), (opening_dates_action),
                        (opening_hours_action), (attributes_action), (review_status),
                        (promote_status));
