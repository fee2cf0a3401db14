-- Login throttling (issue 16): failed logins counted per account and per client address, in
-- the database so that every console process and a restart see the same counts.
--
-- key: for 'account' the SHA-256 (hex) of the typed username, lower-cased: unknown usernames
-- are counted exactly like real ones (a lockout tells nothing about who exists), and a
-- password typed into the username field is never stored. For 'address' the client's IP
-- (IPv6 by /64, the block one subscriber gets).
CREATE TABLE auth.login_throttle (
    scope            TEXT NOT NULL CHECK (scope IN ('account', 'address')),
    key              TEXT NOT NULL,
    failures         INT NOT NULL DEFAULT 0,
    last_failure_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until     TIMESTAMPTZ,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idx_auth_login_throttle_last ON auth.login_throttle (last_failure_at);

-- One login attempt, before its password is checked: the seconds to wait while the account or
-- the address is locked (nothing counted), else 0 after counting the attempt as a failure in
-- advance. Counting first means parallel guesses cannot all slip in before the first failure
-- is written; login_succeeded takes the count back. Past `free` failures each one locks for
-- 1, 2, 4, ... seconds, at most max_lock; failures are forgotten after `window` without one.
CREATE FUNCTION auth.login_attempt(
    account_key TEXT, address_key TEXT,
    account_free INT, address_free INT, max_lock INT, forget_after INT
) RETURNS INT
LANGUAGE plpgsql AS $$
DECLARE
    wait_seconds INT;
BEGIN
    -- Purge forgotten rows; SKIP LOCKED so that no attempt ever waits on another's purge.
    DELETE FROM auth.login_throttle
    WHERE (scope, key) IN (
        SELECT scope, key FROM auth.login_throttle
        WHERE last_failure_at < now() - make_interval(secs => forget_after)
          AND (locked_until IS NULL OR locked_until < now())
        FOR UPDATE SKIP LOCKED);
    -- Rows created and locked account first, then address: parallel attempts queue here.
    INSERT INTO auth.login_throttle (scope, key)
    VALUES ('account', account_key), ('address', address_key)
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM auth.login_throttle
    WHERE (scope, key) IN (('account', account_key), ('address', address_key))
    ORDER BY scope
    FOR UPDATE;
    UPDATE auth.login_throttle SET failures = 0  -- old rows the purge skipped
    WHERE (scope, key) IN (('account', account_key), ('address', address_key))
      AND last_failure_at < now() - make_interval(secs => forget_after)
      AND (locked_until IS NULL OR locked_until < now());

    SELECT coalesce(max(ceil(extract(epoch FROM locked_until - now()))), 0)::INT
    INTO wait_seconds
    FROM auth.login_throttle
    WHERE (scope, key) IN (('account', account_key), ('address', address_key))
      AND locked_until > now();
    IF wait_seconds > 0 THEN
        RETURN wait_seconds;
    END IF;

    UPDATE auth.login_throttle t
    SET failures = t.failures + 1,
        last_failure_at = now(),
        locked_until = CASE
            WHEN t.failures + 1 > f.free THEN now() + make_interval(
                secs => least(max_lock, power(2, least(t.failures - f.free, 30))))
        END
    FROM (VALUES ('account', account_key, account_free),
                 ('address', address_key, address_free)) AS f (scope, key, free)
    WHERE t.scope = f.scope AND t.key = f.key;
    RETURN 0;
END $$;

-- The password was wrong: each lock the attempt set starts again now, so that the caller, told
-- "no" only after the slow hash, still has to wait the whole delay.
CREATE FUNCTION auth.login_failed(
    account_key TEXT, address_key TEXT, account_free INT, address_free INT, max_lock INT
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth.login_throttle t
    SET last_failure_at = now(),
        locked_until = CASE
            WHEN t.failures > f.free THEN now() + make_interval(
                secs => least(max_lock, power(2, least(t.failures - 1 - f.free, 30))))
            ELSE t.locked_until
        END
    FROM (VALUES ('account', account_key, account_free),
                 ('address', address_key, address_free)) AS f (scope, key, free)
    WHERE t.scope = f.scope AND t.key = f.key;
END $$;

-- The password was right: the account starts afresh; the address only takes back the failure
-- counted in advance (a valid login of one account must not wipe guesses at others).
CREATE FUNCTION auth.login_succeeded(account_key TEXT, address_key TEXT, address_free INT)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM auth.login_throttle WHERE scope = 'account' AND key = account_key;
    UPDATE auth.login_throttle
    SET failures = greatest(failures - 1, 0),
        locked_until = CASE WHEN failures - 1 > address_free THEN locked_until END
    WHERE scope = 'address' AND key = address_key;
END $$;
