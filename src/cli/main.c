/* main.c -- the sureconnect command-line program: migrate, import/export, agents, route, calls,
 * area codes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "codec/config_json.h"
#include "codec/route_json.h"
#include "core/areacode.h"
#include "core/config.h"
#include "core/errors.h"
#include "core/phone.h"
#include "core/rng.h"
#include "core/router.h"
#include "server/auth.h"
#include "server/http_util.h"
#include "server/server.h"
#include "service/callflow.h"
#include "store/store.h"

#define CLI_VERSION "0.1.0"
#define CLI_IMPORT_MAX (16u * 1024u * 1024u) /* bytes of a configuration file */
#define CLI_EXPIRES_DEFAULT 3600
#define CLI_EXPIRES_MAX (366L * 86400L)
#define CLI_MAX_CONCURRENT 1000
#define CLI_LISTEN_DEFAULT "127.0.0.1:8080"
#define CLI_THREADS_DEFAULT 4
/* The web pages' folder when neither --web-root nor $SURECONNECT_WEB_ROOT is given: the
 * Makefile passes the absolute path of the source tree's web/ folder. */
#ifndef SC_WEB_ROOT_DEFAULT
#define SC_WEB_ROOT_DEFAULT "web"
#endif
#define CLI_THREADS_MAX 64
#define CLI_MAX_CONNECTED_MAX 604800 /* a week */
#define CLI_ALERT_INTERVAL_MAX 86400 /* --alert-interval, seconds */

/* Exit statuses: 0 success, 1 the operation failed, 2 the command line was wrong. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Long-only option codes. */
enum {
    OPT_DB = 256,
    OPT_STATUS,
    OPT_MAX,
    OPT_EXPIRES,
    OPT_TO,
    OPT_FROM,
    OPT_CATEGORY,
    OPT_DRY_RUN,
    OPT_JSON,
    OPT_VERSION,
    OPT_LISTEN,
    OPT_THREADS,
    OPT_NAME,
    OPT_DISCORD_WEBHOOK,
    OPT_ALERT_INTERVAL,
    OPT_PUBLIC_URL,
    OPT_TWILIO_ACCOUNT_SID,
    OPT_TWILIO_AUTH_TOKEN,
    OPT_TWILIO_API_BASE,
    OPT_TWILIO_API_KEY_SID,
    OPT_TWILIO_API_KEY_SECRET,
    OPT_TWILIO_TWIML_APP_SID,
    OPT_MAX_CONNECTED,
    OPT_WEB_ROOT
};

/* What every command needs: the database path and the command's name for messages. */
typedef struct {
    const char *db;
    const char *cmd; /* "agent set", "import", ... */
} cli_ctx;

__attribute__((format(printf, 2, 3))) static int cli_usage_error(const cli_ctx *cx, const char *fmt,
                                                                 ...)
{
    va_list ap;
    fprintf(stderr, "sureconnect: ");
    if (cx && cx->cmd)
        fprintf(stderr, "%s: ", cx->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cx && cx->cmd)
        fprintf(stderr, " (see 'sureconnect %s --help')\n", cx->cmd);
    else
        fprintf(stderr, " (see 'sureconnect --help')\n");
    return CLI_USAGE;
}

__attribute__((format(printf, 2, 3))) static int cli_fail(const cli_ctx *cx, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sureconnect: ");
    if (cx && cx->cmd)
        fprintf(stderr, "%s: ", cx->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

/* Reports an option getopt_long rejected (c is '?' or ':'). */
static int cli_bad_option(const cli_ctx *cx, int c, char **argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        return cli_usage_error(cx, "option '%s' needs a value", arg);
    if (optopt && optopt < 256 && arg[0] == '-' && arg[1] != '-')
        return cli_usage_error(cx, "unknown option '-%c'", optopt);
    return cli_usage_error(cx, "unknown option '%s'", arg);
}

/* Parses a whole decimal integer in [min, max]. */
static bool cli_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cli_format_time(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, n, "%lld ms", (long long)ms);
}

/* Opens the store, reporting failure as a one-line message. */
static int cli_open(const cli_ctx *cx, store **st)
{
    char errbuf[STORE_ERR_MAX] = "";
    int rc = store_open(cx->db, st, errbuf, sizeof errbuf);
    if (rc != ERR_OK)
        return cli_fail(cx, "cannot open database %s: %s", cx->db,
                        errbuf[0] ? errbuf : errors_str(rc));
    return CLI_OK;
}

/* ---- usage texts ---------------------------------------------------------------------- */

static const char cli_usage_main[] =
    "Usage: sureconnect [--db FILE] COMMAND [OPTIONS]\n"
    "\n"
    "SureConnect routes inbound calls to the best available agent.\n"
    "\n"
    "Commands:\n"
    "  migrate                         create or upgrade the database\n"
    "  import FILE.json                replace the whole configuration (all or nothing)\n"
    "  export                          print the configuration as JSON\n"
    "  agent set ID --status S [--max N]\n"
    "                                  change an agent's status or call limit\n"
    "  agent register ID [--expires SECONDS]\n"
    "                                  mark an agent's softphone connected\n"
    "  agent unregister ID             mark an agent's softphone disconnected\n"
    "  route --to NUMBER --from NUMBER [--category C] [--dry-run] [--json]\n"
    "                                  route one inbound call and show the trace\n"
    "  call end CALL_ID                end a call and release its agent\n"
    "  serve [--listen HOST:PORT] [--threads N] [--discord-webhook URL]\n"
    "        [--alert-interval SECONDS]\n"
    "                                  run the HTTP API daemon\n"
    "  key create --name NAME          print a new admin API key (shown once)\n"
    "  key revoke NAME_OR_ID           revoke an admin API key\n"
    "  agent token ID                  print a new API token for one agent (shown once)\n"
    "  areacode NPA_OR_NUMBER [--json] the US state of an area code\n"
    "  version                         print the version\n"
    "\n"
    "Options:\n"
    "  --db FILE      database file (default: $SURECONNECT_DB, else ./sureconnect.db)\n"
    "  -h, --help     show help; 'sureconnect COMMAND --help' for a command\n"
    "  -V, --version  print the version\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 wrong usage.\n";

static const char cli_usage_migrate[] =
    "Usage: sureconnect migrate [--db FILE]\n"
    "\n"
    "Creates the database when missing and applies pending schema migrations.\n";

static const char cli_usage_import[] =
    "Usage: sureconnect import FILE.json [--db FILE]\n"
    "\n"
    "Validates the whole configuration in FILE.json (at most 16 MiB), then replaces the\n"
    "stored configuration with it in one transaction. On any error nothing changes and the\n"
    "message names the bad field, e.g. campaigns[0].rules[1].mode. Agents and rules that\n"
    "stay keep their live state (calls, registration, round-robin cursor).\n";

static const char cli_usage_export[] =
    "Usage: sureconnect export [--db FILE]\n"
    "\n"
    "Prints the whole configuration as indented JSON, every field present, in a stable\n"
    "order, so that export, import and export again give the same text.\n";

static const char cli_usage_agent[] =
    "Usage: sureconnect agent set ID [--status active|paused|deactivated] [--max N]\n"
    "       sureconnect agent register ID [--expires SECONDS]\n"
    "       sureconnect agent unregister ID\n"
    "       sureconnect agent token ID\n"
    "\n"
    "  set         change the status and/or the max concurrent calls (1-1000)\n"
    "  register    the softphone is connected for SECONDS (default 3600)\n"
    "  unregister  the softphone is disconnected now\n"
    "  token       print a new API token for the agent (shown once)\n"
    "\n"
    "Every subcommand accepts --db FILE.\n";

static const char cli_usage_agent_set[] =
    "Usage: sureconnect agent set ID [--status active|paused|deactivated] [--max N] [--db FILE]\n"
    "\n"
    "Changes an agent's status and/or max concurrent calls (1-1000). At least one of\n"
    "--status and --max is required.\n";

static const char cli_usage_agent_register[] =
    "Usage: sureconnect agent register ID [--expires SECONDS] [--db FILE]\n"
    "\n"
    "Marks the agent's softphone registered until now + SECONDS (default 3600, at most\n"
    "31622400). An agent is available only while registered.\n";

static const char cli_usage_agent_unregister[] =
    "Usage: sureconnect agent unregister ID [--db FILE]\n"
    "\n"
    "Ends the agent's softphone registration now: the agent gets no new calls.\n";

static const char cli_usage_route[] =
    "Usage: sureconnect route --to NUMBER --from NUMBER [--category C] [--dry-run] [--json]\n"
    "                         [--db FILE]\n"
    "\n"
    "Routes one inbound call: finds the campaign from the dialled tracking number, the\n"
    "caller's state from the area code, evaluates the rules, claims an agent and records\n"
    "the call. Prints the decision and the full trace.\n"
    "\n"
    "  --to NUMBER      the dialled tracking number, any format\n"
    "  --from NUMBER    the caller ID, any format, or \"anonymous\"\n"
    "  --category C     the caller's choice of product category (wins over the number's)\n"
    "  --dry-run        decide only: claim nothing, record nothing\n"
    "  --json           print one JSON object: action, call_id, agent, rule, caller_state,\n"
    "                   category, trace\n";

static const char cli_usage_call[] =
    "Usage: sureconnect call end CALL_ID [--db FILE]\n"
    "\n"
    "Ends a call and releases its agent exactly once. Ending it again is harmless\n"
    "(\"already ended\"); an unknown id is an error.\n";

static const char cli_usage_areacode[] =
    "Usage: sureconnect areacode NPA_OR_NUMBER [--json]\n"
    "\n"
    "Looks up the US state of a NANP area code (\"512\") or of a phone number in any\n"
    "format. When there is no US state, prints why: canada, caribbean, toll_free, premium,\n"
    "non_geographic, not_in_service or invalid.\n"
    "With --json: {\"npa\": \"512\", \"state\": \"TX\", \"reason\": null, \"time_zone\": \"C\"}\n";

static const char cli_usage_serve[] =
    "Usage: sureconnect serve [--db FILE] [--listen HOST:PORT] [--threads N]\n"
    "                         [--discord-webhook URL] [--alert-interval SECONDS]\n"
    "                         [--public-url URL] [--twilio-account-sid SID]\n"
    "                         [--twilio-auth-token TOKEN] [--twilio-api-base URL]\n"
    "                         [--twilio-api-key-sid SID] [--twilio-api-key-secret SECRET]\n"
    "                         [--twilio-twiml-app-sid SID] [--max-connected SECONDS]\n"
    "                         [--web-root DIR]\n"
    "\n"
    "Runs the HTTP/JSON API (see docs/openapi.yaml) until SIGTERM or SIGINT, then stops\n"
    "accepting, finishes the requests in flight, closes the database and exits 0.\n"
    "\n"
    "  --listen HOST:PORT  address to listen on (default: $SURECONNECT_LISTEN, else\n"
    "                      127.0.0.1:8080); port 0 picks a free port, printed in the log\n"
    "  --threads N         worker threads, 1-64 (default: $SURECONNECT_THREADS, else 4)\n"
    "  --discord-webhook URL\n"
    "                      the global Discord webhook for alerts when calls find no agent\n"
    "                      (default: $SURECONNECT_DISCORD_WEBHOOK, else none); a campaign's\n"
    "                      own webhook overrides it (docs/ALERTS.md)\n"
    "  --alert-interval SECONDS\n"
    "                      at most one alert per campaign per interval, 1-86400 (default:\n"
    "                      $SURECONNECT_ALERT_INTERVAL, else 60)\n"
    "  --web-root DIR      folder of the web pages served at / and /agent (default:\n"
    "                      $SURECONNECT_WEB_ROOT, else the web/ folder of the source tree\n"
    "                      the program was built from; docs/WEB.md)\n"
    "\n"
    "  --max-connected SECONDS\n"
    "                      a connected call with no event for this long is ended by the\n"
    "                      recovery sweep, 1-604800 (default: $SURECONNECT_MAX_CONNECTED,\n"
    "                      else 14400: 4 hours)\n"
    "\n"
    "The Twilio-compatible voice adapter (docs/TWILIO.md) runs when --public-url,\n"
    "--twilio-account-sid and --twilio-auth-token are set; softphone tokens need\n"
    "--twilio-api-key-sid and --twilio-api-key-secret (and --twilio-twiml-app-sid for\n"
    "outgoing calls). Each option also comes from the environment: $SURECONNECT_PUBLIC_URL,\n"
    "$SURECONNECT_TWILIO_ACCOUNT_SID, $SURECONNECT_TWILIO_AUTH_TOKEN,\n"
    "$SURECONNECT_TWILIO_API_BASE (default https://api.twilio.com),\n"
    "$SURECONNECT_TWILIO_API_KEY_SID, $SURECONNECT_TWILIO_API_KEY_SECRET,\n"
    "$SURECONNECT_TWILIO_TWIML_APP_SID.\n"
    "\n"
    "Logs go to stderr, one key=value line per request and per routing decision.\n";

static const char cli_usage_key[] =
    "Usage: sureconnect key create --name NAME [--db FILE]\n"
    "       sureconnect key revoke NAME_OR_ID [--db FILE]\n"
    "\n"
    "  create  prints a new admin API key once; only its SHA-256 hash is stored\n"
    "  revoke  the key stops working at once\n";

static const char cli_usage_agent_token[] =
    "Usage: sureconnect agent token ID [--db FILE]\n"
    "\n"
    "Prints a new API token for agent ID once (only its hash is stored). With it the agent\n"
    "may read its own agent, change its own presence and status (active or paused).\n";

static const char cli_usage_version[] = "Usage: sureconnect version\n\nPrints the version.\n";

static int cli_help(const char *text)
{
    fputs(text, stdout);
    return CLI_OK;
}

/* ---- option parsing shared by every command -------------------------------------------- */

/* The options every command takes; a command's table starts with these. */
#define CLI_COMMON_OPTS                                                                            \
    {"db", required_argument, NULL, OPT_DB},                                                       \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

/* Runs getopt_long over argv (argv[0] is the command name). For each option that is not
 * common, calls on_opt. Returns -1 to go on, or an exit status (help, usage error). */
typedef int (*cli_opt_fn)(cli_ctx *cx, int opt, const char *arg, void *data);

static int cli_getopt(cli_ctx *cx, int argc, char **argv, const struct option *opts,
                      const char *usage, cli_opt_fn on_opt, void *data)
{
    int c;
    optind = 0; /* full reinitialisation (GNU) for each command's argv */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(usage);
        case OPT_DB:
            cx->db = optarg;
            break;
        case '?':
        case ':':
            return cli_bad_option(cx, c, argv);
        default: {
            int rc = on_opt ? on_opt(cx, c, optarg, data) : -1;
            if (rc >= 0)
                return rc;
        }
        }
    }
    return -1;
}

/* Checks the number of positional arguments left after the options. */
static int cli_positionals(cli_ctx *cx, int argc, char **argv, int want, const char *what)
{
    int have = argc - optind;
    if (have < want)
        return cli_usage_error(cx, "missing %s", what);
    if (have > want)
        return cli_usage_error(cx, "unexpected argument '%s'", argv[optind + want]);
    return -1;
}

/* ---- migrate, import, export ----------------------------------------------------------- */

static int cmd_migrate(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    store *st;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_migrate, NULL, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 0, "")) >= 0)
        return rc;
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    printf("database %s is at schema version %d\n", cx->db, store_schema_version(st));
    store_close(st);
    return CLI_OK;
}

/* Reads a whole file of at most `cap` bytes into a new buffer the caller frees. */
static int cli_read_file(const cli_ctx *cx, const char *path, size_t cap, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, size = 0;
    int rc = CLI_FAIL;
    if (!f)
        return cli_fail(cx, "cannot open %s: %s", path, strerror(errno));
    for (;;) {
        if (n == size) {
            if (size > cap) {
                cli_fail(cx, "%s is larger than %zu MiB", path, cap >> 20);
                goto out_free_buf;
            }
            size_t grow = size ? size * 2 : 65536;
            if (grow > cap + 1)
                grow = cap + 1;
            char *nb = realloc(buf, grow + 1);
            if (!nb) {
                cli_fail(cx, "out of memory reading %s", path);
                goto out_free_buf;
            }
            buf = nb;
            size = grow;
        }
        size_t got = fread(buf + n, 1, size - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        cli_fail(cx, "cannot read %s", path);
        goto out_free_buf;
    }
    if (n > cap) {
        cli_fail(cx, "%s is larger than %zu MiB", path, cap >> 20);
        goto out_free_buf;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = CLI_OK;
out_free_buf:
    free(buf);
    fclose(f);
    return rc;
}

static int cmd_import(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    config_json_error jerr;
    char errbuf[STORE_ERR_MAX] = "";
    config *cfg = NULL;
    store *st = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_import, NULL, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 1, "FILE.json")) >= 0)
        return rc;
    if ((rc = cli_read_file(cx, argv[optind], CLI_IMPORT_MAX, &text, &len)) != CLI_OK)
        return rc;
    int err = config_json_parse(text, len, &cfg, &jerr);
    if (err != ERR_OK) {
        if (jerr.path[0])
            rc = cli_fail(cx, "%s: %s", jerr.path, jerr.message);
        else
            rc = cli_fail(cx, "%s", jerr.message[0] ? jerr.message : errors_str(err));
        goto out_free_text;
    }
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        goto out_free_config;
    err = store_config_replace(st, cfg, errbuf, sizeof errbuf);
    if (err != ERR_OK) {
        rc = cli_fail(cx, "%s", errbuf[0] ? errbuf : errors_str(err));
        goto out_close_store;
    }
    printf("imported %d agents, %d campaigns, %d rules, %d tracking numbers\n", cfg->n_agents,
           cfg->n_campaigns, cfg->n_rules, cfg->n_numbers);
    rc = CLI_OK;
out_close_store:
    store_close(st);
out_free_config:
    config_free(cfg);
out_free_text:
    free(text);
    return rc;
}

static int cmd_export(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    char errbuf[STORE_ERR_MAX] = "";
    config *cfg = NULL;
    store *st;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_export, NULL, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 0, "")) >= 0)
        return rc;
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    int err = store_config_load(st, &cfg, errbuf, sizeof errbuf);
    if (err != ERR_OK) {
        rc = cli_fail(cx, "%s", errbuf[0] ? errbuf : errors_str(err));
        goto out_close_store;
    }
    json_t *doc = config_json_dump(cfg);
    if (!doc) {
        rc = cli_fail(cx, "out of memory");
        goto out_free_config;
    }
    if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', stdout) == EOF || fflush(stdout) != 0)
        rc = cli_fail(cx, "cannot write the output");
    else
        rc = CLI_OK;
    json_decref(doc);
out_free_config:
    config_free(cfg);
out_close_store:
    store_close(st);
    return rc;
}

/* ---- agent ----------------------------------------------------------------------------- */

typedef struct {
    int status;   /* -1 keep */
    long max;     /* 0 keep */
    long expires; /* seconds */
} cli_agent_opts;

static int cli_agent_opt(cli_ctx *cx, int opt, const char *arg, void *data)
{
    cli_agent_opts *o = data;
    switch (opt) {
    case OPT_STATUS:
        o->status = config_status_parse(arg);
        if (o->status < 0)
            return cli_usage_error(cx, "unknown status \"%s\" (use active, paused or deactivated)",
                                   arg);
        return -1;
    case OPT_MAX:
        if (!cli_parse_long(arg, 1, CLI_MAX_CONCURRENT, &o->max))
            return cli_usage_error(cx, "--max must be an integer from 1 to %d, not \"%s\"",
                                   CLI_MAX_CONCURRENT, arg);
        return -1;
    case OPT_EXPIRES:
        if (!cli_parse_long(arg, 1, CLI_EXPIRES_MAX, &o->expires))
            return cli_usage_error(
                cx, "--expires must be a number of seconds from 1 to %ld, not \"%s\"",
                CLI_EXPIRES_MAX, arg);
        return -1;
    }
    return -1;
}

/* Maps a store error on an agent to the message and exit status. */
static int cli_agent_result(const cli_ctx *cx, int err, const char *id)
{
    if (err == ERR_NOT_FOUND)
        return cli_fail(cx, "unknown agent \"%s\"", id);
    if (err < 0)
        return cli_fail(cx, "%s", errors_str(err));
    return CLI_OK;
}

static int cmd_agent_set(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"status", required_argument, NULL, OPT_STATUS},
                                         {"max", required_argument, NULL, OPT_MAX},
                                         {0, 0, 0, 0}};
    cli_agent_opts o = {-1, 0, CLI_EXPIRES_DEFAULT};
    store *st;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_agent_set, cli_agent_opt, &o);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 1, "agent ID")) >= 0)
        return rc;
    if (o.status < 0 && o.max == 0)
        return cli_usage_error(cx, "nothing to change: give --status and/or --max");
    const char *id = argv[optind];
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    rc = cli_agent_result(cx, store_agent_set(st, id, o.status, (int)o.max, cli_now_ms()), id);
    if (rc == CLI_OK) {
        printf("agent %s updated:", id);
        if (o.status >= 0)
            printf(" status %s", config_status_name((agent_status)o.status));
        if (o.max > 0)
            printf(" max_concurrent %ld", o.max);
        printf("\n");
    }
    store_close(st);
    return rc;
}

static int cmd_agent_register(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS, {"expires", required_argument, NULL, OPT_EXPIRES}, {0, 0, 0, 0}};
    cli_agent_opts o = {-1, 0, CLI_EXPIRES_DEFAULT};
    store *st;
    char when[64];
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_agent_register, cli_agent_opt, &o);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 1, "agent ID")) >= 0)
        return rc;
    const char *id = argv[optind];
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    int64_t until = cli_now_ms() + (int64_t)o.expires * 1000;
    rc = cli_agent_result(cx, store_agent_register(st, id, until), id);
    if (rc == CLI_OK) {
        cli_format_time(until, when, sizeof when);
        printf("agent %s registered until %s\n", id, when);
    }
    store_close(st);
    return rc;
}

static int cmd_agent_unregister(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    store *st;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_agent_unregister, NULL, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 1, "agent ID")) >= 0)
        return rc;
    const char *id = argv[optind];
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    rc = cli_agent_result(cx, store_agent_unregister(st, id), id);
    if (rc == CLI_OK)
        printf("agent %s unregistered\n", id);
    store_close(st);
    return rc;
}

/* ---- route ----------------------------------------------------------------------------- */

typedef struct {
    const char *to, *from, *category;
    bool dry_run, json;
} cli_route_opts;

static int cli_route_opt(cli_ctx *cx, int opt, const char *arg, void *data)
{
    cli_route_opts *o = data;
    switch (opt) {
    case OPT_TO:
        o->to = arg;
        break;
    case OPT_FROM:
        o->from = arg;
        break;
    case OPT_CATEGORY:
        if (!config_valid_category(arg))
            return cli_usage_error(cx, "invalid category \"%s\" (use 1-31 of a-z, 0-9 and _)", arg);
        o->category = arg;
        break;
    case OPT_DRY_RUN:
        o->dry_run = true;
        break;
    case OPT_JSON:
        o->json = true;
        break;
    }
    return -1;
}

static uint64_t cli_rand_seed(bool *ok)
{
    unsigned char b[8];
    uint64_t seed = 0;
    *ok = RAND_bytes(b, (int)sizeof b) == 1;
    for (size_t i = 0; i < sizeof b; i++)
        seed = (seed << 8) | b[i];
    return seed;
}

static const char *cli_agent_id(const config *cfg, int agent)
{
    return cfg && agent >= 0 && agent < cfg->n_agents ? cfg->agents[agent].id : NULL;
}

static const char *cli_rule_id(const config *cfg, int rule)
{
    return cfg && rule >= 0 && rule < cfg->n_rules ? cfg->rules[rule].id : NULL;
}

/* The agent and rule the outcome names: the claimed one, or on a dry run the first
 * candidate, which is what a real route would try first. */
static void cli_route_pick(const callflow_outcome *o, int *agent, int *rule)
{
    *agent = o->agent;
    *rule = o->rule;
    if (*agent < 0 && o->result.action == ROUTE_CONNECT && o->result.n_candidates > 0 &&
        o->call.id[0] == '\0') {
        *agent = o->result.candidates[0].agent;
        *rule = o->result.candidates[0].rule;
    }
}

static json_t *cli_str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static int cli_route_print_json(const cli_ctx *cx, const callflow_outcome *o, bool dry_run)
{
    const config *cfg = o->cfg;
    const route_trace *t = &o->result.trace;
    int agent, rule;
    cli_route_pick(o, &agent, &rule);
    json_t *j = json_object();
    json_t *trace = cfg ? route_json_trace(cfg, &o->result) : json_null();
    const char *campaign = cfg && t->campaign >= 0 && t->campaign < cfg->n_campaigns
                               ? cfg->campaigns[t->campaign].id
                               : NULL;
    int rc = CLI_FAIL;
    if (!j || !trace ||
        json_object_set_new(j, "action", json_string(router_action_name(o->result.action))) ||
        json_object_set_new(j, "call_id", cli_str_or_null(o->call.id)) ||
        json_object_set_new(j, "dry_run", json_boolean(dry_run)) ||
        json_object_set_new(j, "agent", cli_str_or_null(cli_agent_id(cfg, agent))) ||
        json_object_set_new(j, "rule", cli_str_or_null(cli_rule_id(cfg, rule))) ||
        json_object_set_new(j, "campaign", cli_str_or_null(campaign)) ||
        json_object_set_new(j, "caller_state", cli_str_or_null(t->caller_state)) ||
        json_object_set_new(j, "category", cli_str_or_null(t->category)) ||
        json_object_set_new(j, "callback_id",
                            o->callback_id > 0 ? json_integer(o->callback_id) : json_null()) ||
        json_object_set_new(j, "status",
                            dry_run ? json_null()
                                    : json_string(store_call_status_name(o->call.status))) ||
        json_object_set_new(j, "queue",
                            o->call.status == CALL_QUEUED && !dry_run
                                ? json_pack("{s:I, s:I, s:I}", "position",
                                            (json_int_t)o->queue_position, "estimated_wait_s",
                                            (json_int_t)o->estimated_wait_s, "deadline_ms",
                                            (json_int_t)o->call.queue_deadline_ms)
                                : json_null()) ||
        json_object_set(j, "trace", trace)) {
        cli_fail(cx, "out of memory");
        goto out_free;
    }
    if (json_dumpf(j, stdout, JSON_PRESERVE_ORDER) != 0 || fputc('\n', stdout) == EOF) {
        cli_fail(cx, "cannot write the output");
        goto out_free;
    }
    rc = CLI_OK;
out_free:
    json_decref(trace);
    json_decref(j);
    return rc;
}

/* Detail of a member verdict for the human trace. */
static void cli_member_detail(const route_trace *t, const trace_member *m, char *buf, size_t n)
{
    buf[0] = '\0';
    if (m->verdict == MEMBER_AT_CAPACITY)
        snprintf(buf, n, " %d/%d", m->active_calls, m->max_concurrent);
    else if (m->verdict == MEMBER_STATE_NOT_ALLOWED)
        snprintf(buf, n, " %s", t->caller_state ? t->caller_state : "(state unknown)");
    else if (m->verdict == MEMBER_CATEGORY_NOT_ALLOWED)
        snprintf(buf, n, " %s", t->category[0] ? t->category : "(no category)");
}

/* The decision and a readable rendering of the trace, for terminals. */
static void cli_route_print_text(const callflow_outcome *o, bool dry_run)
{
    const config *cfg = o->cfg;
    const route_result *r = &o->result;
    const route_trace *t = &r->trace;
    int agent, rule;
    char detail[64];
    cli_route_pick(o, &agent, &rule);

    if (r->action == ROUTE_CONNECT && agent >= 0)
        printf("decision: connect -> %s (%s) by rule %s\n", cli_agent_id(cfg, agent),
               cfg->agents[agent].name, cli_rule_id(cfg, rule) ? cli_rule_id(cfg, rule) : "?");
    else
        printf("decision: %s\n", router_action_name(r->action));
    if (dry_run)
        printf("call id:  (dry run: nothing claimed or recorded)\n");
    else
        printf("call id:  %s\n", o->call.id[0] ? o->call.id : "(none)");
    if (o->callback_id > 0)
        printf("callback: #%lld created for the caller (%s)\n", o->callback_id, o->callback_reason);
    if (!dry_run && o->call.status == CALL_QUEUED)
        printf("queued:   position %lld in the campaign's queue, estimated wait %lld s\n",
               o->queue_position, o->estimated_wait_s);
    if (!cfg)
        return;

    printf("trace:\n");
    if (t->to.status == PHONE_OK || t->to.status == PHONE_NOT_NANP) {
        if (t->campaign >= 0)
            printf("  dialled   %s -> campaign %s (%s)\n", t->to.e164,
                   cfg->campaigns[t->campaign].id, cfg->campaigns[t->campaign].name);
        else
            printf("  dialled   %s -> not a tracking number: not in service\n", t->to.e164);
    } else {
        printf("  dialled   invalid number (%s): not in service\n",
               phone_status_name(t->to.status));
    }
    if (r->action == ROUTE_REJECT)
        return;
    if (t->from.status == PHONE_OK) {
        if (t->caller_state)
            printf("  caller    %s -> area code %s -> state %s\n", t->from.e164, t->from.npa,
                   t->caller_state);
        else
            printf("  caller    %s -> area code %s -> state unknown (%s%s%s)\n", t->from.e164,
                   t->from.npa, areacode_reason_name(t->area.reason),
                   t->area.location && t->area.location[0] ? ", " : "",
                   t->area.location ? t->area.location : "");
    } else {
        printf("  caller    %s -> state unknown (caller ID %s)\n",
               t->from.status == PHONE_NOT_NANP ? t->from.e164 : "-",
               phone_status_name(t->from.status));
    }
    printf("  category  %s (from %s)\n", t->category[0] ? t->category : "none",
           router_category_source_name(t->category_from));
    printf("  rules:\n");
    for (int i = 0; i < t->n_rules; i++) {
        const trace_rule *tr = &t->rules[i];
        const config_rule *cr = &cfg->rules[tr->rule];
        printf("    %d. %s [%s] %s", cr->position, cr->id, config_mode_name(cr->mode),
               router_rule_verdict_name(tr->verdict));
        if (tr->verdict == RULE_STATE_MISMATCH)
            printf(" (caller %s)", t->caller_state ? t->caller_state : "state unknown");
        else if (tr->verdict == RULE_CATEGORY_MISMATCH)
            printf(" (category %s)", t->category[0] ? t->category : "none");
        else if (tr->verdict == RULE_DECIDED || tr->verdict == RULE_NO_AVAILABLE)
            printf(" (%d of %d available)", tr->n_available, tr->n_members);
        printf("\n");
        for (int k = 0; k < tr->n_members; k++) {
            const trace_member *m = &t->members[tr->first_member + k];
            cli_member_detail(t, m, detail, sizeof detail);
            printf("         %-16s %s%s\n", cli_agent_id(cfg, m->agent),
                   router_member_verdict_name(m->verdict), detail);
        }
    }
    if (t->n_rules == 0)
        printf("    (this campaign has no rules)\n");
    if (t->pick >= 0)
        printf("  pick      %s (%s)\n", cli_agent_id(cfg, t->pick), config_mode_name(t->mode));
    for (int i = 0; i < t->n_claims; i++)
        printf("  claim     %s: %s\n", cli_agent_id(cfg, t->claims[i].agent),
               t->claims[i].won ? "won" : "lost (taken meanwhile)");
    printf("  outcome   %s\n", router_action_name(r->action));
}

static int cmd_route(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"to", required_argument, NULL, OPT_TO},
                                         {"from", required_argument, NULL, OPT_FROM},
                                         {"category", required_argument, NULL, OPT_CATEGORY},
                                         {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {0, 0, 0, 0}};
    cli_route_opts o = {NULL, NULL, NULL, false, false};
    callflow_outcome out;
    rng_splitmix gen;
    store *st;
    bool seeded;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_route, cli_route_opt, &o);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 0, "")) >= 0)
        return rc;
    if (!o.to)
        return cli_usage_error(cx, "missing --to NUMBER");
    if (!o.from)
        return cli_usage_error(cx, "missing --from NUMBER (use --from anonymous for no caller ID)");
    rng_source rng = rng_splitmix_source(&gen, cli_rand_seed(&seeded));
    if (!seeded)
        return cli_fail(cx, "cannot seed the random generator");
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    router_call call = {o.to, o.from, o.category, NULL, 0};
    callflow_outcome_init(&out);
    int err = callflow_route(st, &call, "", cli_now_ms(), &rng, o.dry_run, &out);
    if (err != ERR_OK) {
        rc = cli_fail(cx, "%s", errors_str(err));
        goto out_free_outcome;
    }
    if (o.json) {
        rc = cli_route_print_json(cx, &out, o.dry_run);
    } else {
        cli_route_print_text(&out, o.dry_run);
        rc = CLI_OK;
    }
out_free_outcome:
    callflow_outcome_free(&out);
    store_close(st);
    return rc;
}

/* ---- call ------------------------------------------------------------------------------ */

static int cmd_call_end(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    store *st;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_call, NULL, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 1, "CALL_ID")) >= 0)
        return rc;
    const char *id = argv[optind];
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    int err = callflow_end(st, id, cli_now_ms());
    if (err == 1) {
        printf("released\n");
        rc = CLI_OK;
    } else if (err == 0) {
        printf("already ended\n");
        rc = CLI_OK;
    } else if (err == ERR_NOT_FOUND) {
        rc = cli_fail(cx, "unknown call \"%s\"", id);
    } else {
        rc = cli_fail(cx, "%s", errors_str(err));
    }
    store_close(st);
    return rc;
}

/* ---- serve, keys, agent tokens ---------------------------------------------------------- */

/* True when url can be a webhook: http(s), no spaces or controls, not too long. */
static bool cli_webhook_ok(const char *url)
{
    size_t scheme = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
    if (!scheme || !url[scheme] || strlen(url) >= 512)
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* The Twilio settings: option, environment variable, where it goes, and its check (a URL,
 * a SID with its prefix, or any printable secret). */
typedef struct {
    int opt;
    const char *flag, *env;
    size_t offset;      /* of the field in twilio_config */
    const char *prefix; /* "AC", "SK", "AP" for SIDs; "url" for URLs; NULL for secrets */
} cli_twilio_opt;

static const cli_twilio_opt cli_twilio_opts[] = {
    {OPT_PUBLIC_URL, "public-url", "SURECONNECT_PUBLIC_URL", offsetof(twilio_config, public_url),
     "url"},
    {OPT_TWILIO_ACCOUNT_SID, "twilio-account-sid", "SURECONNECT_TWILIO_ACCOUNT_SID",
     offsetof(twilio_config, account_sid), "AC"},
    {OPT_TWILIO_AUTH_TOKEN, "twilio-auth-token", "SURECONNECT_TWILIO_AUTH_TOKEN",
     offsetof(twilio_config, auth_token), NULL},
    {OPT_TWILIO_API_BASE, "twilio-api-base", "SURECONNECT_TWILIO_API_BASE",
     offsetof(twilio_config, api_base), "url"},
    {OPT_TWILIO_API_KEY_SID, "twilio-api-key-sid", "SURECONNECT_TWILIO_API_KEY_SID",
     offsetof(twilio_config, api_key_sid), "SK"},
    {OPT_TWILIO_API_KEY_SECRET, "twilio-api-key-secret", "SURECONNECT_TWILIO_API_KEY_SECRET",
     offsetof(twilio_config, api_key_secret), NULL},
    {OPT_TWILIO_TWIML_APP_SID, "twilio-twiml-app-sid", "SURECONNECT_TWILIO_TWIML_APP_SID",
     offsetof(twilio_config, twiml_app_sid), "AP"},
};

#define CLI_N_TWILIO_OPTS ((int)(sizeof cli_twilio_opts / sizeof cli_twilio_opts[0]))

/* Checks and stores one Twilio setting from `source` (an option or a variable's name, for
 * the message). Returns -1 when stored, else the usage error's exit code. */
static int cli_twilio_set(cli_ctx *cx, const cli_twilio_opt *t, const char *value,
                          const char *source, twilio_config *tw)
{
    bool ok;
    if (!t->prefix)
        ok = value[0] && http_printable(value, 256);
    else if (strcmp(t->prefix, "url") == 0)
        ok = cli_webhook_ok(value);
    else
        ok = twilio_sid_ok(value, t->prefix);
    if (!ok)
        return cli_usage_error(cx, "%s must be %s", source,
                               !t->prefix                      ? "printable text of 1-255 bytes"
                               : strcmp(t->prefix, "url") == 0 ? "an http:// or https:// URL"
                               : strcmp(t->prefix, "AC") == 0  ? "an account SID (AC + 32 hex)"
                               : strcmp(t->prefix, "SK") == 0  ? "an API key SID (SK + 32 hex)"
                                                               : "a TwiML app SID (AP + 32 hex)");
    *(const char **)((char *)tw + t->offset) = value;
    return -1;
}

/* The Twilio settings from the environment (options given later override them). */
static int cli_twilio_env(cli_ctx *cx, twilio_config *tw)
{
    for (int i = 0; i < CLI_N_TWILIO_OPTS; i++) {
        const char *env = getenv(cli_twilio_opts[i].env);
        int rc = env && env[0]
                     ? cli_twilio_set(cx, &cli_twilio_opts[i], env, cli_twilio_opts[i].env, tw)
                     : -1;
        if (rc >= 0)
            return rc;
    }
    return -1;
}

static int cli_serve_opt(cli_ctx *cx, int opt, const char *arg, void *data)
{
    server_options *o = data;
    long n;
    for (int i = 0; i < CLI_N_TWILIO_OPTS; i++) {
        if (opt == cli_twilio_opts[i].opt) {
            char source[48];
            snprintf(source, sizeof source, "--%s", cli_twilio_opts[i].flag);
            return cli_twilio_set(cx, &cli_twilio_opts[i], arg, source, &o->twilio);
        }
    }
    if (opt == OPT_LISTEN) {
        o->listen = arg;
    } else if (opt == OPT_THREADS) {
        if (!cli_parse_long(arg, 1, CLI_THREADS_MAX, &n))
            return cli_usage_error(cx, "--threads must be an integer from 1 to %d, not \"%s\"",
                                   CLI_THREADS_MAX, arg);
        o->threads = (int)n;
    } else if (opt == OPT_DISCORD_WEBHOOK) {
        if (!cli_webhook_ok(arg))
            return cli_usage_error(cx, "--discord-webhook must be an http:// or https:// URL");
        o->discord_webhook = arg;
    } else if (opt == OPT_MAX_CONNECTED) {
        if (!cli_parse_long(arg, 1, CLI_MAX_CONNECTED_MAX, &n))
            return cli_usage_error(cx,
                                   "--max-connected must be an integer from 1 to %d, not \"%s\"",
                                   CLI_MAX_CONNECTED_MAX, arg);
        o->max_connected_s = (int)n;
    } else if (opt == OPT_WEB_ROOT) {
        o->web_root = arg;
    } else if (opt == OPT_ALERT_INTERVAL) {
        if (!cli_parse_long(arg, 1, CLI_ALERT_INTERVAL_MAX, &n))
            return cli_usage_error(cx,
                                   "--alert-interval must be an integer from 1 to %d, not \"%s\"",
                                   CLI_ALERT_INTERVAL_MAX, arg);
        o->alert_interval_s = (int)n;
    }
    return -1;
}

static int cmd_serve(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS,
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"discord-webhook", required_argument, NULL, OPT_DISCORD_WEBHOOK},
        {"alert-interval", required_argument, NULL, OPT_ALERT_INTERVAL},
        {"public-url", required_argument, NULL, OPT_PUBLIC_URL},
        {"twilio-account-sid", required_argument, NULL, OPT_TWILIO_ACCOUNT_SID},
        {"twilio-auth-token", required_argument, NULL, OPT_TWILIO_AUTH_TOKEN},
        {"twilio-api-base", required_argument, NULL, OPT_TWILIO_API_BASE},
        {"twilio-api-key-sid", required_argument, NULL, OPT_TWILIO_API_KEY_SID},
        {"twilio-api-key-secret", required_argument, NULL, OPT_TWILIO_API_KEY_SECRET},
        {"twilio-twiml-app-sid", required_argument, NULL, OPT_TWILIO_TWIML_APP_SID},
        {"max-connected", required_argument, NULL, OPT_MAX_CONNECTED},
        {"web-root", required_argument, NULL, OPT_WEB_ROOT},
        {0, 0, 0, 0}};
    server_options o;
    struct stat sb;
    memset(&o, 0, sizeof o);
    o.db = cx->db;
    o.listen = CLI_LISTEN_DEFAULT;
    o.threads = CLI_THREADS_DEFAULT;
    const char *env = getenv("SURECONNECT_LISTEN");
    long n;
    int twrc = cli_twilio_env(cx, &o.twilio);
    if (twrc >= 0)
        return twrc;
    if (env && env[0])
        o.listen = env;
    env = getenv("SURECONNECT_THREADS");
    if (env && env[0]) {
        if (!cli_parse_long(env, 1, CLI_THREADS_MAX, &n))
            return cli_usage_error(cx, "SURECONNECT_THREADS must be an integer from 1 to %d",
                                   CLI_THREADS_MAX);
        o.threads = (int)n;
    }
    env = getenv("SURECONNECT_DISCORD_WEBHOOK");
    if (env && env[0]) {
        if (!cli_webhook_ok(env))
            return cli_usage_error(
                cx, "SURECONNECT_DISCORD_WEBHOOK must be an http:// or https:// URL");
        o.discord_webhook = env;
    }
    env = getenv("SURECONNECT_MAX_CONNECTED");
    if (env && env[0]) {
        if (!cli_parse_long(env, 1, CLI_MAX_CONNECTED_MAX, &n))
            return cli_usage_error(cx, "SURECONNECT_MAX_CONNECTED must be an integer from 1 to %d",
                                   CLI_MAX_CONNECTED_MAX);
        o.max_connected_s = (int)n;
    }
    env = getenv("SURECONNECT_ALERT_INTERVAL");
    if (env && env[0]) {
        if (!cli_parse_long(env, 1, CLI_ALERT_INTERVAL_MAX, &n))
            return cli_usage_error(cx, "SURECONNECT_ALERT_INTERVAL must be an integer from 1 to %d",
                                   CLI_ALERT_INTERVAL_MAX);
        o.alert_interval_s = (int)n;
    }
    env = getenv("SURECONNECT_WEB_ROOT");
    if (env && env[0])
        o.web_root = env;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_serve, cli_serve_opt, &o);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 0, "")) >= 0)
        return rc;
    /* A folder asked for must exist; the built-in default may be gone (an installed
     * program): the pages then answer 404. */
    if (o.web_root && (stat(o.web_root, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        return cli_usage_error(cx, "--web-root: \"%s\" is not a folder", o.web_root);
    if (!o.web_root && stat(SC_WEB_ROOT_DEFAULT, &sb) == 0 && S_ISDIR(sb.st_mode))
        o.web_root = SC_WEB_ROOT_DEFAULT;
    o.db = cx->db;
    return server_run(&o) == 0 ? CLI_OK : CLI_FAIL;
}

static int cli_key_opt(cli_ctx *cx, int opt, const char *arg, void *data)
{
    (void)cx;
    if (opt == OPT_NAME)
        *(const char **)data = arg;
    return -1;
}

static int cmd_key_create(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS, {"name", required_argument, NULL, OPT_NAME}, {0, 0, 0, 0}};
    const char *name = NULL;
    char secret[AUTH_SECRET_MAX], hash[AUTH_HASH_HEX];
    long long id = 0;
    store *st;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_key, cli_key_opt, &name);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 0, "")) >= 0)
        return rc;
    if (!name)
        return cli_usage_error(cx, "missing --name NAME");
    if (!config_valid_id(name))
        return cli_usage_error(cx, "--name must be 1-63 of A-Z, a-z, 0-9, '_', '.' and '-'");
    if (!auth_new_secret(AUTH_PREFIX_ADMIN, secret, sizeof secret) || !auth_hash(secret, hash))
        return cli_fail(cx, "cannot make a random key");
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    int err = store_apikey_create(st, name, hash, cli_now_ms(), &id);
    if (err == ERR_CONFLICT)
        rc = cli_fail(cx, "a key named \"%s\" already exists (revoke it first)", name);
    else if (err < 0)
        rc = cli_fail(cx, "%s", errors_str(err));
    else
        printf("%s\n", secret);
    if (err == ERR_OK)
        fprintf(stderr, "key %s (id %lld) created; it is shown only this once\n", name, id);
    store_close(st);
    return rc;
}

static int cmd_key_revoke(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    store *st;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_key, NULL, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 1, "key NAME or ID")) >= 0)
        return rc;
    const char *which = argv[optind];
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    int err = store_apikey_revoke(st, which, cli_now_ms());
    if (err == ERR_NOT_FOUND)
        rc = cli_fail(cx, "no live key \"%s\"", which);
    else if (err < 0)
        rc = cli_fail(cx, "%s", errors_str(err));
    else
        printf("key %s revoked\n", which);
    store_close(st);
    return rc;
}

static int cmd_agent_token(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    char secret[AUTH_SECRET_MAX], hash[AUTH_HASH_HEX];
    long long id = 0;
    store *st;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_agent_token, NULL, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 1, "agent ID")) >= 0)
        return rc;
    const char *agent = argv[optind];
    if (!auth_new_secret(AUTH_PREFIX_AGENT, secret, sizeof secret) || !auth_hash(secret, hash))
        return cli_fail(cx, "cannot make a random token");
    if ((rc = cli_open(cx, &st)) != CLI_OK)
        return rc;
    rc = cli_agent_result(cx, store_agent_token_create(st, agent, hash, cli_now_ms(), &id), agent);
    if (rc == CLI_OK)
        printf("%s\n", secret);
    store_close(st);
    return rc;
}

/* ---- areacode -------------------------------------------------------------------------- */

static int cli_areacode_opt(cli_ctx *cx, int opt, const char *arg, void *data)
{
    (void)cx;
    (void)arg;
    if (opt == OPT_JSON)
        *(bool *)data = true;
    return -1;
}

static int cmd_areacode(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS, {"json", no_argument, NULL, OPT_JSON}, {0, 0, 0, 0}};
    bool as_json = false;
    areacode_info info;
    phone_number ph;
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_areacode, cli_areacode_opt, &as_json);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 1, "NPA_OR_NUMBER")) >= 0)
        return rc;
    const char *in = argv[optind];
    int today = areacode_date_from_ms(cli_now_ms());
    if (strlen(in) == 3) {
        areacode_lookup(in, today, &info);
    } else if (phone_normalize(in, &ph) == PHONE_OK) {
        areacode_lookup(ph.npa, today, &info);
    } else {
        memset(&info, 0, sizeof info);
        info.reason = AREACODE_INVALID;
    }
    bool has_tz = info.time_zone && info.time_zone[0];
    if (as_json) {
        json_t *j = json_object();
        if (!j || json_object_set_new(j, "npa", cli_str_or_null(info.npa)) ||
            json_object_set_new(j, "state", cli_str_or_null(info.state)) ||
            json_object_set_new(j, "reason",
                                info.reason == AREACODE_STATE
                                    ? json_null()
                                    : json_string(areacode_reason_name(info.reason))) ||
            json_object_set_new(j, "time_zone",
                                has_tz ? json_string(info.time_zone) : json_null()) ||
            json_dumpf(j, stdout, JSON_PRESERVE_ORDER) != 0) {
            json_decref(j);
            return cli_fail(cx, "out of memory");
        }
        json_decref(j);
        printf("\n");
        return CLI_OK;
    }
    const char *npa = info.npa[0] ? info.npa : in;
    if (info.reason == AREACODE_STATE)
        printf("%s: %s\n", npa, info.state);
    else
        printf("%s: no US state (%s%s%s)\n", npa, areacode_reason_name(info.reason),
               info.location && info.location[0] ? ", " : "",
               info.location && info.location[0] ? info.location : "");
    if (has_tz)
        printf("time zone: %s\n", info.time_zone);
    return CLI_OK;
}

/* ---- dispatch -------------------------------------------------------------------------- */

typedef int (*cli_cmd_fn)(cli_ctx *cx, int argc, char **argv);

typedef struct {
    const char *name;
    cli_cmd_fn fn;
} cli_command;

/* Dispatches "agent SUB ..." and "call SUB ...": argv[0] is the group name. */
static int cli_group(cli_ctx *cx, int argc, char **argv, const cli_command *subs, const char *usage)
{
    char label[64];
    if (argc < 2)
        return cli_usage_error(cx, "missing subcommand");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return cli_help(usage);
    for (const cli_command *s = subs; s->name; s++) {
        if (strcmp(argv[1], s->name) == 0) {
            snprintf(label, sizeof label, "%s %s", cx->cmd, s->name);
            cx->cmd = label;
            return s->fn(cx, argc - 1, argv + 1);
        }
    }
    return cli_usage_error(cx, "unknown subcommand '%s'", argv[1]);
}

static int cmd_agent(cli_ctx *cx, int argc, char **argv)
{
    static const cli_command subs[] = {{"set", cmd_agent_set},
                                       {"register", cmd_agent_register},
                                       {"unregister", cmd_agent_unregister},
                                       {"token", cmd_agent_token},
                                       {NULL, NULL}};
    return cli_group(cx, argc, argv, subs, cli_usage_agent);
}

static int cmd_call(cli_ctx *cx, int argc, char **argv)
{
    static const cli_command subs[] = {{"end", cmd_call_end}, {NULL, NULL}};
    return cli_group(cx, argc, argv, subs, cli_usage_call);
}

static int cmd_key(cli_ctx *cx, int argc, char **argv)
{
    static const cli_command subs[] = {
        {"create", cmd_key_create}, {"revoke", cmd_key_revoke}, {NULL, NULL}};
    return cli_group(cx, argc, argv, subs, cli_usage_key);
}

static int cmd_version(cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    int rc = cli_getopt(cx, argc, argv, opts, cli_usage_version, NULL, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = cli_positionals(cx, argc, argv, 0, "")) >= 0)
        return rc;
    printf("sureconnect %s\n", CLI_VERSION);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {0, 0, 0, 0}};
    static const cli_command commands[] = {{"migrate", cmd_migrate},
                                           {"import", cmd_import},
                                           {"export", cmd_export},
                                           {"agent", cmd_agent},
                                           {"route", cmd_route},
                                           {"call", cmd_call},
                                           {"areacode", cmd_areacode},
                                           {"version", cmd_version},
                                           {"serve", cmd_serve},
                                           {"key", cmd_key},
                                           {NULL, NULL}};
    cli_ctx cx = {NULL, NULL};
    const char *env = getenv("SURECONNECT_DB");
    int c;

    cx.db = env && env[0] ? env : "./sureconnect.db";
    opterr = 0;
    /* '+': stop at the command name; the command parses the rest. */
    while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return cli_help(cli_usage_main);
        case 'V':
            printf("sureconnect %s\n", CLI_VERSION);
            return CLI_OK;
        case OPT_DB:
            cx.db = optarg;
            break;
        default:
            return cli_bad_option(&cx, c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(&cx, "missing command");
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0)
        return cli_help(cli_usage_main);
    for (const cli_command *k = commands; k->name; k++) {
        if (strcmp(name, k->name) == 0) {
            cx.cmd = k->name;
            return k->fn(&cx, argc - optind, argv + optind);
        }
    }
    return cli_usage_error(&cx, "unknown command '%s'", name);
}
