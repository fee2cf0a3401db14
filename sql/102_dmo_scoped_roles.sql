-- DMO-scoped roles (seed 001 "DMO-scoped permissions", issue 20): a role is granted for one
-- DMO or, with dmo_id NULL, for every DMO. Existing grants keep NULL, so they stay global.
ALTER TABLE auth.user_roles
    ADD COLUMN dmo_id INT REFERENCES public.dmos (id) ON DELETE CASCADE;
ALTER TABLE auth.user_roles DROP CONSTRAINT user_roles_pkey;
-- One grant per user, role and scope; NULLS NOT DISTINCT so "all DMOs" is granted once too.
ALTER TABLE auth.user_roles
    ADD CONSTRAINT user_roles_scope_key UNIQUE NULLS NOT DISTINCT (user_id, role_id, dmo_id);
