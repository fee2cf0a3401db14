-- The cookie being replaced, and every expired one.
DELETE FROM auth.login_devices WHERE token_hash = :token_hash OR expires_at <= now();
