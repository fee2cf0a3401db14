SELECT auth.login_failed(:account_key, :address_key, :account_free, :address_free, :max_lock);
