tgb_add_test(test_crypto test_crypto.c)
