SELECT li.id, li.dmo_id, d.name AS dmo_name, li.description, li.info_status, li.info_visible,
       li.listing_info_content_hash, li.images_content_hash,
       li.manually_modified, li.manually_modified_fields, li.imported_from,
       li.created_at, li.updated_at, li.promoted_at, li.promoted_by,
       ci.name AS contact_name, ci.email AS contact_email, ci.local_phone, ci.international_phone,
       ci.website_url,
       (SELECT count(*) FROM public.listing_images i WHERE i.listing_info_id = li.id)
           AS image_count,
       (SELECT count(*) FROM public.opening_hours h WHERE h.listing_info_id = li.id)
           AS opening_hours_count
FROM public.listing_info li
JOIN public.dmos d ON d.id = li.dmo_id
LEFT JOIN public.contact_info ci ON ci.id = li.contact_info_id
WHERE li.listing_id = :listing_id
ORDER BY li.dmo_id;
