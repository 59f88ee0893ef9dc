/*
 * Fuzz target: the emulator's auth-key server (emulator/auth_server) at step 1;
 * the input is the first client message (meant to be req_pq_multi or req_pq) made with fixed
 * randomness. The setup and the checks are in fuzz_handshake_fixture.h.
 */
#include "fuzz_handshake_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hs_fuzz_one(1, data, size);
}
