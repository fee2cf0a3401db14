INSERT INTO auth.role_permissions (role_id, permission)
SELECT :role_id, p FROM unnest(CAST(:permissions AS TEXT[])) AS p
ON CONFLICT DO NOTHING;
