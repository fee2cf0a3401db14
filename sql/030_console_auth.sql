-- Console accounts and permissions (seed 000 "Admin pages", seed 001 "Security").
-- A schema of its own: accounts are not pipeline data, and the test fixtures that empty
-- public/pipeline/stage must not wipe the built-in roles seeded here.
-- Secrets are never stored: passwords as Argon2id PHC strings, session and API tokens as
-- SHA-256 of 256-bit random values (a hash of a high-entropy token needs no slow KDF).

CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.users (
    id             SERIAL PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE CHECK (username = lower(username)),
    password_hash  TEXT NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT true,
    created_at     TIMESTAMP NOT NULL DEFAULT now(),
    updated_at     TIMESTAMP NOT NULL DEFAULT now()
);

CREATE TABLE auth.permissions (
    name         TEXT PRIMARY KEY,
    description  TEXT NOT NULL
);

CREATE TABLE auth.roles (
    id           SERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL DEFAULT now()
);

CREATE TABLE auth.role_permissions (
    role_id     INT NOT NULL REFERENCES auth.roles (id) ON DELETE CASCADE,
    permission  TEXT NOT NULL REFERENCES auth.permissions (name),
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE auth.user_roles (
    user_id     INT NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    role_id     INT NOT NULL REFERENCES auth.roles (id) ON DELETE CASCADE,
    granted_at  TIMESTAMP NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id)
);

-- Browser sessions: the cookie holds the token, the row only its hash. Expiry is absolute
-- (no sliding refresh) so that reading a page never writes to the database.
CREATE TABLE auth.sessions (
    token_hash  CHAR(64) PRIMARY KEY,
    user_id     INT NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT now(),
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX idx_auth_sessions_user ON auth.sessions (user_id);
CREATE INDEX idx_auth_sessions_expires ON auth.sessions (expires_at);

-- Bearer tokens for scripts calling the JSON API (seed 001 "API key authentication").
CREATE TABLE auth.api_tokens (
    id          SERIAL PRIMARY KEY,
    token_hash  CHAR(64) NOT NULL UNIQUE,
    user_id     INT NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT now(),
    expires_at  TIMESTAMP
);
CREATE INDEX idx_auth_api_tokens_user ON auth.api_tokens (user_id);

-- super_admin holds every permission: a trigger grants each new permission to it, so later
-- migrations that add one cannot forget.
CREATE FUNCTION auth.grant_to_super_admin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO auth.role_permissions (role_id, permission)
    SELECT id, NEW.name FROM auth.roles WHERE name = 'super_admin'
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER permissions_to_super_admin AFTER INSERT ON auth.permissions
    FOR EACH ROW EXECUTE FUNCTION auth.grant_to_super_admin();

INSERT INTO auth.roles (name, description) VALUES
    ('super_admin',       'Every permission'),
    ('pipeline_viewer',   'Read-only access to the pipeline'),
    ('pipeline_reviewer', 'Review staged changes and promote them');

INSERT INTO auth.permissions (name, description) VALUES
    ('pipeline:read',    'See configs, jobs, files, errors, staged rows and production listings'),
    ('pipeline:review',  'Approve, reject and override staged changes'),
    ('pipeline:promote', 'Promote approved rows to production'),
    ('pipeline:admin',   'Create, edit and delete source configs');

INSERT INTO auth.role_permissions (role_id, permission)
SELECT r.id, p.permission
FROM auth.roles r
JOIN (VALUES ('pipeline_viewer', 'pipeline:read'),
             ('pipeline_reviewer', 'pipeline:read'),
             ('pipeline_reviewer', 'pipeline:review'),
             ('pipeline_reviewer', 'pipeline:promote')) AS p (role, permission)
  ON p.role = r.name;
