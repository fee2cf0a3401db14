-- Issue 7: with fastupdate off every new listing rewrote posting lists of the fuzzy-name
-- trigram index in place, a cost that grew with the index (0.7 s per 10,000 new listings at
-- first, 1.6 s by 50,000; 9.4 s of a 38 s promotion). New entries now go to the pending list,
-- which promotion merges once at its end (gin_clean_pending_list), so matching still searches
-- a clean index.
ALTER INDEX public.idx_listings_fuzzy_name SET (fastupdate = on);
