-- API tokens expire and can be revoked (issue 16). Tokens made before this had no expiry:
-- they get the default 90 days from now, so scripts keep working while owners replace them.
-- A revoked token keeps its row: the owner and admins still see what it was and when it ended.
ALTER TABLE auth.api_tokens ADD COLUMN revoked_at TIMESTAMP;
UPDATE auth.api_tokens SET expires_at = now() + interval '90 days' WHERE expires_at IS NULL;
ALTER TABLE auth.api_tokens ALTER COLUMN expires_at SET NOT NULL;

-- Seeing and revoking other users' tokens (each user manages their own without it).
INSERT INTO auth.permissions (name, description) VALUES
    ('accounts:admin', 'See and revoke the API tokens of every user');
