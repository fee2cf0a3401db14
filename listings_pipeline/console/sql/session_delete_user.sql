DELETE FROM auth.sessions WHERE user_id = :user_id;
