UPDATE auth.users SET active = :active, updated_at = now()
WHERE username = :username
RETURNING id;
