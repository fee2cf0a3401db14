-- Issue 17: words of business names written as street words are: "St Clair Hospital" /
-- "Saint Clair Hospital", "Mt. Ararat Baptist Church" / "Mount Ararat ...", "Murray Ave. Grill"
-- / "Murray Avenue Grill". Two name words are also the same word when both read as the same
-- street word (pipeline.address_word: saint/st, mount/mt, avenue/ave, north/n ...); a
-- three-letter prefix alone still is not ("bar" / "barn").
CREATE OR REPLACE FUNCTION pipeline.tokens_match(a TEXT, b TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT a = b
        OR (least(length(a), length(b)) >= 5
            AND levenshtein_less_equal(a, b, 2) <= CASE
                WHEN least(length(a), length(b)) >= 8 THEN 2
                WHEN length(a) = length(b) AND translate(a, b, '') = ''
                     AND translate(b, a, '') = '' THEN 2
                ELSE 1 END)
        OR ((least(length(a), length(b)) <= 2 OR least(length(a), length(b)) >= 4)
            AND (left(b, length(a)) = a OR left(a, length(b)) = b))
        OR pipeline.address_word(a) = pipeline.address_word(b)
$$;
