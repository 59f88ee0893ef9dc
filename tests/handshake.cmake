# tests for handshake: the auth-key exchange, client (mtproto/handshake) and server
# (emulator/auth_server).
tgb_add_emu_test(test_handshake test_handshake.c)
