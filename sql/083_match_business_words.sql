-- Issue 17: words of a business name that say what kind of business it is, not which one.
-- "Dong Hai Grill" and "Dong Hai Restaurant" at one address are one restaurant: their names
-- differ only in such a word, and both words name the same kind (dining). A hotel's
-- "Peninsula Hotel Cafe" and its "Belvedere Restaurant (Peninsula Hotel)" share the hotel's
-- name, address and phone, and each names a kind the other does not (cafe / dining): two
-- businesses. The kind of each word, '' for words that name no kind (a company form, a
-- cuisine); NULL for every other word. A plain CASE, inlined where it is used
-- (transform/fuzzy_match.sql).
CREATE FUNCTION pipeline.business_kind(word TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN word IN ('restaurant', 'restaurants', 'ristorante', 'restaurante', 'grill',
                      'grille', 'diner', 'kitchen', 'eatery', 'bistro', 'brasserie',
                      'trattoria', 'osteria', 'cantina', 'taqueria', 'steakhouse', 'chophouse',
                      'pizzeria', 'pizza', 'bbq', 'barbecue', 'dining', 'buffet', 'canteen',
                      'catering', 'caterer', 'caterers')
            THEN 'dining'
        WHEN word IN ('cafe', 'caffe', 'coffee', 'coffeehouse', 'espresso', 'tearoom',
                      'teahouse') THEN 'cafe'
        WHEN word IN ('bakery', 'patisserie', 'boulangerie') THEN 'bakery'
        WHEN word IN ('bar', 'pub', 'tavern', 'saloon', 'lounge', 'taproom', 'brewpub',
                      'alehouse', 'gastropub') THEN 'bar'
        WHEN word IN ('deli', 'delicatessen') THEN 'deli'
        WHEN word IN ('market', 'marketplace', 'grocery', 'groceries', 'supermarket')
            THEN 'market'
        WHEN word IN ('hotel', 'inn', 'motel', 'hostel', 'resort', 'suites', 'lodge')
            THEN 'lodging'
        WHEN word IN ('inc', 'llc', 'ltd', 'corp', 'cuisine', 'american', 'chinese',
                      'japanese', 'italian', 'mexican', 'thai', 'indian', 'french', 'korean',
                      'vietnamese', 'greek', 'spanish', 'cuban', 'turkish', 'lebanese',
                      'mediterranean') THEN ''
    END
$$;

-- A name's words (pipeline.match_profile's tokens) split into its core, the words that tell
-- which business it is, and the kinds of business it names: {dong, grill, hai} -> {dong, hai},
-- {dining}. A table function of one SELECT, inlined into the query that calls it.
CREATE FUNCTION pipeline.name_kinds(tokens TEXT[]) RETURNS TABLE (core TEXT[], kinds TEXT[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(t ORDER BY t) FILTER (WHERE pipeline.business_kind(t) IS NULL),
                    '{}'),
           coalesce(array_agg(DISTINCT pipeline.business_kind(t))
                        FILTER (WHERE pipeline.business_kind(t) <> ''), '{}')
    FROM unnest(tokens) AS t
$$;
