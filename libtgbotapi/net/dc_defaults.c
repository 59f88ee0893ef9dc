/*
 * Built-in network facts: where Telegram's data centres are and the RSA keys they sign
 * the auth-key exchange with, from ../shared/spec/telegram-network.md (tdlib
 * ConnectionCreator::get_default_dc_options and PublicRsaKeySharedMain). These are only
 * a starting point: help.getConfig's dc_options replace the addresses.
 */
#include "net/dc_defaults.h"

#include <stddef.h>

/* Production, port 443 (tdlib also registers 80 and 5222). First address per DC. */
static const char *const production[] = {
    NULL, "149.154.175.50", "149.154.167.51", "149.154.175.100", "149.154.167.91", "149.154.171.5",
};

static const char *const test[] = {NULL, "149.154.175.10", "149.154.167.40", "149.154.175.117"};

const char *tgb_dc_default_host(int dc_id, int test_dc)
{
    if (test_dc)
        return dc_id >= 1 && dc_id <= 3 ? test[dc_id] : NULL;
    return dc_id >= 1 && dc_id <= 5 ? production[dc_id] : NULL;
}

/* fingerprint 0xd09d1d85de64fd85 */
const char tgb_dc_production_rsa_pem[] =
    "-----BEGIN RSA PUBLIC KEY-----\n"
    "MIIBCgKCAQEA6LszBcC1LGzyr992NzE0ieY+BSaOW622Aa9Bd4ZHLl+TuFQ4lo4g\n"
    "5nKaMBwK/BIb9xUfg0Q29/2mgIR6Zr9krM7HjuIcCzFvDtr+L0GQjae9H0pRB2OO\n"
    "62cECs5HKhT5DZ98K33vmWiLowc621dQuwKWSQKjWf50XYFw42h21P2KXUGyp2y/\n"
    "+aEyZ+uVgLLQbRA1dEjSDZ2iGRy12Mk5gpYc397aYp438fsJoHIgJ2lgMv5h7WY9\n"
    "t6N/byY9Nw9p21Og3AoXSL2q/2IJ1WRUhebgAdGVMlV1fkuOQoEzR7EdpqtQD9Cs\n"
    "5+bfo3Nhmcyvk5ftB0WkJ9z6bNZ7yxrP8wIDAQAB\n"
    "-----END RSA PUBLIC KEY-----\n";

/* fingerprint 0xb25898df208d2603 */
const char tgb_dc_test_rsa_pem[] =
    "-----BEGIN RSA PUBLIC KEY-----\n"
    "MIIBCgKCAQEAyMEdY1aR+sCR3ZSJrtztKTKqigvO/vBfqACJLZtS7QMgCGXJ6XIR\n"
    "yy7mx66W0/sOFa7/1mAZtEoIokDP3ShoqF4fVNb6XeqgQfaUHd8wJpDWHcR2OFwv\n"
    "plUUI1PLTktZ9uW2WE23b+ixNwJjJGwBDJPQEQFBE+vfmH0JP503wr5INS1poWg/\n"
    "j25sIWeYPHYeOrFp/eXaqhISP6G+q2IeTaWTXpwZj4LzXq5YOpk4bYEQ6mvRq7D1\n"
    "aHWfYmlEGepfaYR8Q0YqvvhYtMte3ITnuSJs171+GDqpdKcSwHnd6FudwGO4pcCO\n"
    "j4WcDuXc2CTHgH8gFTNhp/Y8/SpDOhvn9QIDAQAB\n"
    "-----END RSA PUBLIC KEY-----\n";
