SELECT 1
FROM auth.login_devices d
JOIN auth.users u ON u.id = d.user_id
WHERE d.token_hash = :token_hash AND u.username = :username AND d.expires_at > now();
