-- Issue 17: cottages, cabins, chalets and guest houses are lodging like a hotel or an inn. Their
-- outlets share the lodging's name, address and phone, so two names that both name lodging are
-- never one business by the shared-word rule (transform/fuzzy_match.sql, one_business): on the
-- generator's 50k overlap "Lucky Bayberry Cottages Dniing Room" (a typo hides its kind) was
-- linked to the same cottages' café, the hard negative issue 17 says must stay apart.
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
        WHEN word IN ('hotel', 'inn', 'motel', 'hostel', 'resort', 'suites', 'lodge',
                      'cottage', 'cottages', 'cabin', 'cabins', 'chalet', 'chalets',
                      'guesthouse') THEN 'lodging'
        WHEN word IN ('spa', 'dayspa') THEN 'spa'
        WHEN word IN ('inc', 'llc', 'ltd', 'corp', 'cuisine', 'american', 'chinese',
                      'japanese', 'italian', 'mexican', 'thai', 'indian', 'french', 'korean',
                      'vietnamese', 'greek', 'spanish', 'cuban', 'turkish', 'lebanese',
                      'mediterranean') THEN ''
    END
$$;
