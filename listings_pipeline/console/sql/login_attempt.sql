SELECT auth.login_attempt(:account_key, :address_key, :account_free, :address_free, :max_lock,
                          :forget_after);
