INSERT INTO auth.roles (name, description) VALUES (:name, :description)
ON CONFLICT (name) DO NOTHING
RETURNING id;
