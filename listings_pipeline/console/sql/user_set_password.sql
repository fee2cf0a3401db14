UPDATE auth.users SET password_hash = :password_hash, updated_at = now()
WHERE username = :username
RETURNING id;
