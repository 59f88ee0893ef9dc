/* Telegram's built-in DC addresses and server RSA keys (production and test). */
#ifndef TGB_NET_DC_DEFAULTS_H
#define TGB_NET_DC_DEFAULTS_H

#define TGB_DC_DEFAULT_PORT 443

/** The built-in IPv4 address of DC `dc_id` (1..5, test 1..3), or NULL. Static. */
const char *tgb_dc_default_host(int dc_id, int test_dc);

/** The server RSA keys as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"). */
extern const char tgb_dc_production_rsa_pem[];
extern const char tgb_dc_test_rsa_pem[];

#endif
