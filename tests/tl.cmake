tgb_add_test(test_tl test_tl.c)
