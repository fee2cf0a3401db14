SELECT id, password_hash, active FROM auth.users WHERE username = :username;
