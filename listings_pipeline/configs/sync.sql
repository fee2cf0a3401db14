-- name: upsert_dmo
INSERT INTO public.dmos (id, name) VALUES (:dmo_id, :dmo_name)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
WHERE public.dmos.name IS DISTINCT FROM EXCLUDED.name;

-- name: upsert_config
-- The version goes up only when the config's content changes.
INSERT INTO pipeline.configs AS c
    (slug, dmo_id, name, data_domain, source_type, source_url, schedule, config,
     field_mappings, validation_rules, config_hash, active)
VALUES (:slug, :dmo_id, :name, :data_domain, :source_type, :source_url, :schedule,
        CAST(:config AS JSONB), CAST(:field_mappings AS JSONB), CAST(:validation_rules AS JSONB),
        :config_hash, :active)
ON CONFLICT (slug) DO UPDATE SET
    dmo_id = EXCLUDED.dmo_id, name = EXCLUDED.name, data_domain = EXCLUDED.data_domain,
    source_type = EXCLUDED.source_type, source_url = EXCLUDED.source_url,
    schedule = EXCLUDED.schedule, config = EXCLUDED.config,
    field_mappings = EXCLUDED.field_mappings, validation_rules = EXCLUDED.validation_rules,
    config_hash = EXCLUDED.config_hash, active = EXCLUDED.active,
    version = c.version + 1, updated_at = now()
WHERE c.config_hash IS DISTINCT FROM EXCLUDED.config_hash OR c.active IS DISTINCT FROM EXCLUDED.active
RETURNING id, version;

-- name: deactivate_missing
UPDATE pipeline.configs SET active = false, updated_at = now()
WHERE active AND NOT (slug = ANY(:slugs))
RETURNING slug;

-- name: get_config
SELECT id, version, active FROM pipeline.configs WHERE slug = :slug;
