-- Browsers a user has logged in from (issue 16, lockout trade-off). Anyone who knows a
-- username can keep its account locked by failing on purpose; a browser holding a device
-- cookie from an earlier successful login of that user is counted under its own key instead,
-- so the owner still gets in from a known browser (with its own 5 tries and delays) while
-- guesses from elsewhere stay locked out. OWASP's "device cookies" for slow brute force.
-- Only the SHA-256 of the cookie's random value is stored.
CREATE TABLE auth.login_devices (
    token_hash  CHAR(64) PRIMARY KEY,
    user_id     INT NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL DEFAULT now(),
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX idx_auth_login_devices_user ON auth.login_devices (user_id);
CREATE INDEX idx_auth_login_devices_expires ON auth.login_devices (expires_at);
