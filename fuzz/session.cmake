# fuzz targets for session: bytes from the server into the client session, bytes from
# a client into the server session, both through real encryption.
tgb_add_fuzzer(session_client fuzz_session_client.c)
tgb_add_fuzzer(session_server fuzz_session_server.c)
