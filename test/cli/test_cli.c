/* test_cli.c -- runs the real sureconnect program ($SURECONNECT_BIN) against a temporary
 * database and checks its output, exit statuses and effects. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CLI_MAX_ARGS 32

typedef struct {
    int status; /* exit status, or -1 when the program did not exit normally */
    char *out;
    char *err;
} cli_run;

static char cli_dir[PATH_MAX];
static char cli_db[PATH_MAX + 16];
static char cli_demo[PATH_MAX];

static char *cli_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void cli_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void cli_setup(void)
{
    const char *bin = getenv("SURECONNECT_BIN");
    cr_assert_not_null(bin, "SURECONNECT_BIN must name the program");
    snprintf(cli_dir, sizeof cli_dir, "/tmp/sc_cli_XXXXXX");
    cr_assert_not_null(mkdtemp(cli_dir));
    snprintf(cli_db, sizeof cli_db, "%s/test.db", cli_dir);
    /* The demo file: from the working directory, else next to the program's build dir. */
    if (!realpath("examples/demo.json", cli_demo)) {
        char guess[PATH_MAX];
        snprintf(guess, sizeof guess, "%s/../../examples/demo.json", bin);
        cr_assert_not_null(realpath(guess, cli_demo), "examples/demo.json not found");
    }
}

static void cli_teardown(void)
{
    DIR *d = opendir(cli_dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX + 300];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", cli_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(cli_dir);
}

/* Runs `sureconnect --db DB args...`; NULL ends args. */
static cli_run cli_exec(const char *const *args)
{
    const char *bin = getenv("SURECONNECT_BIN");
    char out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
    char *argv[CLI_MAX_ARGS + 4];
    int n = 0;
    argv[n++] = (char *)bin;
    argv[n++] = "--db";
    argv[n++] = cli_db;
    for (int i = 0; args[i]; i++) {
        cr_assert_lt(n, CLI_MAX_ARGS);
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    snprintf(out_path, sizeof out_path, "%s/stdout", cli_dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", cli_dir);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s", bin);
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cli_run r;
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    r.out = cli_slurp(out_path);
    r.err = cli_slurp(err_path);
    return r;
}

#define CLI(...) cli_exec((const char *const[]){__VA_ARGS__, NULL})

static void cli_free(cli_run *r)
{
    free(r->out);
    free(r->err);
}

/* Runs and requires exit 0; returns stdout (caller frees). */
static char *cli_ok(const char *const *args)
{
    cli_run r = cli_exec(args);
    cr_assert_eq(r.status, 0, "%s %s: exit %d, stderr: %s", args[0], args[1] ? args[1] : "",
                 r.status, r.err);
    free(r.err);
    return r.out;
}

#define CLI_OK(...) cli_ok((const char *const[]){__VA_ARGS__, NULL})

static json_t *cli_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    cr_assert_not_null(j, "not JSON (%s): %s", e.text, text);
    return j;
}

static const char *cli_jstr(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert_not_null(v, "no key %s", key);
    return json_is_null(v) ? NULL : json_string_value(v);
}

/* Imports the demo and registers every agent. */
static void cli_demo_ready(void)
{
    free(CLI_OK("import", cli_demo));
    const char *agents[] = {"dwayne", "james", "lena", "maria", "priya", "tom"};
    for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++)
        free(CLI_OK("agent", "register", agents[i], "--expires", "600"));
}

/* Routes and returns the parsed JSON (caller decrefs). */
static json_t *cli_route(const char *to, const char *from, bool dry_run)
{
    char *out = dry_run ? CLI_OK("route", "--to", to, "--from", from, "--json", "--dry-run")
                        : CLI_OK("route", "--to", to, "--from", from, "--json");
    json_t *j = cli_json(out);
    free(out);
    return j;
}

TestSuite(cli, .init = cli_setup, .fini = cli_teardown, .timeout = 30);

Test(cli, migrate_creates_the_database)
{
    char *out = CLI_OK("migrate");
    cr_assert(strstr(out, "schema version") != NULL, "%s", out);
    struct stat sb;
    cr_assert_eq(stat(cli_db, &sb), 0);
    free(out);
    out = CLI_OK("migrate"); /* again: nothing to do, still fine */
    free(out);
}

/* The demo as export writes it: tracking numbers in E.164; everything else is already in
 * export order in the file. */
static json_t *cli_demo_normalised(void)
{
    char *text = cli_slurp(cli_demo);
    json_t *j = cli_json(text);
    free(text);
    static const char *const map[][2] = {{"1-888-555-0142", "+18885550142"},
                                         {"8885550143", "+18885550143"},
                                         {"+1 (800) 555-0100", "+18005550100"},
                                         {"888.555.0101", "+18885550101"}};
    size_t i, k;
    json_t *cp, *num;
    json_array_foreach(json_object_get(j, "campaigns"), i, cp)
    {
        json_array_foreach(json_object_get(cp, "tracking_numbers"), k, num)
        {
            const char *raw = json_string_value(json_object_get(num, "number"));
            for (size_t m = 0; m < sizeof map / sizeof map[0]; m++)
                if (strcmp(raw, map[m][0]) == 0) {
                    json_object_set_new(num, "number", json_string(map[m][1]));
                    break;
                }
        }
    }
    return j;
}

Test(cli, import_then_export_gives_the_normalised_input)
{
    char *out = CLI_OK("import", cli_demo);
    cr_assert(strstr(out, "6 agents") != NULL, "%s", out);
    free(out);
    char *exported = CLI_OK("export");
    json_t *got = cli_json(exported);
    json_t *want = cli_demo_normalised();
    char *got_text = json_dumps(got, JSON_SORT_KEYS);
    char *want_text = json_dumps(want, JSON_SORT_KEYS);
    cr_assert(json_equal(got, want), "export differs:\n%s\nwant:\n%s", got_text, want_text);
    free(got_text);
    free(want_text);

    /* export -> import -> export is identical text. */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/exported.json", cli_dir);
    cli_write(path, exported);
    free(CLI_OK("import", path));
    char *again = CLI_OK("export");
    cr_assert_str_eq(again, exported);
    free(again);
    free(exported);
    json_decref(got);
    json_decref(want);
}

Test(cli, bad_import_names_the_path_and_changes_nothing)
{
    free(CLI_OK("import", cli_demo));
    char *before = CLI_OK("export");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/bad.json", cli_dir);
    cli_write(path,
              "{\"agents\": [{\"id\": \"ann\"}], \"campaigns\": [{\"id\": \"c\", \"rules\": ["
              "{\"id\": \"r1\", \"members\": [{\"agent\": \"ann\"}]},"
              "{\"id\": \"r2\", \"mode\": \"fastest\", \"members\": [{\"agent\": \"ann\"}]}]}]}");
    cli_run r = CLI("import", path);
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "sureconnect: import: campaigns[0].rules[1].mode: unknown mode "
                            "\"fastest\"") == r.err,
              "stderr: %s", r.err);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    cli_free(&r);

    cli_write(path, "{\"agents\": [");
    r = CLI("import", path);
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "invalid JSON") != NULL, "stderr: %s", r.err);
    cli_free(&r);

    snprintf(path, sizeof path, "%s/missing.json", cli_dir);
    r = CLI("import", path);
    cr_assert_eq(r.status, 1);
    cr_assert(strncmp(r.err, "sureconnect: ", 13) == 0, "stderr: %s", r.err);
    cli_free(&r);

    char *after = CLI_OK("export");
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
}

Test(cli, agent_set_and_register)
{
    free(CLI_OK("import", cli_demo));
    char *out = CLI_OK("agent", "set", "maria", "--status", "paused", "--max", "3");
    cr_assert(strstr(out, "paused") != NULL, "%s", out);
    free(out);
    free(CLI_OK("agent", "register", "maria"));
    free(CLI_OK("agent", "unregister", "maria"));
    json_t *cfg = cli_json(out = CLI_OK("export"));
    free(out);
    json_t *maria = json_array_get(json_object_get(cfg, "agents"), 3);
    cr_assert_str_eq(cli_jstr(maria, "id"), "maria");
    cr_assert_str_eq(cli_jstr(maria, "status"), "paused");
    cr_assert_eq(json_integer_value(json_object_get(maria, "max_concurrent")), 3);
    json_decref(cfg);

    cli_run r = CLI("agent", "set", "ghost", "--status", "active");
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "sureconnect: agent set: unknown agent") == r.err, "%s", r.err);
    cli_free(&r);
    r = CLI("agent", "register", "ghost");
    cr_assert_eq(r.status, 1);
    cli_free(&r);
}

Test(cli, route_tx_caller_connects_then_moves_on)
{
    cli_demo_ready();
    json_t *j = cli_route("+1 800 555 0100", "(512) 555-0142", false);
    cr_assert_str_eq(cli_jstr(j, "action"), "connect");
    cr_assert_str_eq(cli_jstr(j, "agent"), "maria");
    cr_assert_str_eq(cli_jstr(j, "rule"), "tx-fl-medicare");
    cr_assert_str_eq(cli_jstr(j, "caller_state"), "TX");
    cr_assert_str_eq(cli_jstr(j, "category"), "medicare");
    cr_assert_not_null(cli_jstr(j, "call_id"));
    cr_assert(json_is_object(json_object_get(j, "trace")));
    json_decref(j);

    /* maria (capacity 1) is busy: priority 2 goes to priya, the other TX agent. */
    j = cli_route("8005550100", "5125550143", false);
    cr_assert_str_eq(cli_jstr(j, "action"), "connect");
    cr_assert_str_eq(cli_jstr(j, "agent"), "priya");
    json_decref(j);
}

Test(cli, route_gives_no_agent_when_the_only_agent_is_busy)
{
    cli_demo_ready();
    free(CLI_OK("agent", "set", "priya", "--status", "paused"));
    free(CLI_OK("agent", "set", "lena", "--status", "paused"));
    free(CLI_OK("agent", "unregister", "dwayne"));
    json_t *j = cli_route("8005550100", "5125550142", false);
    cr_assert_str_eq(cli_jstr(j, "agent"), "maria");
    json_decref(j);
    j = cli_route("8005550100", "5125550199", false);
    cr_assert_str_eq(cli_jstr(j, "action"), "no_agent");
    cr_assert_null(cli_jstr(j, "agent"));
    cr_assert_eq(cli_jstr(j, "caller_state")[0], 'T');
    json_decref(j);
}

Test(cli, dry_run_changes_nothing)
{
    cli_demo_ready();
    char *before = CLI_OK("export");
    for (int i = 0; i < 3; i++) {
        json_t *j = cli_route("8005550100", "5125550142", true);
        cr_assert_str_eq(cli_jstr(j, "action"), "connect");
        cr_assert_str_eq(cli_jstr(j, "agent"), "maria");
        cr_assert_null(cli_jstr(j, "call_id"));
        json_decref(j);
    }
    char *after = CLI_OK("export");
    cr_assert_str_eq(after, before);
    /* maria's only slot is still free for a real call. */
    json_t *j = cli_route("8005550100", "5125550142", false);
    cr_assert_str_eq(cli_jstr(j, "agent"), "maria");
    json_decref(j);
    free(before);
    free(after);
}

Test(cli, route_human_output_shows_the_trace)
{
    cli_demo_ready();
    char *out = CLI_OK("route", "--to", "8005550100", "--from", "3055550123");
    cr_assert(strstr(out, "decision: connect -> maria") != NULL, "%s", out);
    cr_assert(strstr(out, "state FL") != NULL, "%s", out);
    cr_assert(strstr(out, "tx-fl-medicare") != NULL, "%s", out);
    free(out);
    out = CLI_OK("route", "--to", "8005550100", "--from", "3055550124", "--dry-run");
    cr_assert(strstr(out, "at_capacity 1/1") != NULL, "%s", out);
    free(out);
}

Test(cli, unknown_tracking_number_is_rejected)
{
    cli_demo_ready();
    json_t *j = cli_route("8005550199", "5125550142", false);
    cr_assert_str_eq(cli_jstr(j, "action"), "reject");
    cr_assert_null(cli_jstr(j, "agent"));
    json_decref(j);
}

Test(cli, call_end_releases_once)
{
    cli_demo_ready();
    json_t *j = cli_route("8005550100", "5125550142", false);
    char id[64];
    snprintf(id, sizeof id, "%s", cli_jstr(j, "call_id"));
    json_decref(j);
    char *out = CLI_OK("call", "end", id);
    cr_assert_str_eq(out, "released\n");
    free(out);
    out = CLI_OK("call", "end", id);
    cr_assert_str_eq(out, "already ended\n");
    free(out);
    /* The slot is free again: maria takes the next TX call. */
    j = cli_route("8005550100", "5125550142", false);
    cr_assert_str_eq(cli_jstr(j, "agent"), "maria");
    json_decref(j);

    cli_run r = CLI("call", "end", "no-such-call");
    cr_assert_eq(r.status, 1);
    cr_assert(strncmp(r.err, "sureconnect: ", 13) == 0, "%s", r.err);
    cli_free(&r);
}

Test(cli, areacode_json)
{
    char *out = CLI_OK("areacode", "512", "--json");
    cr_assert_str_eq(
        out, "{\"npa\": \"512\", \"state\": \"TX\", \"reason\": null, \"time_zone\": \"C\"}\n");
    free(out);
    out = CLI_OK("areacode", "+1 (512) 555-0100", "--json");
    cr_assert_str_eq(
        out, "{\"npa\": \"512\", \"state\": \"TX\", \"reason\": null, \"time_zone\": \"C\"}\n");
    free(out);
    json_t *j = cli_json(out = CLI_OK("areacode", "416", "--json"));
    free(out);
    cr_assert_null(cli_jstr(j, "state"));
    cr_assert_str_eq(cli_jstr(j, "reason"), "canada");
    json_decref(j);
    j = cli_json(out = CLI_OK("areacode", "abc", "--json"));
    free(out);
    cr_assert_null(cli_jstr(j, "state"));
    cr_assert_str_eq(cli_jstr(j, "reason"), "invalid");
    json_decref(j);
    out = CLI_OK("areacode", "305");
    cr_assert(strstr(out, "FL") != NULL, "%s", out);
    free(out);
}

Test(cli, help_for_every_command)
{
    static const char *const cmds[][4] = {
        {"--help"},
        {"help"},
        {"migrate", "--help"},
        {"import", "--help"},
        {"export", "--help"},
        {"agent", "--help"},
        {"agent", "set", "--help"},
        {"agent", "register", "--help"},
        {"agent", "unregister", "--help"},
        {"route", "--help"},
        {"call", "--help"},
        {"call", "end", "--help"},
        {"areacode", "--help"},
        {"version", "--help"},
        {"route", "-h"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cli_run r = cli_exec(cmds[i]);
        cr_expect_eq(r.status, 0, "%s %s: exit %d", cmds[i][0], cmds[i][1] ? cmds[i][1] : "",
                     r.status);
        cr_expect(strncmp(r.out, "Usage: sureconnect", 18) == 0, "%s: %s", cmds[i][0], r.out);
        cr_expect_str_eq(r.err, "");
        cli_free(&r);
    }
    char *out = CLI_OK("--version");
    cr_assert(strncmp(out, "sureconnect ", 12) == 0, "%s", out);
    free(out);
    out = CLI_OK("version");
    cr_assert(strncmp(out, "sureconnect ", 12) == 0, "%s", out);
    free(out);
}

Test(cli, bad_usage_exits_2_with_one_line)
{
    free(CLI_OK("import", cli_demo));
    static const char *const cmds[][8] = {
        {"frobnicate"},
        {"--bogus"},
        {"migrate", "--bogus"},
        {"migrate", "extra"},
        {"import"},
        {"agent"},
        {"agent", "dance", "maria"},
        {"agent", "set", "maria"},
        {"agent", "set", "maria", "--max", "0"},
        {"agent", "set", "maria", "--max", "many"},
        {"agent", "set", "maria", "--status", "sleepy"},
        {"agent", "register", "maria", "--expires", "-5"},
        {"agent", "register", "maria", "--expires"},
        {"agent", "set"},
        {"route", "--to", "8005550100"},
        {"route", "--from", "5125550100"},
        {"route", "--to", "8005550100", "--from", "5125550100", "--category", "Bad Cat"},
        {"call", "end"},
        {"call", "stop", "x"},
        {"areacode"},
        {"areacode", "512", "--xml"},
        {"serve", "--twilio-account-sid", "AC123"},
        {"serve", "--twilio-api-key-sid", "AC0123456789abcdef0123456789abcdef"},
        {"serve", "--twilio-twiml-app-sid", "AP0123456789abcdef0123456789abcdeZ"},
        {"serve", "--public-url", "ftp://calls.example.com"},
        {"serve", "--twilio-api-base", "not a url"},
        {"serve", "--twilio-auth-token", ""},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cli_run r = cli_exec(cmds[i]);
        cr_expect_eq(r.status, 2, "%s %s: exit %d (%s)", cmds[i][0], cmds[i][1] ? cmds[i][1] : "",
                     r.status, r.err);
        cr_expect(strncmp(r.err, "sureconnect: ", 13) == 0, "stderr: %s", r.err);
        cr_expect(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "one line: %s", r.err);
        cli_free(&r);
    }
}
