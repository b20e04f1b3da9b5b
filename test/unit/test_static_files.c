/* test_static_files.c -- the web pages' files: URL mapping that never leaves the folder,
 * content types, reads, 404s and ETag revalidation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/static_files.h"

static bool maps(const char *url, const char *want)
{
    char out[STATIC_PATH_MAX];
    if (!static_files_map(url, out, sizeof out))
        return want == NULL;
    return want && strcmp(out, want) == 0;
}

Test(static_files, maps_pages_and_assets)
{
    cr_assert(maps("/", "index.html"));
    cr_assert(maps("/agent", "agent.html"));
    cr_assert(maps("/app.js", "app.js"));
    cr_assert(maps("/style.css", "style.css"));
    cr_assert(maps("/vendor/lib-1.2.min.js", "vendor/lib-1.2.min.js"));
    cr_assert(maps("/agent.html", "agent.html"));
}

Test(static_files, refuses_traversal_and_hidden_files)
{
    static const char *const bad[] = {
        "/..",           "/../etc/passwd", "/a/../../x.js", "/./index.html",
        "/.git/config",  "/.env.js",       "/a//b.js",      "/a/",
        "//index.html",  "/%2e%2e/x.js",   "/..%2fx.js",    "/a\\..\\b.js",
        "/x.js\n",       "/x y.js",        "relative.js",   "",
        "/x.js/",        "/nodot",         "/x.exe",        "/x.",
        "/a/.hidden.js", "/a/..",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert(maps(bad[i], NULL), "accepted %s", bad[i]);
    char longp[STATIC_PATH_MAX + 8];
    memset(longp, 'a', sizeof longp);
    longp[0] = '/';
    memcpy(longp + sizeof longp - 4, ".js", 4);
    cr_assert(maps(longp, NULL));
}

Test(static_files, content_types)
{
    cr_assert_str_eq(static_files_type("index.html"), "text/html; charset=utf-8");
    cr_assert_str_eq(static_files_type("a/b.js"), "text/javascript; charset=utf-8");
    cr_assert_str_eq(static_files_type("m.mjs"), "text/javascript; charset=utf-8");
    cr_assert_str_eq(static_files_type("s.css"), "text/css; charset=utf-8");
    cr_assert_str_eq(static_files_type("i.svg"), "image/svg+xml");
    cr_assert_str_eq(static_files_type("p.png"), "image/png");
    cr_assert_null(static_files_type("x.exe"));
    cr_assert_null(static_files_type("dir.js/noext"));
    cr_assert_null(static_files_type("Makefile"));
}

/* A temporary web root with index.html, a subfolder and a directory named like a file. */
static char root[64];

static void write_file(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    char path[256];
    snprintf(root, sizeof root, "/tmp/sc_static_XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    write_file("index.html", "<h1>hi</h1>");
    snprintf(path, sizeof path, "%s/sub", root);
    mkdir(path, 0700);
    write_file("sub/a.js", "export {};");
    snprintf(path, sizeof path, "%s/dir.js", root);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/link.js", root);
    cr_assert_eq(symlink("/etc/hostname", path), 0);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    cr_assert_eq(system(cmd), 0);
}

Test(static_files, reads_files_with_etag_and_revalidates, .init = setup, .fini = teardown)
{
    static_reply r;
    cr_assert_eq(static_files_get(root, "/", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, 11);
    cr_assert_eq(memcmp(r.body, "<h1>hi</h1>", 11), 0);
    cr_assert_str_eq(r.type, "text/html; charset=utf-8");
    cr_assert_eq(r.etag[0], '"');
    char etag[STATIC_ETAG_MAX];
    snprintf(etag, sizeof etag, "%s", r.etag);
    static_reply_clear(&r);

    cr_assert_eq(static_files_get(root, "/", etag, &r), 0);
    cr_assert_eq(r.status, 304);
    cr_assert_null(r.body);
    static_reply_clear(&r);
    char list[128];
    snprintf(list, sizeof list, "\"other\", W/%s", etag);
    cr_assert_eq(static_files_get(root, "/", list, &r), 0);
    cr_assert_eq(r.status, 304);
    static_reply_clear(&r);
    cr_assert_eq(static_files_get(root, "/", "\"stale\"", &r), 0);
    cr_assert_eq(r.status, 200);
    static_reply_clear(&r);

    cr_assert_eq(static_files_get(root, "/sub/a.js", NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.type, "text/javascript; charset=utf-8");
    static_reply_clear(&r);
}

Test(static_files, missing_directories_and_links_are_404, .init = setup, .fini = teardown)
{
    static const char *const urls[] = {"/agent",   "/nope.js",       "/dir.js",
                                       "/link.js", "/../index.html", "/sub/../index.html"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        static_reply r;
        cr_assert_eq(static_files_get(root, urls[i], NULL, &r), 0, "%s", urls[i]);
        cr_assert_eq(r.status, 404, "%s: %d", urls[i], r.status);
        cr_assert_null(r.body);
        static_reply_clear(&r);
    }
    static_reply r;
    cr_assert_eq(static_files_get(NULL, "/", NULL, &r), 0);
    cr_assert_eq(r.status, 404);
    static_reply_clear(NULL);
}
