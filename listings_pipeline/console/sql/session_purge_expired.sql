DELETE FROM auth.sessions WHERE expires_at <= now();
