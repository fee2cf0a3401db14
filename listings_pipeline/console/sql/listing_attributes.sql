SELECT a.name
FROM public.bridge_attributes_listings b
JOIN public.attributes a ON a.id = b.attribute_id
WHERE b.listing_id = :listing_id
ORDER BY a.name;
