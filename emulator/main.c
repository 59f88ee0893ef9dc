/*
 * telegram-emulator: an emulated Telegram, serving MTProto 2.0 on loopback.
 *
 *   telegram-emulator --dir DIR [--port N] [--host IP] [--dcs K] [--control-port M]
 *                     [--verbosity V] [fault switches]
 *
 * DC 1 listens on port N, DC 2 on N+1, ... (help.getConfig lists them); the state
 * (RSA key, auth keys) lives in DIR, with the public key in DIR/public.pem for clients.
 * Prints a line with "ready" once every port listens. SIGINT/SIGTERM stop it, SIGHUP
 * restarts every DC (sessions forgotten, keys kept), as the "restart" fault.
 */
#define _GNU_SOURCE
#include "emulator/control.h"
#include "emulator/server.h"
#include "runtime/loop.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static int verbosity = 2;

static void log_line(void *user_data, int level, const char *line)
{
    (void)user_data;
    if (level <= verbosity)
        fprintf(stderr, "[%d] %s\n", level, line);
}

static void usage(FILE *out, const char *argv0)
{
    fprintf(out,
            "Usage: %s --dir=DIR [OPTION]...\n"
            "An emulated Telegram data centre speaking MTProto 2.0.\n"
            "  -d, --dir=DIR             state directory (created if missing)\n"
            "  -p, --port=N              DC 1 listens on N, DC 2 on N+1, ... (default 0: any "
            "free ports)\n"
            "      --host=IP             listen address (default 127.0.0.1)\n"
            "      --dcs=K               number of DCs (default 3)\n"
            "  -c, --control-port=M      serve the JSON control API on M (default: off)\n"
            "  -v, --verbosity=V         log level 0..4 (default 2)\n"
            "fault switches (also settable at run time through the control API):\n"
            "      --fault-dc=ID         the DC they apply to (default: every DC)\n"
            "      --drop-after=N        close a connection after N client messages\n"
            "      --bad-salt=N          answer the next N messages with bad_server_salt\n"
            "      --delay-ms=N          hold every answer N milliseconds\n"
            "      --flood-wait=N[:S]    answer the next N queries with FLOOD_WAIT_S "
            "(S default 1)\n"
            "  -h, --help                this text\n",
            argv0);
}

/* A canonical non-negative decimal, as option values must be. */
static int parse_count(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > 1000000000)
        return -1;
    *out = (int)v;
    return 0;
}

struct app {
    tgb_loop *loop;
    tgemu_server *srv;
    tgb_loop_io signals;
};

static void on_signal(tgb_loop *loop, tgb_loop_io *io, int events)
{
    (void)events;
    struct app *app = io->data;
    struct signalfd_siginfo si;
    while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            fprintf(stderr, "telegram-emulator: restarting every DC\n");
            tgemu_server_restart(app->srv, 0);
        } else {
            tgb_loop_stop(loop);
        }
    }
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *host = "127.0.0.1";
    int port = 0, ndcs = 3, control_port = -1, fault_dc = 0;
    tgemu_faults faults = {0};
    enum { O_HOST = 256, O_DCS, O_FAULT_DC, O_DROP, O_SALT, O_DELAY, O_FLOOD };
    static const struct option options[] = {{"dir", required_argument, NULL, 'd'},
                                            {"port", required_argument, NULL, 'p'},
                                            {"host", required_argument, NULL, O_HOST},
                                            {"dcs", required_argument, NULL, O_DCS},
                                            {"control-port", required_argument, NULL, 'c'},
                                            {"verbosity", required_argument, NULL, 'v'},
                                            {"fault-dc", required_argument, NULL, O_FAULT_DC},
                                            {"drop-after", required_argument, NULL, O_DROP},
                                            {"bad-salt", required_argument, NULL, O_SALT},
                                            {"delay-ms", required_argument, NULL, O_DELAY},
                                            {"flood-wait", required_argument, NULL, O_FLOOD},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    int opt, bad = 0;
    while ((opt = getopt_long(argc, argv, "d:p:c:v:h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': dir = optarg; break;
        case 'p': bad |= parse_count(optarg, &port) || port > 65533; break;
        case O_HOST: host = optarg; break;
        case O_DCS: bad |= parse_count(optarg, &ndcs) || ndcs < 1 || ndcs > 10; break;
        case 'c': bad |= parse_count(optarg, &control_port) || control_port > 65535; break;
        case 'v': bad |= parse_count(optarg, &verbosity); break;
        case O_FAULT_DC: bad |= parse_count(optarg, &fault_dc); break;
        case O_DROP: bad |= parse_count(optarg, &faults.drop_after); break;
        case O_SALT: bad |= parse_count(optarg, &faults.bad_salt); break;
        case O_DELAY: bad |= parse_count(optarg, &faults.delay_ms); break;
        case O_FLOOD: {
            char *colon = strchr(optarg, ':');
            faults.flood_wait_seconds = 1;
            if (colon) {
                *colon = 0;
                bad |= parse_count(colon + 1, &faults.flood_wait_seconds);
            }
            bad |= parse_count(optarg, &faults.flood_wait);
            break;
        }
        case 'h': usage(stdout, argv[0]); return 0;
        default: bad = 1; break;
        }
        if (bad) {
            fprintf(stderr, "%s: bad value for an option\n", argv[0]);
            usage(stderr, argv[0]);
            return 1;
        }
    }
    if (optind < argc || !dir) {
        fprintf(stderr, "%s: %s\n", argv[0], dir ? "unexpected arguments" : "--dir is required");
        usage(stderr, argv[0]);
        return 1;
    }

    struct app app = {0};
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    tgemu_server_config cfg = {dir, host, port, ndcs, log_line, NULL};
    int rc = tgb_loop_new(&app.loop);
    if (!rc)
        rc = tgemu_server_new(&app.srv, app.loop, &cfg);
    if (rc) {
        fprintf(stderr, "%s: cannot start: %s\n", argv[0], tgb_strerror(rc));
        return 1;
    }
    if (sfd >= 0)
        tgb_loop_io_start(app.loop, &app.signals, sfd, TGB_LOOP_READ, on_signal, &app);
    for (int i = 1; i <= ndcs; i++)
        if (!fault_dc || fault_dc == i)
            tgemu_dc_set_faults(tgemu_server_dc(app.srv, i), &faults);

    tgemu_control *ctl = NULL;
    if (control_port >= 0 && tgemu_control_new(&ctl, app.loop, app.srv, host, control_port)) {
        fprintf(stderr, "%s: cannot serve the control API on %s:%d\n", argv[0], host, control_port);
        return 1;
    }

    printf("telegram-emulator ready:");
    for (int i = 1; i <= ndcs; i++)
        printf(" DC %d %s:%d%s", i, host, tgemu_server_port(app.srv, i), i < ndcs ? "," : "");
    if (ctl)
        printf("; control API http://%s:%d", host, tgemu_control_port(ctl));
    printf("; public key %s/public.pem\n", dir);
    fflush(stdout);

    rc = tgb_loop_run(app.loop);
    if (sfd >= 0) {
        tgb_loop_io_stop(app.loop, &app.signals);
        close(sfd);
    }
    tgemu_control_del(ctl);
    tgemu_server_del(app.srv);
    tgb_loop_del(app.loop);
    return rc ? 1 : 0;
}
