-- Only if the hash is still the one verified: a concurrent password change wins.
UPDATE auth.users SET password_hash = :new_hash, updated_at = now()
WHERE id = :user_id AND password_hash = :old_hash;
