-- Bridge rows pointing at the listing or at one of its listing_info rows.
SELECT b.id, b.dmo_id, d.name AS dmo_name, b.source_id, b.target_id,
       b.target_type::TEXT AS target_type, b.certainty_score, b.match_method, b.mapped_at
FROM pipeline.bridge_source_target b
JOIN public.dmos d ON d.id = b.dmo_id
WHERE (b.target_type = 'listings' AND b.target_id = :listing_id)
   OR (b.target_type = 'listing_info'
       AND b.target_id IN (SELECT id FROM public.listing_info WHERE listing_id = :listing_id))
ORDER BY b.dmo_id, b.target_type, b.source_id;
