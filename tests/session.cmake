# tests for session: the client and server sessions back to back
tgb_add_emu_test(test_session test_session.c)
