-- Takes the grant of one scope: :dmo a DMO id, or NULL for the grant on every DMO.
DELETE FROM auth.user_roles ur
USING auth.users u, auth.roles r
WHERE ur.user_id = u.id AND ur.role_id = r.id AND u.username = :username AND r.name = :role
  AND ur.dmo_id IS NOT DISTINCT FROM CAST(:dmo AS INT);
