-- Issue 19, a first import's promotion: no query reads this index since matching moved to
-- blocking keys (migrations 085-086: pipeline.listing_match_profiles), yet every new location
-- ran pipeline.normalize_address (a SQL function with a set-returning FROM, never inlined) to
-- fill it, and ANALYZE computed it for every sampled row (0.7 s of a 10k promotion's 1 s).
DROP INDEX public.idx_locations_address_city;
