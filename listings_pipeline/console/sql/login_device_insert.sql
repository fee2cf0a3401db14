INSERT INTO auth.login_devices (token_hash, user_id, expires_at)
VALUES (:token_hash, :user_id, now() + make_interval(days => :ttl_days));
