-- Issue 17: a spa is a kind of business of its own. Two names sharing the word that tells which
-- business it is, at the same address with the same phone, are one business (Foursquare-Locu:
-- "Dodo Bird" / "Dodo Cafe", "Alan's Marketplace" / "Alan's Farmland Ltd") unless each names a
-- kind the other does not: a hotel's café and its restaurant, and "Seaside Spa" in "Seaside
-- Suites", whose spa was no kind before (transform/fuzzy_match.sql).
CREATE OR REPLACE FUNCTION pipeline.business_kind(word TEXT) RETURNS TEXT
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
        WHEN word IN ('spa', 'dayspa') THEN 'spa'
        WHEN word IN ('inc', 'llc', 'ltd', 'corp', 'cuisine', 'american', 'chinese',
                      'japanese', 'italian', 'mexican', 'thai', 'indian', 'french', 'korean',
                      'vietnamese', 'greek', 'spanish', 'cuban', 'turkish', 'lebanese',
                      'mediterranean') THEN ''
    END
$$;
