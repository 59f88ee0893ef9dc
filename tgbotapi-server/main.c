/*
 * telegram-bot-api: the HTTP frontend of libtgbotapi, a drop-in for the reference
 * server's binary (../shared/reference/server-behaviour.md §1).
 *
 * The HTTP server is not written yet (docs/architecture.md, "Next"): this prints the
 * reference's usage for -h/--help and its version line for --version, and otherwise
 * says that serving is not implemented yet and exits 1.
 */
#include <tgbotapi/tgbotapi.h>

#include <stdio.h>
#include <string.h>

static void usage(const char *argv0, FILE *out)
{
    fprintf(out,
            "Usage: %s --api-id=<arg> --api-hash=<arg> [--local] [OPTION]...\n"
            "Telegram Bot API server. Options:\n"
            "  -h, --help                      display this help text and exit\n"
            "      --version                   display version number and exit\n"
            "      --local                     allow the Bot API server to serve local requests\n"
            "      --api-id=<arg>              application identifier for Telegram API access "
            "(defaults to the value of the TELEGRAM_API_ID environment variable)\n"
            "      --api-hash=<arg>            application identifier hash for Telegram API "
            "access (defaults to the value of the TELEGRAM_API_HASH environment variable)\n"
            "  -p, --http-port=<arg>           HTTP listening port (default is 8081)\n"
            "  -s, --http-stat-port=<arg>      HTTP statistics port\n"
            "  -d, --dir=<arg>                 server working directory\n"
            "  -t, --temp-dir=<arg>            directory for storing HTTP server temporary files\n"
            "      --filter=<arg>              \"<remainder>/<modulo>\". Allow only bots with "
            "'bot_user_id %% modulo == remainder'\n"
            "      --max-webhook-connections=<arg>\n"
            "                                  default value of the maximum webhook "
            "connections per bot\n"
            "      --http-ip-address=<arg>     local IP address, HTTP connections to which will "
            "be accepted. By default, connections to any local IPv4 address are accepted\n"
            "      --http-stat-ip-address=<arg>\n"
            "                                  local IP address, HTTP statistics connections to "
            "which will be accepted. By default, statistics connections to any local IPv4 "
            "address are accepted\n"
            "  -l, --log=<arg>                 path to the file where the log will be written\n"
            "  -v, --verbosity=<arg>           log verbosity level\n"
            "      --memory-verbosity=<arg>    memory log verbosity level; defaults to 3\n"
            "      --log-max-file-size=<arg>   maximum size of the log file in bytes before it "
            "will be auto-rotated (default is 2000000000)\n"
            "  -u, --username=<arg>            effective user name to switch to\n"
            "  -g, --groupname=<arg>           effective group name to switch to\n"
            "  -c, --max-connections=<arg>     maximum number of open file descriptors\n"
            "      --cpu-affinity=<arg>        CPU affinity as 64-bit mask (defaults to all "
            "available CPUs)\n"
            "      --main-thread-affinity=<arg>\n"
            "                                  CPU affinity of the main thread as 64-bit mask "
            "(defaults to the value of the option --cpu-affinity)\n"
            "      --proxy=<arg>               HTTP proxy server for outgoing webhook requests "
            "in the format http://host:port\n",
            argv0);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(argv[0], stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("Bot API %s\n", TGB_BOT_API_VERSION);
            return 0;
        }
    }
    fprintf(stderr,
            "%s: this build of libtgbotapi %s has no HTTP server yet: the MTProto engine "
            "(layer %d) and telegram-emulator are implemented, bot accounts and the Bot API "
            "are not. Run with --help for the options it will take.\n",
            argv[0], tgb_version(), tgb_tl_layer());
    return 1;
}
