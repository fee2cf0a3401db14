INSERT INTO auth.sessions (token_hash, user_id, csrf_token, expires_at)
VALUES (:token_hash, :user_id, :csrf_token, now() + make_interval(secs => :ttl_seconds));
