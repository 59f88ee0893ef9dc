/*
 * Tests for tl/: the generated descriptors against the .tl files, round trips of every
 * constructor and function, the known byte sequences of the official auth-key example,
 * hand-built objects through the generated structs, the JSON printer, and input that
 * is truncated, oversized, too deep or random.
 */
#include "check.h"
#include "tl/tl.h"
#include "tl/tl_api.h"
#include "tl/tl_layers.h"
#include "tl_synth.h"

#include <ctype.h>

#ifndef TGB_SOURCE_DIR
#error "TGB_SOURCE_DIR must name the source tree"
#endif
#define SCHEMA_DIR TGB_SOURCE_DIR "/libtgbotapi/tl/schema/"

static const tgb_tl_schema *api = &tgb_tl_schema_api;

/* ------------------------------------------------------------------ counts */

struct counts {
    int ctors, functions;
    uint32_t ids[4096];
    int nids;
    int duplicate_ids;
};

/*
 * Counts declarations in a .tl file the simple way, independently of tlgen: every
 * non-comment statement except the built-in ones, by section; and explicit ids that
 * appear twice (tdlib's preamble repeats four).
 */
static void count_file(const char *path, struct counts *n)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[65536];
    int functions = 0;
    while (fgets(line, sizeof(line), f)) {
        char *c = strstr(line, "//");
        if (c)
            *c = 0;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            continue;
        if (strncmp(p, "---functions---", 15) == 0) {
            functions = 1;
            continue;
        }
        if (strncmp(p, "---types---", 11) == 0) {
            functions = 0;
            continue;
        }
        char name[256];
        if (sscanf(p, "%255s", name) != 1)
            continue;
        char *hash = strchr(name, '#');
        if (hash)
            *hash = 0;
        static const char *const builtins[] = {"int",    "long",   "double", "string", "bytes",
                                               "int128", "int256", "vector", "Vector"};
        int builtin = strstr(p, " ? =") != NULL || strchr(p, '[') != NULL;
        for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
            builtin |= strcmp(name, builtins[i]) == 0;
        if (builtin)
            continue;
        if (hash) {
            uint32_t id = (uint32_t)strtoul(hash + 1, NULL, 16);
            for (int i = 0; i < n->nids; i++)
                if (n->ids[i] == id)
                    n->duplicate_ids++;
            if (n->nids < 4096)
                n->ids[n->nids++] = id;
        }
        if (functions)
            n->functions++;
        else
            n->ctors++;
    }
    fclose(f);
}

static void test_counts(void)
{
    struct counts n = {0};
    count_file(SCHEMA_DIR "telegram_api.tl", &n);
    /* the numbers ../shared/spec/README.md gives, less the built-in vector */
    CHECK_EQ(n.ctors, 1648);
    CHECK_EQ(n.functions, 813);
    CHECK_EQ(n.duplicate_ids, 4); /* the invokeWith...Prefix pseudo-functions */
    count_file(SCHEMA_DIR "mtproto_api.tl", &n);
    count_file(SCHEMA_DIR "mtproto_service.tl", &n);
    CHECK_EQ(api->nctors, n.ctors);
    CHECK_EQ(api->nfunctions, n.functions - n.duplicate_ids);
    CHECK_EQ(api->nctors, 1648 + 33 + 9);
    CHECK_EQ(api->nfunctions, 809 + 8 + 3);

    static const struct {
        const tgb_tl_schema *schema;
        const char *file;
        int layer;
    } layers[] = {{&tgb_tl_schema_layer144, "layers/layer144-telethon-1.25.1.tl", 144},
                  {&tgb_tl_schema_layer198, "layers/layer198-gramjs-2.26.22.tl", 198},
                  {&tgb_tl_schema_layer227, "layers/layer227-mtcute-0.30.3.tl", 227}};
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
        struct counts m = {0};
        char path[512];
        snprintf(path, sizeof(path), "%s%s", SCHEMA_DIR, layers[i].file);
        count_file(path, &m);
        CHECK_EQ(layers[i].schema->layer, layers[i].layer);
        CHECK_EQ(layers[i].schema->has_structs, 0);
        CHECK_EQ(layers[i].schema->nctors, m.ctors);
        CHECK_EQ(layers[i].schema->nfunctions, m.functions - m.duplicate_ids);
    }
    CHECK_EQ(TGB_TL_SCHEMA_LAYER, TGB_TL_LAYER);

    /* every descriptor is reachable by its id, and ids are unique */
    for (uint32_t i = 0; i < api->nctors; i++)
        CHECK(tgb_tl_find_id(api, api->ctors[i]->id) == api->ctors[i]);
    for (uint32_t i = 0; i < api->nfunctions; i++)
        CHECK(tgb_tl_find_id(api, api->functions[i]->id) == api->functions[i]);
    CHECK(tgb_tl_find_id(api, 0x12345678u) == NULL);
    /* the real declarations won over tdlib's preamble */
    const tgb_tl_combinator *c = tgb_tl_find_id(api, 0xdd289f8eu);
    CHECK(c && strcmp(c->name, "invokeWithBusinessConnection") == 0);
}

static void test_descriptors(void)
{
    const tgb_tl_combinator *c = &tgb_tl_c_inputPeerUser;
    CHECK_EQ(c->id, 0xdde8a54c);
    CHECK_STR(c->name, "inputPeerUser");
    CHECK(c->type == &tgb_tl_t_InputPeer);
    CHECK_EQ(c->nfields, 2);
    CHECK_STR(c->fields[1].name, "access_hash");
    CHECK_EQ(c->fields[1].offset, offsetof(tl_inputPeerUser, access_hash));
    CHECK_EQ(c->min_size, 16);
    CHECK_EQ(tgb_tl_t_InputPeer.nctors, 7);

    /* flags and flags2 */
    c = &tgb_tl_c_message;
    CHECK_STR(c->fields[0].name, "flags");
    CHECK_EQ(c->fields[0].kind, TGB_TL_FLAGS);
    const tgb_tl_field *out = NULL, *offline = NULL;
    for (int i = 0; i < c->nfields; i++) {
        if (strcmp(c->fields[i].name, "out") == 0)
            out = &c->fields[i];
        if (strcmp(c->fields[i].name, "offline") == 0)
            offline = &c->fields[i];
    }
    CHECK(out && out->kind == TGB_TL_TRUE && out->flag_bit == 1 &&
          strcmp(c->fields[out->flag_field].name, "flags") == 0);
    CHECK(offline && offline->flag_bit == 1 &&
          strcmp(c->fields[offline->flag_field].name, "flags2") == 0);

    /* generics: invokeWithLayer {X:Type} layer:int query:!X = X */
    c = &tgb_tl_c_invokeWithLayer;
    CHECK_EQ(c->id, 0xda9b0d0d);
    CHECK(c->is_function);
    CHECK_EQ(c->fields[1].kind, TGB_TL_ANY);
    CHECK_EQ(c->result->kind, TGB_TL_ANY);

    /* results: users.getUsers = Vector<User>; a Bool field; a bare vector of bare objects */
    CHECK_EQ(tgb_tl_c_users_getUsers.result->kind, TGB_TL_VECTOR);
    CHECK(tgb_tl_c_users_getUsers.result->elem->type == &tgb_tl_t_User);
    CHECK_EQ(tgb_tl_c_future_salts.fields[2].kind, TGB_TL_BARE_VECTOR);
    CHECK(tgb_tl_c_future_salts.fields[2].type->elem->ctor == &tgb_tl_c_future_salt);
    CHECK_EQ(tgb_tl_c_msg_container.fields[0].type->elem->kind, TGB_TL_BARE);
    CHECK(tgb_tl_c_msg_container.fields[0].type->elem->ctor == &tgb_tl_c_mt_message);
    CHECK_EQ(tgb_tl_c_rpc_result.id, 0xf35c6d01);

    /* C keywords are renamed in C, kept in the descriptor */
    CHECK(tgb_tl_find_name(api, "messages.getMessages") != NULL);
    CHECK(tgb_tl_find_type(api, "messages.Messages") != NULL);

    /* ids without a '#' are CRC32s of the declaration */
    const tgb_tl_combinator *rsa = tgb_tl_find_name(api, "rsa_public_key");
    CHECK(rsa != NULL);

    /* older layers: descriptor tables with the layer's own ids */
    c = tgb_tl_find_name(&tgb_tl_schema_layer227, "user");
    CHECK(c && c->id == 0x31774388);
    CHECK(tgb_tl_find_name(api, "user")->id == 0xb1b8cc83);
    c = tgb_tl_find_name(&tgb_tl_schema_layer227, "stories.readStories");
    CHECK(c && c->result->kind == TGB_TL_VECTOR); /* repaired from its id by tlgen */
    c = tgb_tl_find_name(&tgb_tl_schema_layer144, "help.getNearestDc");
    CHECK(c && c->id == 0x1fb33026);
}

/* ------------------------------------------------------------------ round trips */

static int roundtrip_failures;

/* encode -> decode -> encode: equal bytes and equal JSON, all bytes consumed. */
static void roundtrip(const tgb_tl_combinator *c, int all_on, uint32_t seed)
{
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    synth s = {&arena, seed, all_on, 3};
    void *obj = synth_object(&s, c, 0);
    tgb_buf b1, b2, j1, j2;
    tgb_buf_init(&b1, 0);
    tgb_buf_init(&b2, 0);
    tgb_buf_init(&j1, 0);
    tgb_buf_init(&j2, 0);
    tgb_tl_error err = {0};
    int ok = tgb_tl_encode_object(&b1, obj, &err) == 0;
    tl_object *back = NULL;
    size_t used = 0;
    ok = ok && tgb_tl_decode_object(api, &arena, c->is_function ? NULL : c->type, b1.data, b1.len,
                                    &back, &used, &err) == 0;
    ok = ok && used == b1.len && back && back->desc == c;
    ok = ok && tgb_tl_encode_object(&b2, back, &err) == 0;
    ok = ok && b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0;
    ok = ok && tgb_tl_print_object(&j1, obj) == 0 && tgb_tl_print_object(&j2, back) == 0;
    ok = ok && j1.len == j2.len && memcmp(j1.data, j2.data, j1.len) == 0;
    if (!ok && roundtrip_failures++ < 10)
        fprintf(stderr, "round trip of %s (all_on=%d) failed: %s\n", c->name, all_on, err.message);
    CHECK(ok);
    tgb_buf_free(&b1);
    tgb_buf_free(&b2);
    tgb_buf_free(&j1);
    tgb_buf_free(&j2);
    tgb_arena_free(&arena);
}

static void test_roundtrip_every_combinator(void)
{
    for (int all_on = 0; all_on <= 1; all_on++) {
        for (uint32_t i = 0; i < api->nctors; i++)
            roundtrip(api->ctors[i], all_on, 0x9e3779b9u + i);
        for (uint32_t i = 0; i < api->nfunctions; i++)
            roundtrip(api->functions[i], all_on, 0x7f4a7c15u + i);
    }
}

/* ------------------------------------------------------------------ known bytes */

/*
 * TL bodies from the official auth-key example (../shared/spec/mtproto-vectors.md A.2,
 * A.3): each message without its 20-byte unencrypted header.
 */
static const char req_pq_multi_hex[] = "F18E7EBE406709F612FADFBEC3F0289D0AA67EEF";
static const char res_pq_hex[] =
    "63241605406709F612FADFBEC3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF01994308256595EDB77667"
    "9700000015C4B51C03000000A5B7F709355FC30B216BE86C022BB4C385FD64DE851D9DD0";
static const char req_dh_params_hex[] =
    "BEE412D7406709F612FADFBEC3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF019943045A300D4B000000"
    "046A26DB6500000085FD64DE851D9DD0FE000100B80632B3F0D1AB28EFAE2CF974C4A2D51A77FCB6DEFD415E"
    "1EC284CAB2B5F88D5C4C5B19AFF5E940CE14CCB6A7F340EC88DF7C1F091FB6F7323B047C02DC63212D0DEBE4"
    "B3B7A0310E26DB1289CBA24112DF37506C90DEAB797623E4AFF4643D2A921891346BC176C4E1CCE14F64FA59"
    "526DD021EFFA428E8F8ACEEB96DBD4729E99BBB26DDDC744D584B732415DFFE20418953F4EAFC81DADE5C660"
    "6A1E7FAA3EDB90F36ECF405422C97C360CC31A444B1EEB6C33D62C5802165C72BBC85D1ADBCCD17988DE7F43"
    "DA0F340502744B52B196A78EF1ED1372C6EA1232603FDB9C28F7F8783F29098FFD0FE9B066C460ECBA0A2962"
    "B82398C1B32D3DCB3BC3A59E";
static const char dh_gen_ok_hex[] =
    "34F7CB3B406709F612FADFBEC3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF0199431142871352165E59"
    "E1124036B48B97D3";
static const char p_q_inner_data_dc_hex[] =
    "955FF5A908256595EDB7766797000000045A300D4B000000046A26DB65000000406709F612FADFBEC3F0289D"
    "0AA67EEFE11DBC3BC97D91A26154F932AF019943A8BBC849512DAC6C67B6EFD9157D6CA7377A1776307D8426"
    "5C6BE9BDCF802AC102000000";
/* answer_with_hash from A.3 without its SHA1 (20 bytes) and padding (8 bytes) */
static const char server_dh_inner_data_hex[] =
    "BA0D89B5406709F612FADFBEC3F0289D0AA67EEFE11DBC3BC97D91A26154F932AF01994303000000FE000100"
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D2"
    "2530F4DBFA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC97465129693284"
    "54F18FAF8C595F642477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A69581"
    "1051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D"
    "169C6BC465B0D6FF9CA3928FEF5B9AE4E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850C"
    "E929851F0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5BFE0001000A77200B"
    "DFF6E6C4C126A2C41DF310AB3A3BDBD698CD480749E1F3C64FB1CFC9DFC70AC6F1AA671019620A640055B2CF"
    "7D7D99CC86533645C0FA000954DE2987BAD68D7450CF134C9F0305F34C1BB285DA8233F65970A01C4BD3AFD5"
    "EA3CD5864B8F1DCB35D5E9737DF15063C54CF53048EF519A280498DDDAF23764F29FFB0C5813CAAD90C319BE"
    "8592B78C4BE815E65ADA7C62EA23754B5A2C5A86C4721872D0CC48E0F895C3EBE186E81E5F0E88A6B3F09101"
    "C409AF3410B64238FBF2A2095E3F3B7FFC7EB3A02A319B99A155647BC59958BCDFED8A1CC6EB7F13F8600E52"
    "1D9D0247B0F639F2FA3B09F72987781F71C0E8AA950167DE5092380B4853E7F1513DC565";

/* Decodes `hex` as a boxed object, checks it re-encodes to the same bytes. */
static tl_object *decode_exact(tgb_arena *arena, const char *hex, const tgb_tl_combinator *want)
{
    size_t n;
    uint8_t *bytes = check_unhex(hex, &n);
    tl_object *o = NULL;
    tgb_tl_error err = {0};
    int rc = tgb_tl_decode_object(api, arena, NULL, bytes, n, &o, NULL, &err);
    CHECK_OK(rc);
    if (rc)
        fprintf(stderr, "  %s\n", err.message);
    CHECK(o && o->desc == want);
    if (o) {
        tgb_buf b;
        tgb_buf_init(&b, 0);
        CHECK_OK(tgb_tl_encode_object(&b, o, NULL));
        CHECK_EQ(b.len, n);
        if (b.len == n)
            CHECK_MEM(b.data, bytes, n);
        tgb_buf_free(&b);
    }
    free(bytes);
    return o;
}

static void test_auth_key_example(void)
{
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    uint8_t nonce[16], server_nonce[16];
    size_t n;
    uint8_t *tmp = check_unhex("406709F612FADFBEC3F0289D0AA67EEF", &n);
    memcpy(nonce, tmp, 16);
    free(tmp);
    tmp = check_unhex("E11DBC3BC97D91A26154F932AF019943", &n);
    memcpy(server_nonce, tmp, 16);
    free(tmp);

    tl_req_pq_multi *req =
        (tl_req_pq_multi *)decode_exact(&arena, req_pq_multi_hex, &tgb_tl_c_req_pq_multi);
    if (req)
        CHECK_MEM(req->nonce, nonce, 16);

    tl_resPQ *res = (tl_resPQ *)decode_exact(&arena, res_pq_hex, &tgb_tl_c_resPQ);
    if (res) {
        CHECK_MEM(res->server_nonce, server_nonce, 16);
        CHECK_EQ(res->pq.len, 8);
        CHECK_MEM(res->pq.data, "\x25\x65\x95\xED\xB7\x76\x67\x97", 8);
        CHECK_EQ(res->server_public_key_fingerprints.count, 3);
        if (res->server_public_key_fingerprints.count == 3)
            CHECK(res->server_public_key_fingerprints.items[2] == (int64_t)0xd09d1d85de64fd85ull);
    }

    tl_req_DH_params *dh =
        (tl_req_DH_params *)decode_exact(&arena, req_dh_params_hex, &tgb_tl_c_req_DH_params);
    if (dh) {
        CHECK_MEM(dh->p.data, "\x5A\x30\x0D\x4B", 4);
        CHECK_MEM(dh->q.data, "\x6A\x26\xDB\x65", 4);
        CHECK(dh->public_key_fingerprint == (int64_t)0xd09d1d85de64fd85ull);
        CHECK_EQ(dh->encrypted_data.len, 256); /* 254-prefixed long string */
    }

    tl_dh_gen_ok *ok = (tl_dh_gen_ok *)decode_exact(&arena, dh_gen_ok_hex, &tgb_tl_c_dh_gen_ok);
    if (ok)
        CHECK_MEM(ok->new_nonce_hash1,
                  "\x11\x42\x87\x13\x52\x16\x5E\x59\xE1\x12\x40\x36\xB4\x8B\x97\xD3", 16);

    tl_p_q_inner_data_dc *inner = (tl_p_q_inner_data_dc *)decode_exact(
        &arena, p_q_inner_data_dc_hex, &tgb_tl_c_p_q_inner_data_dc);
    if (inner)
        CHECK_EQ(inner->dc, 2);

    tl_server_DH_inner_data *sdh = (tl_server_DH_inner_data *)decode_exact(
        &arena, server_dh_inner_data_hex, &tgb_tl_c_server_DH_inner_data);
    if (sdh) {
        CHECK_EQ(sdh->g, 3);
        CHECK_EQ(sdh->dh_prime.len, 256);
        CHECK_EQ(sdh->g_a.len, 256);
        CHECK_EQ(sdh->server_time, 1707425105);
        CHECK_EQ((uint8_t)sdh->dh_prime.data[0], 0xC7);
    }

    /* the same request built by hand through the generated struct */
    tl_req_pq_multi mine = {{&tgb_tl_c_req_pq_multi}, {0}};
    memcpy(mine.nonce, nonce, 16);
    tgb_buf b;
    tgb_buf_init(&b, 0);
    CHECK_OK(tgb_tl_encode_object(&b, &mine, NULL));
    tmp = check_unhex(req_pq_multi_hex, &n);
    CHECK_EQ(b.len, n);
    CHECK_MEM(b.data, tmp, n);
    free(tmp);
    tgb_buf_free(&b);
    tgb_arena_free(&arena);
}

/* ------------------------------------------------------------------ hand-built objects */

static void test_build_send_message(void)
{
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tl_inputPeerUser *peer = TL_NEW(&arena, inputPeerUser);
    peer->user_id = 777;
    peer->access_hash = -2;
    tl_messages_sendMessage *m = TL_NEW(&arena, messages_sendMessage);
    m->peer = &peer->base;
    m->message = TL_STR("hi");
    m->random_id = 0x0102030405060708;
    TL_SET(messages_sendMessage, silent, m);
    CHECK(TL_HAS(messages_sendMessage, silent, m));
    CHECK(!TL_HAS(messages_sendMessage, noforwards, m));
    CHECK(TL_AS(inputPeerUser, m->peer) == peer);
    CHECK(TL_AS(inputPeerSelf, m->peer) == NULL);

    tgb_buf b;
    tgb_buf_init(&b, 0);
    CHECK_OK(tgb_tl_encode_object(&b, m, NULL));
    /* messages.sendMessage#fef48f62 flags(silent = bit 5) peer message random_id */
    static const uint8_t expect[] = {0x62, 0x8f, 0xf4, 0xfe, 0x20, 0x00, 0x00, 0x00, 0x4c, 0xa5,
                                     0xe8, 0xdd, 0x09, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                     0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x68,
                                     0x69, 0x00, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    CHECK_EQ(TL_ID_messages_sendMessage, 0xfef48f62);
    CHECK_EQ(b.len, sizeof(expect));
    if (b.len == sizeof(expect))
        CHECK_MEM(b.data, expect, sizeof(expect));

    char *json = tgb_tl_to_json(m);
    CHECK_STR(json, "{\"_\":\"messages.sendMessage\",\"flags\":32,\"silent\":true,"
                    "\"peer\":{\"_\":\"inputPeerUser\",\"user_id\":777,\"access_hash\":-2},"
                    "\"message\":\"hi\",\"random_id\":72623859790382856}");
    free(json);

    /* a flag set on a NULL object is an error, not a crash */
    tgb_buf_free(&b);
    TL_SET(messages_sendMessage, reply_to, m);
    tgb_tl_error err = {0};
    CHECK_EQ(tgb_tl_encode_object(&b, m, &err), TGB_ERR_TL_MISSING);
    CHECK(strstr(err.message, "messages.sendMessage.reply_to") != NULL);
    TL_CLEAR(messages_sendMessage, reply_to, m);
    m->peer = NULL;
    CHECK_EQ(tgb_tl_encode_object(&b, m, &err), TGB_ERR_TL_MISSING);
    /* a constructor of the wrong type, smuggled in with a cast */
    m->peer = (tl_InputPeer *)(void *)TL_NEW(&arena, inputUserSelf);
    CHECK_EQ(tgb_tl_encode_object(&b, m, &err), TGB_ERR_TL_WRONG_TYPE);
    tgb_buf_free(&b);

    /* Bool results, vectors as values */
    bool yes = true;
    tgb_buf_init(&b, 0);
    const tgb_tl_typeref *bool_result = tgb_tl_c_messages_setTyping.result;
    CHECK_EQ(bool_result->kind, TGB_TL_BOOL);
    CHECK_OK(tgb_tl_encode(&b, bool_result, &yes, NULL));
    CHECK_MEM(b.data, "\xb5\x75\x72\x99", 4);
    bool back = false;
    CHECK_OK(tgb_tl_decode(api, &arena, bool_result, b.data, b.len, &back, NULL, NULL));
    CHECK(back == true);
    tgb_buf_free(&b);

    int32_t ids[] = {1, 2, 3};
    tl_vec_int v = {ids, 3};
    const tgb_tl_typeref *vec = tgb_tl_c_stories_readStories.result; /* Vector<int> */
    tgb_buf_init(&b, 0);
    CHECK_OK(tgb_tl_encode(&b, vec, &v, NULL));
    CHECK_MEM(b.data, "\x15\xc4\xb5\x1c\x03\x00\x00\x00\x01\x00\x00\x00\x02", 13);
    tl_vec_int w = {0};
    CHECK_OK(tgb_tl_decode(api, &arena, vec, b.data, b.len, &w, NULL, NULL));
    CHECK(w.count == 3 && w.items[2] == 3);
    tgb_buf_free(&b);
    tgb_arena_free(&arena);
}

static void test_strings_and_printer(void)
{
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    /* long strings use the 254 prefix; lengths 253 and 254 straddle it */
    for (size_t len = 250; len <= 258; len++) {
        char *text = tgb_arena_alloc(&arena, len);
        memset(text, 'x', len);
        tl_error *e = TL_NEW(&arena, error);
        e->code = 420;
        e->text = (tgb_tl_string){text, len};
        tgb_buf b;
        tgb_buf_init(&b, 0);
        CHECK_OK(tgb_tl_encode_object(&b, e, NULL));
        size_t header = len < 254 ? 1 : 4;
        CHECK_EQ(b.len, 8 + ((header + len + 3) & ~(size_t)3));
        CHECK_EQ(b.data[8], len < 254 ? len : 254);
        tl_object *o = NULL;
        CHECK_OK(tgb_tl_decode_object(api, &arena, &tgb_tl_t_Error, b.data, b.len, &o, NULL, NULL));
        tl_error *back = (tl_error *)o;
        CHECK(back && back->text.len == len && back->text.data[len] == 0);
        tgb_buf_free(&b);
    }
    /* escaping: quotes, control characters, UTF-8 kept, invalid bytes shown */
    tl_error *e = TL_NEW(&arena, error);
    e->text = TL_STR("a\"b\\c\n\x01 \xd0\xbf\xff");
    char *json = tgb_tl_to_json(e);
    CHECK_STR(json, "{\"_\":\"error\",\"code\":0,\"text\":\"a\\\"b\\\\c\\u000a\\u0001 "
                    "\xd0\xbf\\u00ff\"}");
    free(json);
    tgb_arena_free(&arena);
}

/* ------------------------------------------------------------------ hostile input */

static void test_truncated(void)
{
    const char *vectors[] = {res_pq_hex, req_dh_params_hex, server_dh_inner_data_hex};
    for (size_t v = 0; v < 3; v++) {
        size_t n;
        uint8_t *bytes = check_unhex(vectors[v], &n);
        for (size_t cut = 0; cut < n; cut++) {
            tgb_arena arena;
            tgb_arena_init(&arena, NULL, 0, 0);
            tl_object *o = (tl_object *)1;
            tgb_tl_error err = {0};
            int rc = tgb_tl_decode_object(api, &arena, NULL, bytes, cut, &o, NULL, &err);
            CHECK_EQ(rc, TGB_ERR_TL_TRUNCATED);
            CHECK(err.code == rc && strstr(err.message, "truncated") != NULL);
            tgb_arena_free(&arena);
        }
        /* and one extra byte is trailing garbage unless the caller asks how much was used */
        uint8_t *longer = malloc(n + 1);
        memcpy(longer, bytes, n);
        longer[n] = 0;
        tgb_arena arena;
        tgb_arena_init(&arena, NULL, 0, 0);
        tl_object *o;
        size_t used = 0;
        CHECK_EQ(tgb_tl_decode_object(api, &arena, NULL, longer, n + 1, &o, NULL, NULL),
                 TGB_ERR_TL_TRAILING);
        CHECK_OK(tgb_tl_decode_object(api, &arena, NULL, longer, n + 1, &o, &used, NULL));
        CHECK_EQ(used, n);
        tgb_arena_free(&arena);
        free(longer);
        free(bytes);
    }
}

static void test_oversized(void)
{
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tgb_tl_error err;
    tl_object *o;
    /* msgs_ack with a vector claiming 2^31 longs in 8 bytes: refused before allocation */
    uint8_t ack[] = {0x59, 0xb4, 0xd6, 0x62, 0x15, 0xc4, 0xb5, 0x1c, 0xff, 0xff,
                     0xff, 0x7f, 1,    2,    3,    4,    5,    6,    7,    8};
    CHECK_EQ(tgb_tl_decode_object(api, &arena, NULL, ack, sizeof(ack), &o, NULL, &err),
             TGB_ERR_TL_TRUNCATED);
    CHECK(strstr(err.message, "a vector of 2147483647") != NULL);
    CHECK(arena.allocated <= 64);
    /* the same vector, honest: one long */
    ack[8] = 1, ack[9] = ack[10] = ack[11] = 0;
    CHECK_OK(tgb_tl_decode_object(api, &arena, NULL, ack, sizeof(ack), &o, NULL, &err));
    CHECK_EQ(((tl_msgs_ack *)o)->msg_ids.count, 1);

    /* a string claiming 16 MiB in a few bytes */
    uint8_t err_obj[] = {0xbb, 0xf9, 0xb9, 0xc4, 1, 0, 0, 0, 254, 0xff, 0xff, 0xff, 'a', 0, 0, 0};
    size_t before = arena.allocated;
    CHECK_EQ(tgb_tl_decode_object(api, &arena, NULL, err_obj, sizeof(err_obj), &o, NULL, &err),
             TGB_ERR_TL_TRUNCATED);
    CHECK(arena.allocated - before <= 64);
    /* length byte 255 is not a string */
    err_obj[8] = 255;
    CHECK_EQ(tgb_tl_decode_object(api, &arena, NULL, err_obj, sizeof(err_obj), &o, NULL, &err),
             TGB_ERR_TL_BAD_STRING);

    /* the arena cap turns a legal but huge decode into TGB_ERR_TL_TOO_LARGE */
    tgb_arena small;
    tgb_arena_init(&small, NULL, 0, 256);
    size_t n = 8 + 8 * 100;
    uint8_t *many = calloc(1, 4 + n);
    memcpy(many, ack, 8);
    tgb_put_le32(many + 8, 100);
    CHECK_EQ(tgb_tl_decode_object(api, &small, NULL, many, 12 + 800, &o, NULL, &err),
             TGB_ERR_TL_TOO_LARGE);
    free(many);
    tgb_arena_free(&small);

    /* wrong types and unknown ids */
    uint8_t peer[] = {0x15, 0xc4, 0xb5, 0x1c, 0, 0, 0, 0};
    CHECK_EQ(
        tgb_tl_decode_object(api, &arena, &tgb_tl_t_InputPeer, peer, sizeof(peer), &o, NULL, &err),
        TGB_ERR_TL_UNKNOWN_ID);
    CHECK_EQ(tgb_tl_decode_object(api, &arena, NULL, peer, sizeof(peer), &o, NULL, &err),
             TGB_ERR_TL_UNKNOWN_ID);
    CHECK(strstr(err.message, "element type") != NULL);
    uint8_t self[] = {0xc9, 0x7e, 0xa0, 0x7d}; /* inputPeerSelf */
    CHECK_OK(tgb_tl_decode_object(api, &arena, &tgb_tl_t_InputPeer, self, 4, &o, NULL, &err));
    CHECK_EQ(tgb_tl_decode_object(api, &arena, &tgb_tl_t_User, self, 4, &o, NULL, &err),
             TGB_ERR_TL_WRONG_TYPE);
    CHECK(strstr(err.message, "inputPeerSelf") != NULL);
    bool b;
    CHECK_EQ(
        tgb_tl_decode(api, &arena, tgb_tl_c_messages_setTyping.result, self, 4, &b, NULL, &err),
        TGB_ERR_TL_BAD_VALUE);
    tgb_arena_free(&arena);
}

static void test_too_deep(void)
{
    /* textBold#6724abc4 text:RichText, nested 100 times around textEmpty#dc3d824f */
    enum { DEPTH = 100 };
    uint8_t bytes[4 * DEPTH + 4];
    for (int i = 0; i < DEPTH; i++)
        tgb_put_le32(bytes + 4 * i, 0x6724abc4u);
    tgb_put_le32(bytes + 4 * DEPTH, 0xdc3d824fu);
    tgb_arena arena;
    tgb_arena_init(&arena, NULL, 0, 0);
    tl_object *o;
    tgb_tl_error err;
    CHECK_EQ(
        tgb_tl_decode_object(api, &arena, &tgb_tl_t_RichText, bytes, sizeof(bytes), &o, NULL, &err),
        TGB_ERR_TL_TOO_DEEP);
    /* nested as deep as allowed: fine, and it encodes back */
    size_t off = 4 * (DEPTH - (TGB_TL_MAX_DEPTH - 1));
    CHECK_OK(tgb_tl_decode_object(api, &arena, &tgb_tl_t_RichText, bytes + off, sizeof(bytes) - off,
                                  &o, NULL, &err));
    tgb_buf b;
    tgb_buf_init(&b, 0);
    CHECK_OK(tgb_tl_encode_object(&b, o, NULL));
    CHECK_EQ(b.len, sizeof(bytes) - off);
    tgb_buf_free(&b);
    tgb_arena_free(&arena);
}

/* Random bytes, and random mutations of valid encodings: errors, never crashes; what
 * decodes re-encodes to a decodable equal. */
static void test_random_input(void)
{
    uint32_t seed = 12345;
    synth s;
    tgb_arena arena;
    int decoded = 0;
    for (int iter = 0; iter < 20000; iter++) {
        tgb_arena_init(&arena, NULL, 0, 1 << 20);
        s = (synth){&arena, seed + (uint32_t)iter, iter & 1, 2};
        tgb_buf b;
        tgb_buf_init(&b, 0);
        if (iter % 4 == 0) {
            size_t n = synth_next(&s) % 64;
            for (size_t i = 0; i < n; i++) {
                uint8_t byte = (uint8_t)synth_next(&s);
                tgb_buf_append(&b, &byte, 1);
            }
            if (n >= 4 && (iter & 8)) /* start with a real id half the time */
                tgb_put_le32(b.data, api->ctors[synth_next(&s) % api->nctors]->id);
        } else {
            const tgb_tl_combinator *c = api->ctors[synth_next(&s) % api->nctors];
            tgb_tl_encode_object(&b, synth_object(&s, c, 0), NULL);
            for (int k = 0; k < 3 && b.len; k++)
                b.data[synth_next(&s) % b.len] ^= (uint8_t)(1u << (synth_next(&s) % 8));
            if (iter % 3 == 0 && b.len)
                b.len = synth_next(&s) % b.len;
        }
        tl_object *o = NULL;
        tgb_tl_error err = {0};
        int rc = tgb_tl_decode_object(api, &arena, NULL, b.data, b.len, &o, NULL, &err);
        if (rc == 0) {
            decoded++;
            tgb_buf again;
            tgb_buf_init(&again, 0);
            CHECK_OK(tgb_tl_encode_object(&again, o, NULL));
            tl_object *o2 = NULL;
            CHECK_OK(
                tgb_tl_decode_object(api, &arena, NULL, again.data, again.len, &o2, NULL, NULL));
            char *j1 = tgb_tl_to_json(o), *j2 = tgb_tl_to_json(o2);
            CHECK_STR(j1, j2);
            free(j1);
            free(j2);
            tgb_buf_free(&again);
        } else {
            CHECK(err.code == rc && err.message[0] != 0);
            CHECK(rc == TGB_ERR_TL_TRUNCATED || rc == TGB_ERR_TL_UNKNOWN_ID ||
                  rc == TGB_ERR_TL_WRONG_TYPE || rc == TGB_ERR_TL_BAD_STRING ||
                  rc == TGB_ERR_TL_BAD_VALUE || rc == TGB_ERR_TL_TRAILING ||
                  rc == TGB_ERR_TL_TOO_LARGE || rc == TGB_ERR_TL_TOO_DEEP);
        }
        tgb_buf_free(&b);
        tgb_arena_free(&arena);
    }
    CHECK(decoded > 100); /* the mutations leave some valid objects */
}

int main(void)
{
    RUN(test_counts);
    RUN(test_descriptors);
    RUN(test_roundtrip_every_combinator);
    RUN(test_auth_key_example);
    RUN(test_build_send_message);
    RUN(test_strings_and_printer);
    RUN(test_truncated);
    RUN(test_oversized);
    RUN(test_too_deep);
    RUN(test_random_input);
    return check_report();
}
