INSERT INTO auth.users (username, password_hash)
VALUES (:username, :password_hash)
ON CONFLICT (username) DO NOTHING
RETURNING id;
