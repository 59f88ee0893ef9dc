/*
 * Tests for the auth-key exchange (https://core.telegram.org/mtproto/auth_key), both
 * sides: the client (mtproto/handshake) replaying Telegram's official example byte for
 * byte (mtproto-vectors.md, section A); the client against the emulator's server
 * (emulator/auth_server) in process; the server against a second client written here
 * from the page, which builds every inner-data form under both RSA schemes and every
 * malformed message; and a malicious server built here, against the client.
 */

#include "base/buf.h"
#include "check.h"
#include "crypto/crypto.h"
#include "emulator/auth_server.h"
#include "mtproto/auth_common.h"
#include "mtproto/handshake.h"
#include "mtproto/message.h"
#include "splitmix.h"
#include "test_key.h"
#include "tl/tl.h"
#include "tl/tl_api.h"

/* ------------------------------------------------------------------ fixtures */

/* mtproto-vectors.md: Telegram's production key, which the official example uses. */
static const char PEM_PROD[] = "-----BEGIN RSA PUBLIC KEY-----\n"
                               "MIIBCgKCAQEA6LszBcC1LGzyr992NzE0ieY+BSaOW622Aa9Bd4ZHLl+TuFQ4lo4g\n"
                               "5nKaMBwK/BIb9xUfg0Q29/2mgIR6Zr9krM7HjuIcCzFvDtr+L0GQjae9H0pRB2OO\n"
                               "62cECs5HKhT5DZ98K33vmWiLowc621dQuwKWSQKjWf50XYFw42h21P2KXUGyp2y/\n"
                               "+aEyZ+uVgLLQbRA1dEjSDZ2iGRy12Mk5gpYc397aYp438fsJoHIgJ2lgMv5h7WY9\n"
                               "t6N/byY9Nw9p21Og3AoXSL2q/2IJ1WRUhebgAdGVMlV1fkuOQoEzR7EdpqtQD9Cs\n"
                               "5+bfo3Nhmcyvk5ftB0WkJ9z6bNZ7yxrP8wIDAQAB\n"
                               "-----END RSA PUBLIC KEY-----\n";

/*
 * mtproto-vectors.md, section A (https://core.telegram.org/mtproto/samples-auth_key):
 * the six messages, and the values the client draws at random.
 */
static const char A_MSG1[] = "0000000000000000D4720600503DC56514000000F18E7EBE406709F612FADFBE"
                             "C3F0289D0AA67EEF";
static const char A_MSG2[] = "000000000000000001D83175503DC565A800000063241605406709F612FADFBE"
                             "C3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF01994308256595EDB77667"
                             "9700000015C4B51C03000000A5B7F709355FC30B216BE86C022BB4C385FD64DE"
                             "851D9DD0";
static const char A_MSG5[] = "0000000000000000D8720600503DC56540010000BEE412D7406709F612FADFBE"
                             "C3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF019943045A300D4B000000"
                             "046A26DB6500000085FD64DE851D9DD0FE000100B80632B3F0D1AB28EFAE2CF9"
                             "74C4A2D51A77FCB6DEFD415E1EC284CAB2B5F88D5C4C5B19AFF5E940CE14CCB6"
                             "A7F340EC88DF7C1F091FB6F7323B047C02DC63212D0DEBE4B3B7A0310E26DB12"
                             "89CBA24112DF37506C90DEAB797623E4AFF4643D2A921891346BC176C4E1CCE1"
                             "4F64FA59526DD021EFFA428E8F8ACEEB96DBD4729E99BBB26DDDC744D584B732"
                             "415DFFE20418953F4EAFC81DADE5C6606A1E7FAA3EDB90F36ECF405422C97C36"
                             "0CC31A444B1EEB6C33D62C5802165C72BBC85D1ADBCCD17988DE7F43DA0F3405"
                             "02744B52B196A78EF1ED1372C6EA1232603FDB9C28F7F8783F29098FFD0FE9B0"
                             "66C460ECBA0A2962B82398C1B32D3DCB3BC3A59E";
static const char A_MSG6[] = "0000000000000000014C6E1E513DC565C40200005C07E8D0406709F612FADFBE"
                             "C3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF019943FE5002006AD7DD5D"
                             "8B2526C761ABE50E93C82A6F331B1EAE0AD011893DA976E3771D4AA45209D234"
                             "FEA65642985386B817BF8980F517F6D32DBEB47E34534556F950DDF960DB721A"
                             "48480231619161112682C6046D5629C71CD1EC8061DFCDD704703EC7A8AEBDCB"
                             "D159579FC8886D9FA51E009AF49B5AB90C7628EB81C9788A2EB6AC0E757A7DEB"
                             "E3D949F80A990BEDB4D2DBAE43F00328B82F4D8FC83A9B9CFEEF467E1593BB45"
                             "79EE32412F167A780CFA517650BD0EB51CBFB50E3AFE978839466131FCD95671"
                             "1E63614F006A55ED35ED2B1F833C29F4FD7A84F0C8F1C10DFC1A1AAF9A8A5710"
                             "8DECF206E3968406F0FB25E922DF154F497B51527E4834202FAB477A137D0A99"
                             "D1C347196FBA10699F52EA56F01EF93829B310A5C97DB95FD57E64417E526EB9"
                             "20D261157C6E38791BDD5389EEB744E075D952DB33A8151207D0AB3C629E30A7"
                             "23A5205F8FA18398937ED2714A4E76A5F4512508A4BE1B4D6AE46FD156C6F063"
                             "47AF5E07CE49279195133B07CCE4BC6775D88F3611180D23C4C70946619AD759"
                             "AB9F183A385CCF9BF19315FADBE8A4FDC748AF52DF930345909C870DE4B48901"
                             "E9F90E56D74CA534D8E1FE3A35A92A18D676958EB8FC3D82F9CEE308DF2A9E4C"
                             "CD23FF89EA255B9EEDBC3378148879666FFC2E19A431CBB57AE1A010FFE5CB39"
                             "ABF131ADD9E90BF969A112C435509B78960E0B20031C822190841561E8390446"
                             "227660BBACCF3D53574BFBA33BF476E3BDC9EB680AA2A17FD6756F652725ED03"
                             "13E5EB0FD6A9C8C949EEFBE809A89311BF20F40055CA25FD169DC13EE14B3150"
                             "92FDE4184638D849682FD862";
static const char A_MSG7[] = "0000000000000000185C0700513DC565780100001F5F04F5406709F612FADFBE"
                             "C3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF019943FE50010014D185E5"
                             "75255986C29BE3A0437D525BA22430CBA0CD755225945AD3A1ACEFB536518514"
                             "F5086892E6E3FA84D1CBB644BC8F7BEBCDE74E31BA8A073F47623EBB6E7D94B3"
                             "A676A4C1AFD4689C52D05F73D21C33F64FE6AEABD04273D9117CD064E467E1F8"
                             "E6C887BCAE4679E0399AD35DB1302A80629618F8C8485248D89A4E3568B464FF"
                             "7B608CBE24B51EEB81B65D76224B62A1669EAA48A99C122E5E8A778E13DD441D"
                             "C52175160088A498F186A2B99C736FE8C5C3E274D804C629564A0F15DDABC5B4"
                             "49356A7990900652A7432AFB1499C7CE09246F6B29006425DF2926465B04F17C"
                             "0077B6A336A50E46B675AD5607F05818F84EADEC1F4847BF311027E742F8B1E1"
                             "83C01810C4CE964F2A0F36E257849C144C9B0B93B4A7A9E57391DB0CCB0D757A"
                             "2B7A77257C8FF55553D66B6E1D45E9D8CA88E5A47B16322FF2ED5F5ABE099E70"
                             "06B2D29C829D746B704130B1";
static const char A_MSG9[] = "00000000000000000100BE91513DC5657400000034F7CB3B406709F612FADFBE"
                             "C3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF0199431142871352165E59"
                             "E1124036B48B97D3";
static const char A_NONCE[] = "406709F612FADFBEC3F0289D0AA67EEF";
static const char A_NEW_NONCE[] =
    "A8BBC849512DAC6C67B6EFD9157D6CA7377A1776307D84265C6BE9BDCF802AC1";
static const char A_P_Q_INNER_DATA[] =
    "955FF5A908256595EDB7766797000000045A300D4B000000046A26DB65000000"
    "406709F612FADFBEC3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF019943"
    "A8BBC849512DAC6C67B6EFD9157D6CA7377A1776307D84265C6BE9BDCF802AC1"
    "02000000";
static const char A_RANDOM_PADDING[] =
    "D944BB8347C876177FE03C2562BF4E87258EF147A7815D8853AA4B1065A5A385"
    "D0DA7E0B6100FAF55728D04DFC84E7E0D20006E07E1CB036730F5B3209CF85B2"
    "365B39DE2CBC56F40B725AD347835E5D1973567ECE8A02CF343D54F7";
static const char A_B[] = "1376A5A6BF7A9F874B47028F3D5CFF0689FD52F58949BB0EE9BACDBE81DD1CED"
                          "07101844EB6F2AE19E61120B84799431F445785E33A18141399821479AE96786"
                          "E0F4E9C5C6C9E46BF562C21C96B0F8F7438C8CABA3DFCB3DD3B886C2A37B95ED"
                          "804315335C0DDFFEB3A278243D89F964278BC734D1087D6D4B554C1F78397A41"
                          "4F440E38BA9A4F1211B20AE835437762F81A45FDB035BB2220D939693084B39A"
                          "3C7BE2481309AB9AE378EAB8BB3A15A69EBA80BEF683582E2218FA604E823EAB"
                          "D111553D31DBB46B9383A0D8EEF615FFF9CF266C970800AA28AC5E962D203513"
                          "11A815FFA7562989CA6D6323BF2B5AF40EF3F45021B7445664852D07B80172CE";
static const char A_CLIENT_DH_PADDING[] = "74876952857BA6AAA495A20D";
static const char A_AUTH_KEY[] = "ACA2547BAA3B4B3E6AD9129ADEE796042FC4ACAAABA40DCE7A1196640595829E"
                                 "2BA85C5E68E5D2B7B713B28720CCD0E65DA3B80CD8A9282BDE895755B924F4CB"
                                 "BCED119DEE057D3066D7095C25771A53D9AD6EC3464EE0E7FE1A4D9851F17B6C"
                                 "C7D6E636E0BDEA7D66153CF37005835A528E65673C1F5ADAA27465964BA89AA6"
                                 "FD045108B25B1DC9AB2D979864858C9EACBFA4A399CDBF2154D2CC6743C5CAA4"
                                 "0683343D80A36C7F1289DC5AC5EE585DEA1E1CD296444EA6CD8F6C3564B2D355"
                                 "B310A3C02608EEA5EC36D38E941BF811489AB7A24C069E44FF54714CB4A45EEE"
                                 "2F310FDDC0A1B08BD3DFF8801E27C8508EFD7AD51EF3C13EF1D9A02EE4601741";
static const char A_AUTH_KEY_ID[] = "65588B3350EF784E";
/* new_nonce[0:8] XOR server_nonce[0:8] = 49A6747298503DCE, read little-endian. */
#define A_SALT        ((int64_t)0xCE3D50987274A649ull)
#define A_SERVER_TIME 1707425105

/* The time of every in-process exchange: 2024-01-01 00:00:00.25 UTC. */
#define NOW ((tgb_time)1704067200 * 1000000 + 250000)

/*
 * The random source of the in-process tests: splitmix64 from a seed, recording each
 * draw (so a test can play a server that knows the client's new_nonce), and failing
 * on call `fail_at` (1-based; 0 = never).
 */
typedef struct test_rng {
    uint64_t state;
    int calls, fail_at;
    size_t len[64];
    uint8_t draw[64][256];
} test_rng;

static int test_rng_fn(void *user_data, uint8_t *out, size_t len)
{
    test_rng *r = user_data;
    int k = r->calls++;
    if (r->calls == r->fail_at)
        return TGB_ERR_RANDOM;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)splitmix64(&r->state);
    if (k < 64) {
        r->len[k] = len;
        memcpy(r->draw[k], out, len < 256 ? len : 256);
    }
    return 0;
}

static tgb_random rng_of(test_rng *r, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    r->state = seed;
    return (tgb_random){test_rng_fn, r};
}

/* A scripted source: hands out the given draws in order and checks their lengths. */
typedef struct script_item {
    const uint8_t *data;
    size_t len;
} script_item;

typedef struct script_rng {
    const script_item *items;
    size_t n, pos;
    int mismatches, quiet;
} script_rng;

static int script_rng_fn(void *user_data, uint8_t *out, size_t len)
{
    script_rng *r = user_data;
    if (r->pos >= r->n || r->items[r->pos].len != len) {
        if (!r->quiet)
            fprintf(stderr, "  script: draw %zu of %zu bytes, script has %zu\n", r->pos, len,
                    r->pos < r->n ? r->items[r->pos].len : 0);
        r->mismatches++;
        return TGB_ERR_RANDOM;
    }
    memcpy(out, r->items[r->pos++].data, len);
    return 0;
}

static tgb_rsa_key *server_key, *server_pub, *prod_key;

static void load_keys(void)
{
    if (tgb_rsa_key_from_pem(&server_key, TEST_KEY_PEM, strlen(TEST_KEY_PEM)) ||
        tgb_rsa_key_from_pem(&prod_key, PEM_PROD, strlen(PEM_PROD)))
        abort();
    /* The client gets the public half, as a client ships it. */
    char *pem = NULL;
    size_t len = 0;
    if (tgb_rsa_key_public_pem(server_key, &pem, &len) ||
        tgb_rsa_key_from_pem(&server_pub, pem, len))
        abort();
    free(pem);
}

/* Replaces the message_length of an unencrypted message with its real body length. */
static void fix_length(uint8_t *msg, size_t len)
{
    tgb_put_le32(msg + 16, (uint32_t)(len - 20));
}

/* An unencrypted message carrying `obj`, with a client-style msg_id. */
static void wrap_obj(tgb_buf *out, const void *obj)
{
    tgb_buf body;
    tgb_buf_init(&body, 0);
    if (tgb_tl_encode_object(&body, obj, NULL) ||
        tgb_plain_wrap(out, tgb_msg_id_from_time(NOW), body.data, body.len))
        abort();
    tgb_buf_free(&body);
}

/* Decodes the body of an unencrypted message; NULL if it is none. */
static tl_object *unwrap_obj(tgb_arena *arena, const tgb_buf *msg)
{
    uint64_t id;
    const uint8_t *body;
    size_t n;
    tl_object *o = NULL;
    if (tgb_plain_unwrap(msg->data, msg->len, &id, &body, &n) ||
        tgb_tl_decode_object(&tgb_tl_schema_api, arena, NULL, body, n, &o, NULL, NULL))
        return NULL;
    return o;
}

/* ------------------------------------------------------------------ 1. official example */

/*
 * RSA_PAD draws a temp_key the page does not print. Picks one with which RSA_PAD
 * succeeds at once (the padded block below n), so the client's draws are exactly the
 * script's, and returns the encrypted_data that temp_key gives: encryption with a
 * public key is deterministic, so equal encrypted_data means an equal p_q_inner_data_dc.
 */
static void pick_temp_key(const uint8_t *inner, size_t inner_len, const uint8_t *padding,
                          uint8_t temp_key[32], uint8_t encrypted[256])
{
    uint64_t seed = 1;
    for (;;) {
        for (int i = 0; i < 32; i++)
            temp_key[i] = (uint8_t)splitmix64(&seed);
        script_item items[2] = {{padding, 192 - inner_len}, {temp_key, 32}};
        script_rng sr = {items, 2, 0, 0, 1};
        tgb_random rnd = {script_rng_fn, &sr};
        if (tgb_rsa_pad_encrypt(prod_key, inner, inner_len, &rnd, encrypted) == 0)
            return;
    }
}

static void test_official_example(void)
{
    uint8_t nonce[16], new_nonce[32], inner[100], padding[92], temp_key[32], b[256], pad[12];
    uint8_t want_enc[256], want_key[256], want_key_id[8];
    check_unhex_into(nonce, 16, A_NONCE);
    check_unhex_into(new_nonce, 32, A_NEW_NONCE);
    check_unhex_into(inner, 100, A_P_Q_INNER_DATA);
    check_unhex_into(padding, 92, A_RANDOM_PADDING);
    check_unhex_into(b, 256, A_B);
    check_unhex_into(pad, 12, A_CLIENT_DH_PADDING);
    check_unhex_into(want_key, 256, A_AUTH_KEY);
    check_unhex_into(want_key_id, 8, A_AUTH_KEY_ID);
    pick_temp_key(inner, sizeof(inner), padding, temp_key, want_enc);

    size_t n1, n2, n5, n6, n7, n9;
    uint8_t *m1 = check_unhex(A_MSG1, &n1), *m2 = check_unhex(A_MSG2, &n2);
    uint8_t *m5 = check_unhex(A_MSG5, &n5), *m6 = check_unhex(A_MSG6, &n6);
    uint8_t *m7 = check_unhex(A_MSG7, &n7), *m9 = check_unhex(A_MSG9, &n9);
    /* The page's erratum: the server messages' length fields are wrong (vectors A.2). */
    fix_length(m2, n2);
    fix_length(m6, n6);
    fix_length(m9, n9);

    /* The draw order documented in handshake.h. */
    script_item items[] = {{nonce, 16},    {new_nonce, 32}, {padding, 92},
                           {temp_key, 32}, {b, 256},        {pad, 12}};
    script_rng sr = {items, sizeof(items) / sizeof(items[0]), 0, 0, 0};
    tgb_random rnd = {script_rng_fn, &sr};
    const tgb_rsa_key *keys[] = {server_pub, prod_key};
    tgb_handshake_params params = {.dc_id = 2, .keys = keys, .nkeys = 2, .rnd = &rnd};
    tgb_handshake *h = NULL;
    CHECK_OK(tgb_handshake_new(&h, &params));
    tgb_msg_id_gen ids;
    tgb_msg_id_gen_init(&ids);
    tgb_buf out;
    tgb_buf_init(&out, 0);

    /* 1) req_pq_multi: everything but the msg_id, which is our clock's. */
    tgb_time t0 = (tgb_time)1707425104 * 1000000 + 98;
    CHECK_EQ(tgb_handshake_start(h, &ids, t0, &out), TGB_HANDSHAKE_CONTINUE);
    CHECK_EQ(out.len, n1);
    if (out.len == n1) {
        CHECK_MEM(out.data, m1, 8);
        CHECK_MEM(out.data + 16, m1 + 16, n1 - 16);
        CHECK_EQ(tgb_msg_id_seconds(tgb_le64(out.data + 8)), 1707425104);
    }

    /* 2) resPQ -> 5) req_DH_params. */
    out.len = 0;
    CHECK_EQ(tgb_handshake_recv(h, m2, n2, &ids, t0 + 200000, &out), TGB_HANDSHAKE_CONTINUE);
    CHECK_EQ(out.len, n5);
    if (out.len == n5) {
        CHECK_MEM(out.data, m5, 8);
        /* nonces, p, q, fingerprint and the string header of encrypted_data */
        CHECK_MEM(out.data + 16, m5 + 16, n5 - 16 - 256);
        CHECK_MEM(out.data + n5 - 256, want_enc, 256);
    }

    /* 6) server_DH_params_ok -> 7.2) set_client_DH_params, byte for byte but the msg_id. */
    out.len = 0;
    tgb_time t1 = (tgb_time)1707425104 * 1000000 + 600000;
    CHECK_EQ(tgb_handshake_recv(h, m6, n6, &ids, t1, &out), TGB_HANDSHAKE_CONTINUE);
    CHECK_EQ(out.len, n7);
    if (out.len == n7) {
        CHECK_MEM(out.data, m7, 8);
        CHECK_MEM(out.data + 16, m7 + 16, n7 - 16);
        /* The msg_id is already on the server's clock (server_time 0x65C53D51). */
        CHECK_EQ(tgb_msg_id_seconds(tgb_le64(out.data + 8)), A_SERVER_TIME);
        CHECK_EQ(tgb_le64(out.data + 8) & 3, 0);
    }
    CHECK_EQ(ids.offset_us, (int64_t)A_SERVER_TIME * 1000000 - t1);

    /* 9) dh_gen_ok: done, nothing more to send. */
    out.len = 0;
    tgb_handshake_result r;
    CHECK_EQ(tgb_handshake_result_get(h, &r), TGB_ERR_STATE);
    CHECK_EQ(tgb_handshake_recv(h, m9, n9, &ids, t1 + 300000, &out), TGB_HANDSHAKE_DONE);
    CHECK_EQ(out.len, 0);
    CHECK_OK(tgb_handshake_result_get(h, &r));
    CHECK_MEM(r.auth_key, want_key, 256);
    CHECK_MEM(r.auth_key_id, want_key_id, 8);
    CHECK_EQ(r.server_salt, A_SALT);
    CHECK_EQ(r.time_offset_us, (int64_t)A_SERVER_TIME * 1000000 - t1);
    CHECK_EQ(r.expires_at, 0);
    CHECK_EQ(sr.pos, sr.n);
    CHECK_EQ(sr.mismatches, 0);

    /* After DONE the handshake takes no more packets. */
    CHECK_EQ(tgb_handshake_recv(h, m9, n9, &ids, t1, &out), TGB_ERR_STATE);
    CHECK_OK(tgb_handshake_result_get(h, &r));

    tgb_buf_free(&out);
    tgb_handshake_del(h);
    free(m1), free(m2), free(m5), free(m6), free(m7), free(m9);
}

/* ------------------------------------------------------------------ 2. client <-> server */

typedef struct taken_state {
    int calls, taken_times;
    uint8_t first_id[8];
} taken_state;

static int key_id_taken(void *user_data, const uint8_t id[8])
{
    taken_state *t = user_data;
    if (t->calls++ == 0)
        memcpy(t->first_id, id, 8);
    return t->calls <= t->taken_times;
}

/* One client and one server, pumping messages between them in memory. */
typedef struct pair {
    test_rng crng, srng;
    tgb_random crnd, srnd;
    taken_state taken;
    tgb_handshake_params cp;
    tgemu_auth_params sp;
    const tgb_rsa_key *keys[2];
    tgb_handshake *c;
    tgemu_auth_server *s;
    tgb_msg_id_gen cids, sids;
    tgb_buf to_server, to_client;
    int crc, src, rounds;
} pair;

static void pair_init(pair *x, uint64_t seed, int temp, int dc)
{
    memset(x, 0, sizeof(*x));
    x->crnd = rng_of(&x->crng, seed);
    x->srnd = rng_of(&x->srng, seed ^ 0x5e5e5e5e);
    /* Our first key is one the server does not offer: the client must skip it. */
    x->keys[0] = prod_key;
    x->keys[1] = server_pub;
    x->cp = (tgb_handshake_params){.dc_id = dc,
                                   .keys = x->keys,
                                   .nkeys = 2,
                                   .temp = temp,
                                   .expires_in = temp ? 3600 : 0,
                                   .rnd = &x->crnd};
    x->sp = (tgemu_auth_params){
        .key = server_key, .rnd = &x->srnd, .key_id_taken = key_id_taken, .user_data = &x->taken};
    if (tgb_handshake_new(&x->c, &x->cp) || tgemu_auth_new(&x->s, &x->sp))
        abort();
    tgb_msg_id_gen_init(&x->cids);
    tgb_msg_id_gen_init(&x->sids);
    tgb_buf_init(&x->to_server, 0);
    tgb_buf_init(&x->to_client, 0);
}

static void pair_free(pair *x)
{
    tgb_handshake_del(x->c);
    tgemu_auth_del(x->s);
    tgb_buf_free(&x->to_server);
    tgb_buf_free(&x->to_client);
}

/* Runs the exchange from the client's first message; returns the client's last code. */
static int pair_run(pair *x)
{
    x->to_server.len = 0;
    x->crc = tgb_handshake_start(x->c, &x->cids, NOW, &x->to_server);
    x->src = 0;
    for (x->rounds = 0; x->crc == TGB_HANDSHAKE_CONTINUE && x->rounds < 20; x->rounds++) {
        x->to_client.len = 0;
        x->src = tgemu_auth_recv(x->s, x->to_server.data, x->to_server.len, &x->sids, NOW,
                                 &x->to_client);
        x->to_server.len = 0;
        if (x->src < 0)
            break;
        x->crc = tgb_handshake_recv(x->c, x->to_client.data, x->to_client.len, &x->cids, NOW,
                                    &x->to_server);
    }
    return x->crc;
}

/* Both sides finished with the same key, id and salt. */
static void check_agree(pair *x)
{
    tgb_handshake_result cr;
    tgemu_auth_result sr;
    CHECK_OK(tgb_handshake_result_get(x->c, &cr));
    CHECK_OK(tgemu_auth_result_get(x->s, &sr));
    CHECK_MEM(cr.auth_key, sr.auth_key, 256);
    CHECK_MEM(cr.auth_key_id, sr.auth_key_id, 8);
    CHECK_EQ(cr.server_salt, sr.server_salt);
    uint8_t id[8];
    tgb_auth_key_id(cr.auth_key, id);
    CHECK_MEM(id, cr.auth_key_id, 8);
    /* The server's clock is the host's: the offset is the sub-second part of NOW. */
    CHECK_EQ(cr.time_offset_us, -(NOW % 1000000));
}

static void test_client_server(void)
{
    pair x;
    pair_init(&x, 1, 0, 2);
    CHECK_EQ(pair_run(&x), TGB_HANDSHAKE_DONE);
    CHECK_EQ(x.src, TGEMU_AUTH_DONE);
    CHECK_EQ(x.rounds, 3);
    check_agree(&x);
    tgemu_auth_result sr;
    CHECK_OK(tgemu_auth_result_get(x.s, &sr));
    CHECK_EQ(sr.dc_id, 2);
    CHECK_EQ(sr.rsa_pad, 1);
    CHECK_EQ(sr.temp, 0);
    CHECK_EQ(x.taken.calls, 1);
    /* Draws: nonce, new_nonce, 92 bytes of RSA_PAD padding, temp_key(s), b, padding. */
    CHECK_EQ(x.crng.len[0], 16);
    CHECK_EQ(x.crng.len[1], 32);
    CHECK_EQ(x.crng.len[2], 92);
    CHECK_EQ(x.crng.len[3], 32);
    uint8_t first_key[256];
    memcpy(first_key, sr.auth_key, 256);
    pair_free(&x);

    /* Fixed randomness, fixed key. */
    pair_init(&x, 1, 0, 2);
    CHECK_EQ(pair_run(&x), TGB_HANDSHAKE_DONE);
    CHECK_OK(tgemu_auth_result_get(x.s, &sr));
    CHECK_MEM(sr.auth_key, first_key, 256);
    pair_free(&x);

    /* Another seed, another key. */
    pair_init(&x, 2, 0, 2);
    CHECK_EQ(pair_run(&x), TGB_HANDSHAKE_DONE);
    CHECK_OK(tgemu_auth_result_get(x.s, &sr));
    CHECK(memcmp(sr.auth_key, first_key, 256) != 0);
    pair_free(&x);
}

/* A temporary key for a media DC of the test servers (dc -10002). */
static void test_temp_key(void)
{
    pair x;
    pair_init(&x, 3, 1, -10002);
    CHECK_EQ(pair_run(&x), TGB_HANDSHAKE_DONE);
    check_agree(&x);
    tgemu_auth_result sr;
    tgb_handshake_result cr;
    CHECK_OK(tgemu_auth_result_get(x.s, &sr));
    CHECK_OK(tgb_handshake_result_get(x.c, &cr));
    CHECK_EQ(sr.temp, 1);
    CHECK_EQ(sr.expires_in, 3600);
    CHECK_EQ(sr.dc_id, -10002);
    CHECK_EQ(cr.expires_at, NOW / 1000000 + 3600);
    /* p_q_inner_data_temp_dc is 4 bytes longer: 88 bytes of RSA_PAD padding. */
    CHECK_EQ(x.crng.len[2], 88);
    pair_free(&x);

    /* expires_in must be positive for a temporary key. */
    tgb_handshake *h = (tgb_handshake *)1;
    const tgb_rsa_key *keys[] = {server_pub};
    tgb_handshake_params p = {.dc_id = 2, .keys = keys, .nkeys = 1, .temp = 1};
    CHECK_EQ(tgb_handshake_new(&h, &p), TGB_ERR_INVALID);
    CHECK(h == NULL);
}

/* The server finds the new key's id taken once: dh_gen_retry, then dh_gen_ok. */
static void test_retry(void)
{
    pair x;
    pair_init(&x, 4, 0, 2);
    x.taken.taken_times = 1;
    CHECK_EQ(pair_run(&x), TGB_HANDSHAKE_DONE);
    CHECK_EQ(x.rounds, 4);
    CHECK_EQ(x.taken.calls, 2);
    check_agree(&x);
    tgemu_auth_result sr;
    CHECK_OK(tgemu_auth_result_get(x.s, &sr));
    CHECK(memcmp(sr.auth_key_id, x.taken.first_id, 8) != 0);
    pair_free(&x);

    /* A server that never accepts a key: the client gives up after 5 retries. */
    pair_init(&x, 5, 0, 2);
    x.taken.taken_times = 1000;
    CHECK_EQ(pair_run(&x), TGB_ERR_PROTOCOL);
    CHECK_EQ(x.taken.calls, 6);
    tgb_handshake_result cr;
    CHECK_EQ(tgb_handshake_result_get(x.c, &cr), TGB_ERR_STATE);
    pair_free(&x);
}

/* ------------------------------------------------------------------ a second client */

/*
 * A client written here from the auth_key page, independently of handshake.c, that
 * can build every inner-data form under both RSA schemes and break any field.
 */
enum { FORM_PLAIN, FORM_DC, FORM_TEMP, FORM_TEMP_DC };

typedef struct manual {
    tgemu_auth_server *s;
    test_rng srng;
    tgb_random srnd;
    taken_state taken;
    tgb_msg_id_gen sids;
    uint64_t seed;
    uint8_t nonce[16], server_nonce[16], new_nonce[32];
    uint64_t pq, p, q;
    uint8_t tmp_key[32], tmp_iv[32];
    uint8_t g_a[256], auth_key[256];
    int64_t retry_id;
    tgb_buf reply;
    tgb_arena arena;
} manual;

static void manual_init(manual *m, uint64_t seed)
{
    memset(m, 0, sizeof(*m));
    m->srnd = rng_of(&m->srng, seed);
    m->seed = seed * 7 + 1;
    tgemu_auth_params sp = {
        .key = server_key, .rnd = &m->srnd, .key_id_taken = key_id_taken, .user_data = &m->taken};
    if (tgemu_auth_new(&m->s, &sp))
        abort();
    tgb_msg_id_gen_init(&m->sids);
    tgb_buf_init(&m->reply, 0);
    tgb_arena_init(&m->arena, NULL, 0, 0);
}

static void manual_free(manual *m)
{
    tgemu_auth_del(m->s);
    tgb_buf_free(&m->reply);
    tgb_arena_free(&m->arena);
}

static void fill(manual *m, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)splitmix64(&m->seed);
}

/* Sends raw bytes; checks that a failure appends nothing. */
static int manual_send_raw(manual *m, const uint8_t *msg, size_t len)
{
    m->reply.len = 0;
    int rc = tgemu_auth_recv(m->s, msg, len, &m->sids, NOW, &m->reply);
    if (rc < 0)
        CHECK_EQ(m->reply.len, 0);
    return rc;
}

static int manual_send(manual *m, const void *obj)
{
    tgb_buf msg;
    tgb_buf_init(&msg, 0);
    wrap_obj(&msg, obj);
    int rc = manual_send_raw(m, msg.data, msg.len);
    tgb_buf_free(&msg);
    return rc;
}

static tl_object *manual_reply(manual *m)
{
    return unwrap_obj(&m->arena, &m->reply);
}

/* req_pq_multi (or req_pq) -> resPQ; returns the server's code. */
static int manual_req_pq(manual *m, int legacy)
{
    fill(m, m->nonce, 16);
    int rc;
    if (legacy) {
        tl_req_pq r = {.base = {&tgb_tl_c_req_pq}};
        memcpy(r.nonce, m->nonce, 16);
        rc = manual_send(m, &r);
    } else {
        tl_req_pq_multi r = {.base = {&tgb_tl_c_req_pq_multi}};
        memcpy(r.nonce, m->nonce, 16);
        rc = manual_send(m, &r);
    }
    if (rc != TGEMU_AUTH_CONTINUE)
        return rc;
    tl_object *o = manual_reply(m);
    CHECK(o && o->desc == &tgb_tl_c_resPQ);
    if (!o || o->desc != &tgb_tl_c_resPQ)
        return TGB_ERR_PROTOCOL;
    const tl_resPQ *res = (const tl_resPQ *)o;
    CHECK_MEM(res->nonce, m->nonce, 16);
    memcpy(m->server_nonce, res->server_nonce, 16);
    CHECK_EQ(res->server_public_key_fingerprints.count, 1);
    CHECK_EQ((uint64_t)res->server_public_key_fingerprints.items[0],
             tgb_rsa_key_fingerprint(server_key));
    /* pq: "the product of two different odd prime numbers", at most 2^63-1 */
    CHECK(res->pq.len == 8);
    m->pq = 0;
    for (size_t i = 0; i < res->pq.len; i++)
        m->pq = m->pq << 8 | (uint8_t)res->pq.data[i];
    CHECK_OK(tgb_pq_factorize(m->pq, &m->p, &m->q));
    CHECK(m->p > (1u << 30) && m->q < (1ull << 31) && m->p < m->q);
    return rc;
}

/* What req_DH_params may get wrong. */
typedef struct req_opts {
    int form, old_scheme;
    int bad_nonce, bad_server_nonce, bad_fingerprint, swap_pq, wrong_p;
    int tamper;         /* flip a bit of encrypted_data */
    int bad_inner_sha1; /* old scheme: SHA1 of other bytes */
    int inner_bad_nonce, inner_bad_server_nonce, inner_bad_pq, inner_bad_p;
    int long_data;  /* a 257-byte encrypted_data */
    int strip_zero; /* drop a leading zero byte of encrypted_data, if any */
    int not_inner;  /* an object of another type where the inner data belongs */
    int expires_in; /* temp forms; 0 = 86400 */
} req_opts;

static int manual_req_dh(manual *m, const req_opts *o)
{
    fill(m, m->new_nonce, 32);
    uint8_t pb[8], qb[8], pqb[8];
    tgb_tl_string pq_s = {(const char *)pqb, tgb_auth_be_minimal(m->pq, pqb)};
    tgb_tl_string p_s = {(const char *)pb, tgb_auth_be_minimal(o->wrong_p ? m->p + 2 : m->p, pb)};
    tgb_tl_string q_s = {(const char *)qb, tgb_auth_be_minimal(m->q, qb)};
    if (o->swap_pq) {
        tgb_tl_string t = p_s;
        p_s = q_s;
        q_s = t;
    }
    uint8_t nonce[16], server_nonce[16], ipqb[8];
    memcpy(nonce, m->nonce, 16);
    memcpy(server_nonce, m->server_nonce, 16);
    if (o->inner_bad_nonce)
        nonce[3] ^= 1;
    if (o->inner_bad_server_nonce)
        server_nonce[15] ^= 0x80;
    tgb_tl_string ipq_s = pq_s, ip_s = p_s;
    if (o->inner_bad_pq) {
        memcpy(ipqb, pqb, 8);
        ipqb[7] ^= 2;
        ipq_s.data = (const char *)ipqb;
    }
    uint8_t ipb[8];
    if (o->inner_bad_p) {
        memcpy(ipb, pb, 8);
        ipb[p_s.len - 1] ^= 4;
        ip_s.data = (const char *)ipb;
    }
    int expires_in = o->expires_in ? o->expires_in : 86400;

    tgb_buf inner;
    tgb_buf_init(&inner, 0);
#define INNER(ctor, extra)                                                            \
    do {                                                                              \
        tl_##ctor d = {.base = {&tgb_tl_c_##ctor}, .pq = ipq_s, .p = ip_s, .q = q_s}; \
        memcpy(d.nonce, nonce, 16);                                                   \
        memcpy(d.server_nonce, server_nonce, 16);                                     \
        memcpy(d.new_nonce, m->new_nonce, 32);                                        \
        extra;                                                                        \
        if (tgb_tl_encode_object(&inner, &d, NULL))                                   \
            abort();                                                                  \
    } while (0)
    if (o->not_inner) {
        tl_req_pq_multi r = {.base = {&tgb_tl_c_req_pq_multi}};
        memcpy(r.nonce, m->nonce, 16);
        tgb_tl_encode_object(&inner, &r, NULL);
    } else if (o->form == FORM_PLAIN) {
        INNER(p_q_inner_data, (void)0);
    } else if (o->form == FORM_DC) {
        INNER(p_q_inner_data_dc, d.dc = 2);
    } else if (o->form == FORM_TEMP) {
        INNER(p_q_inner_data_temp, d.expires_in = expires_in);
    } else {
        INNER(p_q_inner_data_temp_dc, (d.dc = -4, d.expires_in = expires_in));
    }
#undef INNER

    uint8_t enc[257];
    test_rng pad_rng;
    tgb_random pad_rnd = rng_of(&pad_rng, m->seed++);
    /* An RSA result below 2^2040 (1 in 256): sent without its leading zero byte. */
    for (int i = 0; o->strip_zero && i < 10000; i++) {
        pad_rnd = rng_of(&pad_rng, m->seed++);
        CHECK_OK(tgb_rsa_old_encrypt(server_pub, inner.data, inner.len, &pad_rnd, enc));
        if (enc[0] == 0)
            break;
    }
    if (o->strip_zero) {
        CHECK_EQ(enc[0], 0);
    } else if (!o->old_scheme) {
        CHECK_OK(tgb_rsa_pad_encrypt(server_pub, inner.data, inner.len, &pad_rnd, enc));
    } else if (!o->bad_inner_sha1) {
        CHECK_OK(tgb_rsa_old_encrypt(server_pub, inner.data, inner.len, &pad_rnd, enc));
    } else {
        /* The old scheme by hand, with a SHA1 that does not match the data. */
        uint8_t block[256];
        block[0] = 0;
        tgb_sha1(inner.data, inner.len - 1, block + 1);
        memcpy(block + 21, inner.data, inner.len);
        fill(m, block + 21 + inner.len, 235 - inner.len);
        CHECK_OK(tgb_rsa_public_raw(server_pub, block, enc));
    }
    tgb_buf_free(&inner);
    size_t enc_len = 256;
    if (o->tamper)
        enc[100] ^= 0x10;
    if (o->long_data)
        enc[256] = 0, enc_len = 257;
    const uint8_t *enc_p = enc;
    if (o->strip_zero) {
        while (enc_len > 1 && *enc_p == 0)
            enc_p++, enc_len--;
    }

    tl_req_DH_params r = {.base = {&tgb_tl_c_req_DH_params},
                          .p = p_s,
                          .q = q_s,
                          .public_key_fingerprint = (int64_t)tgb_rsa_key_fingerprint(server_key),
                          .encrypted_data = {(const char *)enc_p, enc_len}};
    memcpy(r.nonce, m->nonce, 16);
    memcpy(r.server_nonce, m->server_nonce, 16);
    if (o->bad_nonce)
        r.nonce[0] ^= 1;
    if (o->bad_server_nonce)
        r.server_nonce[0] ^= 1;
    if (o->bad_fingerprint)
        r.public_key_fingerprint ^= 1;
    int rc = manual_send(m, &r);
    if (rc != TGEMU_AUTH_CONTINUE)
        return rc;

    /* Step 5-6: decrypt the answer with the temporary key and check it. */
    tl_object *ob = manual_reply(m);
    CHECK(ob && ob->desc == &tgb_tl_c_server_DH_params_ok);
    if (!ob || ob->desc != &tgb_tl_c_server_DH_params_ok)
        return TGB_ERR_PROTOCOL;
    const tl_server_DH_params_ok *ok = (const tl_server_DH_params_ok *)ob;
    CHECK_MEM(ok->nonce, m->nonce, 16);
    CHECK_MEM(ok->server_nonce, m->server_nonce, 16);
    size_t n = ok->encrypted_answer.len;
    CHECK(n % 16 == 0 && n <= 640);
    if (n % 16 || n > 640 || n < 32)
        return TGB_ERR_PROTOCOL;
    uint8_t plain[640];
    tgb_tmp_aes_from_nonces(m->new_nonce, m->server_nonce, m->tmp_key, m->tmp_iv);
    CHECK_OK(tgb_aes_ige_decrypt(m->tmp_key, m->tmp_iv, (const uint8_t *)ok->encrypted_answer.data,
                                 plain, n));
    tl_object *io = NULL;
    size_t used = 0;
    CHECK_OK(tgb_tl_decode_object(&tgb_tl_schema_api, &m->arena, &tgb_tl_t_Server_DH_inner_data,
                                  plain + 20, n - 20, &io, &used, NULL));
    if (!io)
        return TGB_ERR_PROTOCOL;
    uint8_t h[20];
    tgb_sha1(plain + 20, used, h);
    CHECK_MEM(h, plain, 20);
    CHECK(n - 20 - used < 16);
    const tl_server_DH_inner_data *in = (const tl_server_DH_inner_data *)io;
    CHECK_MEM(in->nonce, m->nonce, 16);
    CHECK_MEM(in->server_nonce, m->server_nonce, 16);
    CHECK_EQ(in->g, 3);
    CHECK(in->dh_prime.len == 256 && memcmp(in->dh_prime.data, tgb_dh_telegram_prime, 256) == 0);
    CHECK_OK(tgb_dh_check_public(tgb_dh_telegram_prime, 256, (const uint8_t *)in->g_a.data,
                                 in->g_a.len));
    CHECK_EQ(in->server_time, NOW / 1000000);
    memset(m->g_a, 0, 256);
    if (in->g_a.len <= 256)
        memcpy(m->g_a + 256 - in->g_a.len, in->g_a.data, in->g_a.len);
    m->retry_id = 0;
    return rc;
}

/* What set_client_DH_params may get wrong. */
typedef struct set_opts {
    int g_b_kind; /* 0: g^b; 1: 1; 2: dh_prime - 1; 3: 2^1983 (just under the bound) */
    int64_t retry_id_xor;
    int bad_nonce, inner_bad_nonce, bad_sha1, long_padding, tamper, odd_length;
} set_opts;

static int manual_set_client_dh(manual *m, const set_opts *o)
{
    uint8_t b[256], g_b[256], three = 3;
    fill(m, b, 256);
    CHECK_OK(tgb_dh_mod_exp(&three, 1, b, 256, tgb_dh_telegram_prime, 256, g_b));
    CHECK_OK(tgb_dh_mod_exp(m->g_a, 256, b, 256, tgb_dh_telegram_prime, 256, m->auth_key));
    if (o->g_b_kind == 1) {
        memset(g_b, 0, 256);
        g_b[255] = 1;
    } else if (o->g_b_kind == 2) {
        memcpy(g_b, tgb_dh_telegram_prime, 256);
        g_b[255] -= 1;
    } else if (o->g_b_kind == 3) {
        memset(g_b, 0, 256);
        g_b[255 - 1983 / 8] = 1 << (1983 % 8); /* 2^1983 */
    }
    tl_client_DH_inner_data in = {.base = {&tgb_tl_c_client_DH_inner_data},
                                  .retry_id = m->retry_id ^ o->retry_id_xor,
                                  .g_b = {(const char *)g_b, 256}};
    memcpy(in.nonce, m->nonce, 16);
    memcpy(in.server_nonce, m->server_nonce, 16);
    if (o->inner_bad_nonce)
        in.nonce[5] ^= 1;
    tgb_buf data;
    tgb_buf_init(&data, 0);
    if (tgb_tl_encode_object(&data, &in, NULL))
        abort();
    uint8_t plain[512], enc[512];
    tgb_sha1(data.data, data.len, plain);
    if (o->bad_sha1)
        plain[19] ^= 1;
    memcpy(plain + 20, data.data, data.len);
    size_t len = 20 + data.len;
    size_t pad = (16 - len % 16) % 16 + (o->long_padding ? 16 : 0);
    fill(m, plain + len, pad);
    len += pad;
    tgb_buf_free(&data);
    CHECK_OK(tgb_aes_ige_encrypt(m->tmp_key, m->tmp_iv, plain, enc, len));
    if (o->tamper)
        enc[40] ^= 0x01;
    tl_set_client_DH_params r = {
        .base = {&tgb_tl_c_set_client_DH_params},
        .encrypted_data = {(const char *)enc, len - (o->odd_length ? 1 : 0)}};
    memcpy(r.nonce, m->nonce, 16);
    memcpy(r.server_nonce, m->server_nonce, 16);
    if (o->bad_nonce)
        r.server_nonce[1] ^= 1;
    return manual_send(m, &r);
}

/* Step 9 as the client checks it: dh_gen_ok (1) or dh_gen_retry (2) with the right hash. */
static void manual_check_gen(manual *m, int which)
{
    tl_object *o = manual_reply(m);
    const uint8_t *hash = NULL;
    if (which == 1 && o && o->desc == &tgb_tl_c_dh_gen_ok)
        hash = ((const tl_dh_gen_ok *)o)->new_nonce_hash1;
    if (which == 2 && o && o->desc == &tgb_tl_c_dh_gen_retry)
        hash = ((const tl_dh_gen_retry *)o)->new_nonce_hash2;
    CHECK(hash != NULL);
    if (!hash)
        return;
    uint8_t aux[8], h[20], n = (uint8_t)which;
    tgb_auth_key_aux_hash(m->auth_key, aux);
    tgb_span sp[3] = {{m->new_nonce, 32}, {&n, 1}, {aux, 8}};
    tgb_sha1_spans(sp, 3, h);
    CHECK_MEM(hash, h + 4, 16);
    if (which == 2)
        m->retry_id = (int64_t)tgb_le64(aux);
}

/* A complete exchange by the second client; checks the server's result. */
static void manual_full(manual *m, const req_opts *ro)
{
    CHECK_EQ(manual_req_pq(m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_dh(m, ro), TGEMU_AUTH_CONTINUE);
    set_opts so = {0};
    CHECK_EQ(manual_set_client_dh(m, &so), TGEMU_AUTH_DONE);
    manual_check_gen(m, 1);
    tgemu_auth_result r;
    CHECK_OK(tgemu_auth_result_get(m->s, &r));
    CHECK_MEM(r.auth_key, m->auth_key, 256);
    uint8_t salt[8];
    for (int i = 0; i < 8; i++)
        salt[i] = m->new_nonce[i] ^ m->server_nonce[i];
    CHECK_EQ(r.server_salt, (int64_t)tgb_le64(salt));
    CHECK_EQ(r.rsa_pad, !ro->old_scheme);
    CHECK_EQ(r.temp, ro->form == FORM_TEMP || ro->form == FORM_TEMP_DC);
    CHECK_EQ(r.expires_in, r.temp ? 86400 : 0);
    CHECK_EQ(r.dc_id, ro->form == FORM_DC ? 2 : ro->form == FORM_TEMP_DC ? -4 : 0);
}

/* The four inner-data forms under both RSA schemes, as real clients send them. */
static void test_server_forms(void)
{
    for (int scheme = 0; scheme < 2; scheme++) {
        for (int form = FORM_PLAIN; form <= FORM_TEMP_DC; form++) {
            manual m;
            manual_init(&m, (uint64_t)(100 + scheme * 10 + form));
            req_opts ro = {.form = form, .old_scheme = scheme};
            manual_full(&m, &ro);
            manual_free(&m);
        }
    }
    /* encrypted_data without its leading zero byte is the same number. */
    manual m;
    manual_init(&m, 200);
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    req_opts strip = {.form = FORM_PLAIN, .old_scheme = 1, .strip_zero = 1};
    CHECK_EQ(manual_req_dh(&m, &strip), TGEMU_AUTH_CONTINUE);
    manual_free(&m);
    /* The legacy req_pq gets the same resPQ. */
    manual_init(&m, 300);
    CHECK_EQ(manual_req_pq(&m, 1), TGEMU_AUTH_CONTINUE);
    req_opts ro = {.form = FORM_DC};
    CHECK_EQ(manual_req_dh(&m, &ro), TGEMU_AUTH_CONTINUE);
    manual_free(&m);
}

/* The second client through dh_gen_retry, and the retry_id the server then demands. */
static void test_server_retry(void)
{
    manual m;
    manual_init(&m, 400);
    m.taken.taken_times = 2;
    req_opts ro = {.form = FORM_DC};
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_dh(&m, &ro), TGEMU_AUTH_CONTINUE);
    set_opts so = {0};
    CHECK_EQ(manual_set_client_dh(&m, &so), TGEMU_AUTH_CONTINUE);
    manual_check_gen(&m, 2);
    CHECK(m.retry_id != 0);
    CHECK_EQ(manual_set_client_dh(&m, &so), TGEMU_AUTH_CONTINUE);
    manual_check_gen(&m, 2);
    CHECK_EQ(manual_set_client_dh(&m, &so), TGEMU_AUTH_DONE);
    manual_check_gen(&m, 1);
    CHECK_EQ(m.taken.calls, 3);
    manual_free(&m);

    /* After a retry, retry_id 0 (or any other value) is refused. */
    manual_init(&m, 401);
    m.taken.taken_times = 1;
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_dh(&m, &ro), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_set_client_dh(&m, &so), TGEMU_AUTH_CONTINUE);
    manual_check_gen(&m, 2);
    set_opts zero = {.retry_id_xor = m.retry_id};
    CHECK_EQ(manual_set_client_dh(&m, &zero), TGB_ERR_INTEGRITY);
    manual_free(&m);
}

/* ------------------------------------------------------------------ 3. server checks */

/* Runs the second client to req_DH_params with `ro`, expecting `want` there. */
static void expect_req_dh(const req_opts *ro, int want, uint64_t seed)
{
    manual m;
    manual_init(&m, seed);
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_dh(&m, ro), want);
    /* Afterwards only a new req_pq_multi is accepted, and it starts over (4). */
    if (want < 0) {
        req_opts ok = {.form = FORM_DC};
        uint8_t again[256];
        tl_req_DH_params r = {.base = {&tgb_tl_c_req_DH_params},
                              .encrypted_data = {(const char *)again, 256}};
        memset(again, 0, sizeof(again));
        CHECK_EQ(manual_send(&m, &r), TGB_ERR_PROTOCOL);
        manual_full(&m, &ok);
    }
    manual_free(&m);
}

static void expect_set_client(const set_opts *so, int want, uint64_t seed)
{
    manual m;
    manual_init(&m, seed);
    req_opts ro = {.form = FORM_DC};
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_dh(&m, &ro), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_set_client_dh(&m, so), want);
    if (want < 0) {
        set_opts fine = {0};
        CHECK_EQ(manual_set_client_dh(&m, &fine), TGB_ERR_PROTOCOL);
        manual_full(&m, &ro);
    }
    manual_free(&m);
}

static void test_server_checks(void)
{
    uint64_t seed = 500;
    /* req_DH_params */
    expect_req_dh(&(req_opts){.form = FORM_DC, .bad_nonce = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_DC, .bad_server_nonce = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_DC, .bad_fingerprint = 1}, TGB_ERR_RSA_KEY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_DC, .swap_pq = 1}, TGB_ERR_PQ, seed++);
    expect_req_dh(&(req_opts){.form = FORM_DC, .wrong_p = 1}, TGB_ERR_PQ, seed++);
    expect_req_dh(&(req_opts){.form = FORM_DC, .tamper = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_PLAIN, .old_scheme = 1, .tamper = 1}, TGB_ERR_INTEGRITY,
                  seed++);
    expect_req_dh(&(req_opts){.form = FORM_PLAIN, .old_scheme = 1, .bad_inner_sha1 = 1},
                  TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_DC, .inner_bad_nonce = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_PLAIN, .old_scheme = 1, .inner_bad_server_nonce = 1},
                  TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_TEMP, .inner_bad_pq = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_TEMP_DC, .inner_bad_p = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_DC, .not_inner = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_req_dh(&(req_opts){.form = FORM_DC, .long_data = 1}, TGB_ERR_PROTOCOL, seed++);
    expect_req_dh(&(req_opts){.form = FORM_TEMP, .expires_in = -5}, TGB_ERR_PROTOCOL, seed++);

    /* set_client_DH_params */
    expect_set_client(&(set_opts){.bad_nonce = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_set_client(&(set_opts){.inner_bad_nonce = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_set_client(&(set_opts){.bad_sha1 = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_set_client(&(set_opts){.long_padding = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_set_client(&(set_opts){.tamper = 1}, TGB_ERR_INTEGRITY, seed++);
    expect_set_client(&(set_opts){.odd_length = 1}, TGB_ERR_PROTOCOL, seed++);
    expect_set_client(&(set_opts){.retry_id_xor = 5}, TGB_ERR_INTEGRITY, seed++);
    expect_set_client(&(set_opts){.g_b_kind = 1}, TGB_ERR_DH_PARAMS, seed++);
    expect_set_client(&(set_opts){.g_b_kind = 2}, TGB_ERR_DH_PARAMS, seed++);
    expect_set_client(&(set_opts){.g_b_kind = 3}, TGB_ERR_DH_PARAMS, seed++);
}

/* Every message the server does not expect in a state, and packets that are no message. */
static void test_server_unexpected(void)
{
    manual m;
    manual_init(&m, 600);
    uint8_t zeros[256] = {0};
    tl_req_DH_params rdh = {.base = {&tgb_tl_c_req_DH_params},
                            .encrypted_data = {(const char *)zeros, 256}};
    tl_set_client_DH_params scd = {.base = {&tgb_tl_c_set_client_DH_params},
                                   .encrypted_data = {(const char *)zeros, 32}};
    tl_dh_gen_ok gen = {.base = {&tgb_tl_c_dh_gen_ok}};
    tl_resPQ res = {.base = {&tgb_tl_c_resPQ}};

    /* idle */
    CHECK_EQ(manual_send(&m, &rdh), TGB_ERR_PROTOCOL);
    CHECK_EQ(manual_send(&m, &scd), TGB_ERR_PROTOCOL);
    CHECK_EQ(manual_send(&m, &res), TGB_ERR_PROTOCOL);
    /* after resPQ */
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_send(&m, &scd), TGB_ERR_PROTOCOL);
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_send(&m, &gen), TGB_ERR_PROTOCOL);
    /* after server_DH_params_ok */
    req_opts ro = {.form = FORM_DC};
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_dh(&m, &ro), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_send(&m, &rdh), TGB_ERR_PROTOCOL);
    /* req_pq_multi in the middle of an exchange starts a new one (Telethon's retry). */
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_dh(&m, &ro), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_pq(&m, 0), TGEMU_AUTH_CONTINUE);
    CHECK_EQ(manual_req_dh(&m, &ro), TGEMU_AUTH_CONTINUE);
    set_opts so = {0};
    CHECK_EQ(manual_set_client_dh(&m, &so), TGEMU_AUTH_DONE);
    /* done */
    CHECK_EQ(manual_send(&m, &scd), TGB_ERR_PROTOCOL);
    tgemu_auth_result r;
    CHECK_EQ(tgemu_auth_result_get(m.s, &r), TGB_ERR_STATE);
    /* ... and after DONE, a new req_pq_multi starts over too. */
    manual_full(&m, &ro);
    CHECK_OK(tgemu_auth_result_get(m.s, &r));

    /* Packets that are no unencrypted message, or no TL. */
    uint8_t pkt[64] = {0};
    CHECK_EQ(manual_send_raw(&m, pkt, 0), TGB_ERR_PROTOCOL);
    CHECK_EQ(manual_send_raw(&m, pkt, 19), TGB_ERR_PROTOCOL);
    tgb_put_le32(pkt + 16, 19);
    tgb_put_le32(pkt + 20, 0xbe7e8ef1); /* req_pq_multi, nonce cut short */
    CHECK_EQ(manual_send_raw(&m, pkt, 39), TGB_ERR_PROTOCOL);
    tgb_put_le32(pkt + 16, 45);
    CHECK_EQ(manual_send_raw(&m, pkt, 64), TGB_ERR_PROTOCOL); /* length past the packet */
    tgb_put_le32(pkt + 16, 20);
    tgb_put_le32(pkt + 20, 0x12345678); /* an id nobody knows */
    CHECK_EQ(manual_send_raw(&m, pkt, 40), TGB_ERR_PROTOCOL);
    tgb_put_le32(pkt + 16, 20);
    tgb_put_le32(pkt + 20, 0xbe7e8ef1);
    pkt[3] = 1; /* auth_key_id not 0 */
    CHECK_EQ(manual_send_raw(&m, pkt, 40), TGB_ERR_PROTOCOL);
    pkt[3] = 0;
    tgb_put_le32(pkt + 16, 24); /* trailing bytes after the object */
    CHECK_EQ(manual_send_raw(&m, pkt, 44), TGB_ERR_PROTOCOL);
    tgb_put_le32(pkt + 16, 20); /* and the real thing is still accepted */
    CHECK_EQ(manual_send_raw(&m, pkt, 40), TGEMU_AUTH_CONTINUE);
    /* bigger than any handshake message */
    uint8_t big[1100] = {0};
    tgb_put_le32(big + 16, 1080);
    tgb_put_le32(big + 20, 0xbe7e8ef1);
    CHECK_EQ(manual_send_raw(&m, big, sizeof(big)), TGB_ERR_PROTOCOL);
    manual_free(&m);

    /* Arguments. */
    tgemu_auth_server *s = (tgemu_auth_server *)1;
    CHECK_EQ(tgemu_auth_new(&s, NULL), TGB_ERR_INVALID);
    CHECK(s == NULL);
    tgemu_auth_params p = {.key = server_pub};
    CHECK_EQ(tgemu_auth_new(&s, &p), TGB_ERR_RSA_KEY);
    tgemu_auth_del(NULL);
}

/* The server's random source failing at each of its draws. */
static void test_server_random_failure(void)
{
    for (int fail_at = 1; fail_at <= 4; fail_at++) {
        manual m;
        manual_init(&m, 700);
        m.srng.fail_at = fail_at;
        int rc = manual_req_pq(&m, 0);
        if (rc == TGEMU_AUTH_CONTINUE) {
            req_opts ro = {.form = FORM_DC};
            rc = manual_req_dh(&m, &ro);
        }
        if (rc == TGEMU_AUTH_CONTINUE) {
            set_opts so = {0};
            rc = manual_set_client_dh(&m, &so);
        }
        CHECK_EQ(rc, TGB_ERR_RANDOM);
        /* and a new exchange works once the source does */
        m.srng.fail_at = 0;
        req_opts ro = {.form = FORM_DC};
        manual_full(&m, &ro);
        manual_free(&m);
    }
}

/* ------------------------------------------------------------------ 3. client checks */

/*
 * A client and the real server up to the point where the client has sent message
 * `upto` (1 req_pq_multi, 2 req_DH_params, 3 set_client_DH_params); the server's
 * answer to it is in x->to_client, for the test to deliver or forge.
 */
static void pair_upto(pair *x, uint64_t seed, int upto)
{
    pair_init(x, seed, 0, 2);
    x->to_server.len = 0;
    CHECK_EQ(tgb_handshake_start(x->c, &x->cids, NOW, &x->to_server), TGB_HANDSHAKE_CONTINUE);
    for (int i = 1;; i++) {
        x->to_client.len = 0;
        CHECK(tgemu_auth_recv(x->s, x->to_server.data, x->to_server.len, &x->sids, NOW,
                              &x->to_client) >= 0);
        if (i == upto)
            return;
        x->to_server.len = 0;
        CHECK_EQ(tgb_handshake_recv(x->c, x->to_client.data, x->to_client.len, &x->cids, NOW,
                                    &x->to_server),
                 TGB_HANDSHAKE_CONTINUE);
    }
}

/* Delivers `msg` to the client; on an error, checks that it is final. */
static int client_gets(pair *x, const uint8_t *msg, size_t len)
{
    x->to_server.len = 0;
    int rc = tgb_handshake_recv(x->c, msg, len, &x->cids, NOW, &x->to_server);
    if (rc < 0) {
        CHECK_EQ(tgb_handshake_recv(x->c, msg, len, &x->cids, NOW, &x->to_server), TGB_ERR_STATE);
        tgb_handshake_result r;
        CHECK_EQ(tgb_handshake_result_get(x->c, &r), TGB_ERR_STATE);
    }
    return rc;
}

static int client_gets_obj(pair *x, const void *obj)
{
    tgb_buf b;
    tgb_buf_init(&b, 0);
    wrap_obj(&b, obj);
    int rc = client_gets(x, b.data, b.len);
    tgb_buf_free(&b);
    return rc;
}

/* The server's answer with byte `off` of it flipped. */
static int client_gets_flipped(pair *x, size_t off)
{
    x->to_client.data[off] ^= 0x01;
    return client_gets(x, x->to_client.data, x->to_client.len);
}

static void test_client_res_pq_checks(void)
{
    pair x;
    uint64_t seed = 800;
    /* resPQ: nonce (bytes 24..39 of the packet) */
    pair_upto(&x, seed++, 1);
    CHECK_EQ(client_gets_flipped(&x, 30), TGB_ERR_INTEGRITY);
    pair_free(&x);

    /* resPQ offering only keys we do not have */
    pair_upto(&x, seed++, 1);
    {
        tgb_arena a;
        tgb_arena_init(&a, NULL, 0, 0);
        tl_resPQ *res = (tl_resPQ *)unwrap_obj(&a, &x.to_client);
        int64_t fps[2] = {1, 2};
        res->server_public_key_fingerprints = (tl_vec_long){fps, 2};
        CHECK_EQ(client_gets_obj(&x, res), TGB_ERR_RSA_KEY);
        tgb_arena_free(&a);
    }
    pair_free(&x);

    /* pq that is no product of two primes, or too long, or empty */
    static const char *const bad_pq[] = {"\x00\x00\x00\x00\x00\x0f\x42\x43", /* 1000003, prime */
                                         "\x01\x02\x03\x04\x05\x06\x07\x08\x09", ""};
    static const size_t bad_pq_len[] = {8, 9, 0};
    for (int i = 0; i < 3; i++) {
        pair_upto(&x, seed++, 1);
        tgb_arena a;
        tgb_arena_init(&a, NULL, 0, 0);
        tl_resPQ *res = (tl_resPQ *)unwrap_obj(&a, &x.to_client);
        res->pq = (tgb_tl_string){bad_pq[i], bad_pq_len[i]};
        CHECK_EQ(client_gets_obj(&x, res), TGB_ERR_PQ);
        tgb_arena_free(&a);
        pair_free(&x);
    }

    /* A client with none of the server's keys. */
    pair_init(&x, seed++, 0, 2);
    x.cp.keys = (const tgb_rsa_key *const *)&prod_key;
    x.cp.nkeys = 1;
    tgb_handshake_del(x.c);
    CHECK_OK(tgb_handshake_new(&x.c, &x.cp));
    CHECK_EQ(pair_run(&x), TGB_ERR_RSA_KEY);
    pair_free(&x);
}

/* What a malicious server puts in server_DH_params_ok. */
typedef struct answer_opts {
    int g;                /* 0 = 3 */
    const uint8_t *prime; /* NULL = Telegram's */
    size_t prime_len;
    int g_a_kind; /* 0: 3^a; 1: 1; 2: p - 1; 3: 2^1983 */
    int bad_sha1, long_padding, inner_bad_nonce, inner_bad_server_nonce;
    int not_inner; /* another object in place of server_DH_inner_data */
    int odd_length;
} answer_opts;

/*
 * A server_DH_params_ok for the client of `x`, built here: the client's nonces come
 * from its req_DH_params and its new_nonce from its random source's second draw.
 */
static void forge_answer(pair *x, const answer_opts *o, tgb_buf *msg)
{
    const uint8_t *nonce = x->crng.draw[0], *new_nonce = x->crng.draw[1];
    uint8_t server_nonce[16];
    /* resPQ's server_nonce: the server's first draw */
    memcpy(server_nonce, x->srng.draw[0], 16);
    uint8_t a[256], g_a[256], g = (uint8_t)(o->g ? o->g : 3);
    const uint8_t *prime = o->prime ? o->prime : tgb_dh_telegram_prime;
    size_t prime_len = o->prime ? o->prime_len : 256;
    memset(a, 0x42, sizeof(a));
    CHECK_OK(tgb_dh_mod_exp(&g, 1, a, 256, tgb_dh_telegram_prime, 256, g_a));
    if (o->g_a_kind == 1) {
        memset(g_a, 0, 256);
        g_a[255] = 1;
    } else if (o->g_a_kind == 2) {
        memcpy(g_a, tgb_dh_telegram_prime, 256);
        g_a[255] -= 1;
    } else if (o->g_a_kind == 3) {
        memset(g_a, 0, 256);
        g_a[255 - 1983 / 8] = 1 << (1983 % 8);
    }
    tl_server_DH_inner_data in = {.base = {&tgb_tl_c_server_DH_inner_data},
                                  .g = o->g ? o->g : 3,
                                  .dh_prime = {(const char *)prime, prime_len},
                                  .g_a = {(const char *)g_a, 256},
                                  .server_time = (int32_t)(NOW / 1000000)};
    memcpy(in.nonce, nonce, 16);
    memcpy(in.server_nonce, server_nonce, 16);
    if (o->inner_bad_nonce)
        in.nonce[0] ^= 1;
    if (o->inner_bad_server_nonce)
        in.server_nonce[0] ^= 1;
    tgb_buf data;
    tgb_buf_init(&data, 0);
    if (o->not_inner) {
        tl_dh_gen_ok ok = {.base = {&tgb_tl_c_dh_gen_ok}};
        tgb_tl_encode_object(&data, &ok, NULL);
    } else if (tgb_tl_encode_object(&data, &in, NULL)) {
        abort();
    }
    uint8_t plain[1024], enc[1024], key[32], iv[32];
    tgb_sha1(data.data, data.len, plain);
    if (o->bad_sha1)
        plain[0] ^= 1;
    memcpy(plain + 20, data.data, data.len);
    size_t len = 20 + data.len;
    size_t pad = (16 - len % 16) % 16 + (o->long_padding ? 16 : 0);
    memset(plain + len, 0xab, pad);
    len += pad;
    tgb_buf_free(&data);
    tgb_tmp_aes_from_nonces(new_nonce, server_nonce, key, iv);
    CHECK_OK(tgb_aes_ige_encrypt(key, iv, plain, enc, len));
    tl_server_DH_params_ok ok = {
        .base = {&tgb_tl_c_server_DH_params_ok},
        .encrypted_answer = {(const char *)enc, len - (o->odd_length ? 4 : 0)}};
    memcpy(ok.nonce, nonce, 16);
    memcpy(ok.server_nonce, server_nonce, 16);
    wrap_obj(msg, &ok);
}

static int client_gets_answer(uint64_t seed, const answer_opts *o)
{
    pair x;
    pair_upto(&x, seed, 2);
    tgb_buf msg;
    tgb_buf_init(&msg, 0);
    forge_answer(&x, o, &msg);
    int rc = client_gets(&x, msg.data, msg.len);
    tgb_buf_free(&msg);
    pair_free(&x);
    return rc;
}

static void test_client_dh_checks(void)
{
    uint64_t seed = 900;
    pair x;
    /* The forger itself is right: an honest forged answer is accepted. */
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){0}), TGB_HANDSHAKE_CONTINUE);

    /* server_DH_params_ok: nonce at 24, server_nonce at 40, encrypted_answer from 60 */
    pair_upto(&x, seed++, 2);
    CHECK_EQ(client_gets_flipped(&x, 24), TGB_ERR_INTEGRITY);
    pair_free(&x);
    pair_upto(&x, seed++, 2);
    CHECK_EQ(client_gets_flipped(&x, 55), TGB_ERR_INTEGRITY);
    pair_free(&x);
    pair_upto(&x, seed++, 2);
    CHECK_EQ(client_gets_flipped(&x, 300), TGB_ERR_INTEGRITY);
    pair_free(&x);

    /* server_DH_params_fail */
    pair_upto(&x, seed++, 2);
    {
        tl_server_DH_params_fail f = {.base = {&tgb_tl_c_server_DH_params_fail}};
        memcpy(f.nonce, x.crng.draw[0], 16);
        memcpy(f.server_nonce, x.srng.draw[0], 16);
        CHECK_EQ(client_gets_obj(&x, &f), TGB_ERR_PROTOCOL);
    }
    pair_free(&x);

    /* The encrypted answer's hash, padding, nonces, type and length. */
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.bad_sha1 = 1}), TGB_ERR_INTEGRITY);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.long_padding = 1}), TGB_ERR_INTEGRITY);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.inner_bad_nonce = 1}), TGB_ERR_INTEGRITY);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.inner_bad_server_nonce = 1}),
             TGB_ERR_INTEGRITY);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.not_inner = 1}), TGB_ERR_INTEGRITY);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.odd_length = 1}), TGB_ERR_PROTOCOL);

    /* A bad prime or g (security_guidelines, "client checks"). */
    uint8_t composite[256];
    memcpy(composite, tgb_dh_telegram_prime, 256);
    composite[128] ^= 0x20;
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.prime = composite, .prime_len = 256}),
             TGB_ERR_DH_PARAMS);
    /* 1024 bits */
    CHECK_EQ(client_gets_answer(
                 seed++, &(answer_opts){.prime = tgb_dh_telegram_prime + 128, .prime_len = 128}),
             TGB_ERR_DH_PARAMS);
    /* g = 2 is no generator of the right subgroup for this prime (p mod 8 = 3) */
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.g = 2}), TGB_ERR_DH_PARAMS);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.g = 8}), TGB_ERR_DH_PARAMS);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.g = -3}), TGB_ERR_DH_PARAMS);
    /* g_a out of range */
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.g_a_kind = 1}), TGB_ERR_DH_PARAMS);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.g_a_kind = 2}), TGB_ERR_DH_PARAMS);
    CHECK_EQ(client_gets_answer(seed++, &(answer_opts){.g_a_kind = 3}), TGB_ERR_DH_PARAMS);
}

static void test_client_gen_checks(void)
{
    uint64_t seed = 1000;
    pair x;
    /* dh_gen_ok: new_nonce_hash1 is its last 16 bytes; nonces at 24 and 40 */
    pair_upto(&x, seed++, 3);
    CHECK_EQ(client_gets_flipped(&x, x.to_client.len - 1), TGB_ERR_INTEGRITY);
    pair_free(&x);
    pair_upto(&x, seed++, 3);
    CHECK_EQ(client_gets_flipped(&x, x.to_client.len - 16), TGB_ERR_INTEGRITY);
    pair_free(&x);
    pair_upto(&x, seed++, 3);
    CHECK_EQ(client_gets_flipped(&x, 25), TGB_ERR_INTEGRITY);
    pair_free(&x);
    pair_upto(&x, seed++, 3);
    CHECK_EQ(client_gets_flipped(&x, 41), TGB_ERR_INTEGRITY);
    pair_free(&x);

    /* dh_gen_retry with a hash the client cannot confirm; dh_gen_fail */
    for (int kind = 0; kind < 2; kind++) {
        pair_upto(&x, seed++, 3);
        tl_dh_gen_retry r = {.base = {&tgb_tl_c_dh_gen_retry}};
        tl_dh_gen_fail f = {.base = {&tgb_tl_c_dh_gen_fail}};
        memcpy(r.nonce, x.crng.draw[0], 16);
        memcpy(r.server_nonce, x.srng.draw[0], 16);
        memcpy(f.nonce, x.crng.draw[0], 16);
        memcpy(f.server_nonce, x.srng.draw[0], 16);
        memset(r.new_nonce_hash2, 0x77, 16);
        CHECK_EQ(client_gets_obj(&x, kind ? (const void *)&f : (const void *)&r),
                 kind ? TGB_ERR_PROTOCOL : TGB_ERR_INTEGRITY);
        pair_free(&x);
    }
}

/* Messages the client does not expect in each state, and no messages at all. */
static void test_client_unexpected(void)
{
    uint64_t seed = 1100;
    pair x;
    tl_dh_gen_ok gen = {.base = {&tgb_tl_c_dh_gen_ok}};
    /* before start */
    pair_init(&x, seed++, 0, 2);
    CHECK_EQ(tgb_handshake_recv(x.c, NULL, 0, &x.cids, NOW, &x.to_server), TGB_ERR_STATE);
    pair_free(&x);
    /* waiting for resPQ */
    pair_upto(&x, seed++, 1);
    CHECK_EQ(client_gets_obj(&x, &gen), TGB_ERR_PROTOCOL);
    pair_free(&x);
    /* waiting for server_DH_params: the resPQ again */
    pair_upto(&x, seed++, 1);
    {
        tgb_buf res;
        tgb_buf_init(&res, 0);
        tgb_buf_append(&res, x.to_client.data, x.to_client.len);
        CHECK_EQ(client_gets(&x, res.data, res.len), TGB_HANDSHAKE_CONTINUE);
        CHECK_EQ(client_gets(&x, res.data, res.len), TGB_ERR_PROTOCOL);
        tgb_buf_free(&res);
    }
    pair_free(&x);
    /* waiting for dh_gen: the server_DH_params_ok again */
    pair_upto(&x, seed++, 2);
    {
        tgb_buf ans;
        tgb_buf_init(&ans, 0);
        tgb_buf_append(&ans, x.to_client.data, x.to_client.len);
        CHECK_EQ(client_gets(&x, ans.data, ans.len), TGB_HANDSHAKE_CONTINUE);
        CHECK_EQ(client_gets(&x, ans.data, ans.len), TGB_ERR_PROTOCOL);
        tgb_buf_free(&ans);
    }
    pair_free(&x);
    /* no message: too short, key id not 0, no TL, trailing bytes, too long */
    static const size_t cut[] = {0, 10, 19, 24};
    for (int i = 0; i < 4; i++) {
        pair_upto(&x, seed++, 1);
        CHECK_EQ(client_gets(&x, x.to_client.data, cut[i]), TGB_ERR_PROTOCOL);
        pair_free(&x);
    }
    pair_upto(&x, seed++, 1);
    CHECK_EQ(client_gets_flipped(&x, 0), TGB_ERR_PROTOCOL);
    pair_free(&x);
    pair_upto(&x, seed++, 1);
    CHECK_EQ(client_gets_flipped(&x, 20), TGB_ERR_PROTOCOL);
    pair_free(&x);
    pair_upto(&x, seed++, 1);
    {
        tgb_put_le32(x.to_client.data + 16, tgb_le32(x.to_client.data + 16) + 4);
        uint8_t four[4] = {0};
        tgb_buf_append(&x.to_client, four, 4);
        CHECK_EQ(client_gets(&x, x.to_client.data, x.to_client.len), TGB_ERR_PROTOCOL);
    }
    pair_free(&x);
    pair_upto(&x, seed++, 1);
    {
        uint8_t big[2100] = {0};
        tgb_put_le32(big + 16, 2080);
        CHECK_EQ(client_gets(&x, big, sizeof(big)), TGB_ERR_PROTOCOL);
    }
    pair_free(&x);

    /* Arguments. */
    tgb_handshake *h = (tgb_handshake *)1;
    CHECK_EQ(tgb_handshake_new(&h, NULL), TGB_ERR_INVALID);
    CHECK(h == NULL);
    tgb_handshake_params p = {.dc_id = 2};
    CHECK_EQ(tgb_handshake_new(&h, &p), TGB_ERR_INVALID);
    const tgb_rsa_key *none[] = {NULL};
    p.keys = none;
    p.nkeys = 1;
    CHECK_EQ(tgb_handshake_new(&h, &p), TGB_ERR_INVALID);
    tgb_handshake_del(NULL);
}

/* The client's random source failing at each of its six draws. */
static void test_client_random_failure(void)
{
    for (int fail_at = 1; fail_at <= 6; fail_at++) {
        pair x;
        pair_init(&x, 1200, 0, 2);
        x.crng.fail_at = fail_at;
        CHECK_EQ(pair_run(&x), TGB_ERR_RANDOM);
        pair_free(&x);
    }
}

/* ------------------------------------------------------------------ 4. restart */

/* After an error, both sides start over on the same objects (Telethon's retry). */
static void test_restart(void)
{
    pair x;
    pair_upto(&x, 1300, 2);
    CHECK_EQ(client_gets_flipped(&x, 300), TGB_ERR_INTEGRITY);
    /* The server is still waiting for set_client_DH_params; req_pq_multi resets it. */
    CHECK_EQ(pair_run(&x), TGB_HANDSHAKE_DONE);
    check_agree(&x);

    /* A server that failed takes a new exchange too, and so does a finished client. */
    uint8_t junk[24] = {0};
    x.to_client.len = 0;
    CHECK_EQ(tgemu_auth_recv(x.s, junk, sizeof(junk), &x.sids, NOW, &x.to_client),
             TGB_ERR_PROTOCOL);
    tgb_handshake_result first;
    CHECK_OK(tgb_handshake_result_get(x.c, &first));
    CHECK_EQ(pair_run(&x), TGB_HANDSHAKE_DONE);
    check_agree(&x);
    tgb_handshake_result second;
    CHECK_OK(tgb_handshake_result_get(x.c, &second));
    CHECK(memcmp(first.auth_key, second.auth_key, 256) != 0);
    pair_free(&x);

    /* A client restarted in the middle of an exchange. */
    pair_upto(&x, 1301, 2);
    CHECK_EQ(pair_run(&x), TGB_HANDSHAKE_DONE);
    check_agree(&x);
    pair_free(&x);
}

int main(void)
{
    load_keys();
    RUN(test_official_example);
    RUN(test_client_server);
    RUN(test_temp_key);
    RUN(test_retry);
    RUN(test_server_forms);
    RUN(test_server_retry);
    RUN(test_server_checks);
    RUN(test_server_unexpected);
    RUN(test_server_random_failure);
    RUN(test_client_res_pq_checks);
    RUN(test_client_dh_checks);
    RUN(test_client_gen_checks);
    RUN(test_client_unexpected);
    RUN(test_client_random_failure);
    RUN(test_restart);
    tgb_rsa_key_del(server_key);
    tgb_rsa_key_del(server_pub);
    tgb_rsa_key_del(prod_key);
    return check_report();
}
