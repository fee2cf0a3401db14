DELETE FROM auth.login_throttle WHERE scope = 'account' AND key = :account_key;
