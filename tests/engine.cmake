# The client engine against the emulated DC: in memory (deterministic), over loopback
# TCP through the runtime, and Telethon against the telegram-emulator binary.
tgb_add_emu_test(test_engine test_engine.c)
tgb_add_emu_test(test_runtime test_runtime.c)

# Independent clients: Telethon from Debian (python3-telethon), run by Debian's python.
add_test(NAME telethon_mtproto
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/telethon/test_telethon_mtproto.py
          $<TARGET_FILE_DIR:telegram-emulator>)
set_tests_properties(telethon_mtproto PROPERTIES LABELS interop TIMEOUT 300)
add_test(NAME telethon_emulator_binary
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/telethon/test_emulator_binary.py
          $<TARGET_FILE_DIR:telegram-emulator>)
set_tests_properties(telethon_emulator_binary PROPERTIES LABELS interop TIMEOUT 300)

# examples/poll_session: the engine driven by a plain poll() loop
add_test(NAME example_poll_session
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/check_example_poll.sh $<TARGET_FILE_DIR:telegram-emulator>)
set_tests_properties(example_poll_session PROPERTIES LABELS interop TIMEOUT 60)
