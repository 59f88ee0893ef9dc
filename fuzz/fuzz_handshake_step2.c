/*
 * Fuzz target: the emulator's auth-key server (emulator/auth_server) at step 2;
 * the input comes where req_DH_params belongs, after a valid req_pq_multi made with fixed
 * randomness. The setup and the checks are in fuzz_handshake_fixture.h.
 */
#include "fuzz_handshake_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hs_fuzz_one(2, data, size);
}
