-- Issue 17: a bed & breakfast is lodging too ("Bed & Breakfast", "Bed and Breakfast", "BnB":
-- 'bed' names no outlet of a place). Its dining room and its café, at one address and phone,
-- were linked like the guest houses 103 fixed ("MacLeod's Chester Bed and Breakfast Dinnig
-- Room" / "… Bed & Breakfast Café"); the generator names inns so.
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
                      'guesthouse', 'guest', 'bed', 'bnb') THEN 'lodging'
        WHEN word IN ('spa', 'dayspa') THEN 'spa'
        WHEN word IN ('inc', 'llc', 'ltd', 'corp', 'cuisine', 'american', 'chinese',
                      'japanese', 'italian', 'mexican', 'thai', 'indian', 'french', 'korean',
                      'vietnamese', 'greek', 'spanish', 'cuban', 'turkish', 'lebanese',
                      'mediterranean') THEN ''
    END
$$;
