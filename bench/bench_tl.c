/*
 * TL codec throughput: encode and decode of a messages.sendMessage call and of an
 * updates.updates carrying 100 messages (with their users and chats), as a bot's
 * session receives them. Prints MB/s (of TL bytes) and objects/s; not a test.
 *
 *   bench_tl [seconds-per-case]   (default 1)
 */
#include "tl/tl.h"
#include "tl/tl_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tgb_tl_string text_of(tgb_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = tgb_arena_alloc(a, n + 1);
    memcpy(p, s, n + 1);
    return (tgb_tl_string){p, n};
}

static tl_Peer *peer_user(tgb_arena *a, int64_t id)
{
    tl_peerUser *p = TL_NEW(a, peerUser);
    p->user_id = id;
    return &p->base;
}

/* A message like those a bot gets in a group: text, a sender, one or two entities. */
static tl_Message *make_message(tgb_arena *a, int i)
{
    static const char *const texts[] = {
        "/start",
        "Hello bot, what's the weather in Amsterdam tomorrow?",
        "Please remind me about the meeting at 15:00 with the design team and the client",
        "👍 thanks!",
    };
    tl_message *m = TL_NEW(a, message);
    m->id = 1000 + i;
    m->from_id = peer_user(a, 100000 + i % 10);
    TL_SET(message, from_id, m);
    tl_peerChannel *chan = TL_NEW(a, peerChannel);
    chan->channel_id = 1234567890;
    m->peer_id = &chan->base;
    m->date = 1764000000 + i;
    m->message = text_of(a, texts[i % 4]);
    tl_messageEntityBold *bold = TL_NEW(a, messageEntityBold);
    bold->offset = 0;
    bold->length = 5;
    tl_MessageEntity **ents = tgb_arena_alloc(a, 2 * sizeof(*ents));
    ents[0] = &bold->base;
    ents[1] = &bold->base;
    m->entities = (tl_vec_MessageEntity){ents, 1 + (uint32_t)(i & 1)};
    TL_SET(message, entities, m);
    return &m->base;
}

static tl_User *make_user(tgb_arena *a, int i)
{
    tl_user *u = TL_NEW(a, user);
    u->id = 100000 + i;
    u->access_hash = 0x1234567890abcdefLL + i;
    u->first_name = text_of(a, "Alice");
    u->last_name = text_of(a, "Example");
    u->username = text_of(a, "alice_example");
    TL_SET(user, access_hash, u);
    TL_SET(user, first_name, u);
    TL_SET(user, last_name, u);
    TL_SET(user, username, u);
    return &u->base;
}

static tl_Updates *make_updates(tgb_arena *a, int nmessages)
{
    tl_updates *up = TL_NEW(a, updates);
    tl_Update **items = tgb_arena_alloc(a, (size_t)nmessages * sizeof(*items));
    for (int i = 0; i < nmessages; i++) {
        tl_updateNewChannelMessage *u = TL_NEW(a, updateNewChannelMessage);
        u->message = make_message(a, i);
        u->pts = 5000 + i;
        u->pts_count = 1;
        items[i] = &u->base;
    }
    up->updates = (tl_vec_Update){items, (uint32_t)nmessages};
    tl_User **users = tgb_arena_alloc(a, 10 * sizeof(*users));
    for (int i = 0; i < 10; i++)
        users[i] = make_user(a, i);
    up->users = (tl_vec_User){users, 10};
    tl_channel *ch = TL_NEW(a, channel);
    ch->id = 1234567890;
    ch->access_hash = 42;
    TL_SET(channel, access_hash, ch);
    TL_SET(channel, megagroup, ch);
    ch->title = text_of(a, "Bot testers");
    tl_chatPhotoEmpty *photo = TL_NEW(a, chatPhotoEmpty);
    ch->photo = &photo->base;
    tl_Chat **chats = tgb_arena_alloc(a, sizeof(*chats));
    chats[0] = &ch->base;
    up->chats = (tl_vec_Chat){chats, 1};
    up->date = 1764000000;
    up->seq = 0;
    return &up->base;
}

static tl_object *make_send_message(tgb_arena *a)
{
    tl_inputPeerUser *peer = TL_NEW(a, inputPeerUser);
    peer->user_id = 100001;
    peer->access_hash = 0x1234567890abcdefLL;
    tl_messages_sendMessage *m = TL_NEW(a, messages_sendMessage);
    m->peer = &peer->base;
    m->message = text_of(a, "It will be sunny in Amsterdam tomorrow, 21°C.");
    m->random_id = 0x0102030405060708LL;
    return (tl_object *)(void *)m;
}

/* Counts objects in an encoding: one per constructor in its JSON rendering. */
static size_t count_objects(const void *obj)
{
    char *json = tgb_tl_to_json(obj);
    size_t n = 0;
    for (const char *p = json; (p = strstr(p, "{\"_\":")); p++)
        n++;
    free(json);
    return n;
}

static void bench(const char *name, const void *obj, double seconds)
{
    tgb_buf b;
    tgb_buf_init(&b, 0);
    if (tgb_tl_encode_object(&b, obj, NULL) != 0) {
        fprintf(stderr, "%s: encode failed\n", name);
        exit(1);
    }
    size_t bytes = b.len, objects = count_objects(obj);

    /* encode: into a buffer reused across iterations, as a session would */
    long iters = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 100; k++) {
            b.len = 0;
            tgb_tl_encode_object(&b, obj, NULL);
        }
        iters += 100;
        t = now() - t0;
    } while (t < seconds);
    double enc_mbs = (double)bytes * (double)iters / t / 1e6;
    double enc_ops = (double)objects * (double)iters / t;

    /* decode: a fresh arena each time (with a 64 KiB first block), freed in one call */
    static char first_block[65536];
    iters = 0;
    t0 = now();
    do {
        for (int k = 0; k < 100; k++) {
            tgb_arena arena;
            tgb_arena_init(&arena, first_block, sizeof(first_block), 0);
            tl_object *o;
            if (tgb_tl_decode_object(&tgb_tl_schema_api, &arena, NULL, b.data, bytes, &o, NULL,
                                     NULL) != 0) {
                fprintf(stderr, "%s: decode failed\n", name);
                exit(1);
            }
            tgb_arena_free(&arena);
        }
        iters += 100;
        t = now() - t0;
    } while (t < seconds);
    double dec_mbs = (double)bytes * (double)iters / t / 1e6;
    double dec_ops = (double)objects * (double)iters / t;

    printf("%-28s %7zu B %5zu obj | encode %8.1f MB/s %7.2f Mobj/s | decode %8.1f MB/s %7.2f "
           "Mobj/s\n",
           name, bytes, objects, enc_mbs, enc_ops / 1e6, dec_mbs, dec_ops / 1e6);
    tgb_buf_free(&b);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0)
        seconds = 1.0;
    tgb_arena a;
    tgb_arena_init(&a, NULL, 0, 0);
    printf("TL codec, layer %d, %.1f s per case\n", TGB_TL_SCHEMA_LAYER, seconds);
    bench("messages.sendMessage", make_send_message(&a), seconds);
    bench("updates.updates (100 msgs)", make_updates(&a, 100), seconds);
    tgb_arena_free(&a);
    return 0;
}
