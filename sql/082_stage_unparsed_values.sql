-- Values the transform could not read (a phone without a country, hours it cannot parse, a
-- nested object where one value is expected): the normalised column is left empty and the
-- source's value is kept here, keyed by mapping target, so a reviewer sees what was sent.
ALTER TABLE stage.listings_flat ADD COLUMN unparsed_values JSONB;
