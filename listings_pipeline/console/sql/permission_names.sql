SELECT name FROM auth.permissions ORDER BY name;
