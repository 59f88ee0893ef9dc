/*
 * Fuzz target: the emulator's auth-key server (emulator/auth_server) at step 3;
 * the input comes where set_client_DH_params belongs, after valid
 * req_pq_multi and req_DH_params made with fixed randomness. The setup and the
 * checks are in fuzz_handshake_fixture.h.
 */
#include "fuzz_handshake_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hs_fuzz_one(3, data, size);
}
