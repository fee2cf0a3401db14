DELETE FROM auth.user_roles ur
USING auth.users u, auth.roles r
WHERE ur.user_id = u.id AND ur.role_id = r.id AND u.username = :username AND r.name = :role;
