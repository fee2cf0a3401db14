DELETE FROM auth.sessions WHERE token_hash = :token_hash;
