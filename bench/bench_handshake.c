/*
 * Auth key creation: complete exchanges per second between the client
 * (mtproto/handshake) and the emulator's server (emulator/auth_server) in one process
 * and one thread, with OpenSSL's randomness, as a data centre sees clients connect. The
 * server's RSA key is generated and the client's public copy loaded once, outside the
 * loop. Also prints how the CPU time splits between the two sides, measured with
 * CLOCK_THREAD_CPUTIME_ID around each side's calls. Prints figures; not a test.
 *
 *   bench_handshake [seconds]   (default 2)
 */
#include "crypto/crypto.h"
#include "emulator/auth_server.h"
#include "mtproto/handshake.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tgb_time now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (tgb_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_handshake: %s: %s\n", what, tgb_strerror(rc));
    exit(1);
}

/* Time per side, summed over the exchanges. */
typedef struct split {
    double client, server;
} split;

/* One complete exchange; adds each side's CPU time to `t`. */
static void one_exchange(const tgb_handshake_params *cp, const tgemu_auth_params *sp, split *t,
                         tgb_buf *to_server, tgb_buf *to_client)
{
    tgb_handshake *c = NULL;
    tgemu_auth_server *s = NULL;
    tgb_msg_id_gen cids, sids;
    tgb_msg_id_gen_init(&cids);
    tgb_msg_id_gen_init(&sids);
    int rc, crc, src;
    double t0 = cpu();
    if ((rc = tgb_handshake_new(&c, cp)) != 0)
        die("tgb_handshake_new", rc);
    to_server->len = 0;
    crc = tgb_handshake_start(c, &cids, now_us(), to_server);
    double t1 = cpu();
    t->client += t1 - t0;
    if ((rc = tgemu_auth_new(&s, sp)) != 0)
        die("tgemu_auth_new", rc);
    t->server += cpu() - t1;
    while (crc == TGB_HANDSHAKE_CONTINUE) {
        to_client->len = 0;
        t0 = cpu();
        src = tgemu_auth_recv(s, to_server->data, to_server->len, &sids, now_us(), to_client);
        t1 = cpu();
        t->server += t1 - t0;
        if (src < 0)
            die("tgemu_auth_recv", src);
        to_server->len = 0;
        crc = tgb_handshake_recv(c, to_client->data, to_client->len, &cids, now_us(), to_server);
        t->client += cpu() - t1;
    }
    if (crc != TGB_HANDSHAKE_DONE)
        die("tgb_handshake_recv", crc);
    t0 = cpu();
    tgb_handshake_del(c);
    t1 = cpu();
    tgemu_auth_del(s);
    t->server += cpu() - t1;
    t->client += t1 - t0;
}

/* Milliseconds per call of the two expensive primitives, the baseline for the figures. */
static void primitives(const tgb_rsa_key *priv)
{
    uint8_t in[256] = {0}, out[256], e[256];
    for (int i = 0; i < 256; i++)
        e[i] = (uint8_t)(i * 37 + 11);
    in[1] = 1;
    uint8_t g = 3;
    int reps = 200;
    double t0 = cpu();
    for (int i = 0; i < reps; i++)
        if (tgb_rsa_private_raw(priv, in, out))
            die("tgb_rsa_private_raw", TGB_ERR_CRYPTO);
    double t1 = cpu();
    for (int i = 0; i < reps; i++)
        if (tgb_dh_mod_exp(&g, 1, e, 256, tgb_dh_telegram_prime, 256, out))
            die("tgb_dh_mod_exp", TGB_ERR_CRYPTO);
    double t2 = cpu();
    for (int i = 0; i < reps; i++)
        if (tgb_rsa_public_raw(priv, in, out))
            die("tgb_rsa_public_raw", TGB_ERR_CRYPTO);
    double t3 = cpu();
    printf("baseline (CPU per call): RSA-2048 private %.3f ms, public %.3f ms; "
           "2048-bit DH mod_exp %.3f ms\n",
           (t1 - t0) * 1e3 / reps, (t3 - t2) * 1e3 / reps, (t2 - t1) * 1e3 / reps);
    printf("  a key costs the client 1 RSA public + 2 mod_exp, the server 1 RSA private "
           "(2 for the older scheme) + 2 mod_exp\n");
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0)
        seconds = 2.0;

    /* Keys once: the DC's private key, and the public PEM a client ships, read back. */
    tgb_rsa_key *priv = NULL, *pub = NULL;
    char *pem = NULL;
    size_t pem_len = 0;
    int rc = tgb_rsa_key_generate(&priv);
    if (!rc)
        rc = tgb_rsa_key_public_pem(priv, &pem, &pem_len);
    if (!rc)
        rc = tgb_rsa_key_from_pem(&pub, pem, pem_len);
    if (rc)
        die("RSA key", rc);
    free(pem);

    const tgb_rsa_key *keys[] = {pub};
    tgb_handshake_params cp = {.dc_id = 2, .keys = keys, .nkeys = 1};
    tgemu_auth_params sp = {.key = priv};
    tgb_buf to_server, to_client;
    tgb_buf_init(&to_server, 0);
    tgb_buf_init(&to_client, 0);

    split warm = {0, 0};
    one_exchange(&cp, &sp, &warm, &to_server, &to_client);

    split t = {0, 0};
    long n = 0;
    double start = wall(), cpu_start = cpu(), elapsed;
    do {
        one_exchange(&cp, &sp, &t, &to_server, &to_client);
        n++;
        elapsed = wall() - start;
    } while (elapsed < seconds);
    double cpu_total = cpu() - cpu_start;

    double both = t.client + t.server;
    printf("auth keys created:   %ld in %.2f s: %.1f keys/s (one thread, client + server)\n", n,
           elapsed, (double)n / elapsed);
    printf("per key:             %.3f ms wall, %.3f ms CPU\n", elapsed * 1e3 / (double)n,
           cpu_total * 1e3 / (double)n);
    printf("client CPU per key:  %.3f ms (%.0f%%)\n", t.client * 1e3 / (double)n,
           100.0 * t.client / both);
    printf("server CPU per key:  %.3f ms (%.0f%%): %.1f keys/s per core for an emulated DC\n",
           t.server * 1e3 / (double)n, 100.0 * t.server / both, (double)n / t.server);

    primitives(priv);

    tgb_buf_free(&to_server);
    tgb_buf_free(&to_client);
    tgb_rsa_key_del(priv);
    tgb_rsa_key_del(pub);
    return 0;
}
