# tests for transport
tgb_add_test(test_transport test_transport.c)
