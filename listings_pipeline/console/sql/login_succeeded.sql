SELECT auth.login_succeeded(:account_key, :address_key, :address_free);
