/* static_files.c -- serving the web pages from a folder: safe URL mapping, content types,
 * whole-file reads with strong ETags built from the file's size and modification time. */
#include "static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *ext;
    const char *type;
} static_type;

static const static_type static_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"txt", "text/plain; charset=utf-8"},
    {"woff2", "font/woff2"},
};

const char *static_files_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash + 1 : name, '.');
    if (!dot || !dot[1])
        return NULL;
    for (size_t i = 0; i < sizeof static_types / sizeof static_types[0]; i++)
        if (strcmp(dot + 1, static_types[i].ext) == 0)
            return static_types[i].type;
    return NULL;
}

/* True for the bytes a file name may hold. */
static bool static_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '/';
}

bool static_files_map(const char *url, char *out, size_t cap)
{
    const char *name;
    if (!url || url[0] != '/' || strlen(url) >= STATIC_PATH_MAX)
        return false;
    if (strcmp(url, "/") == 0)
        name = "index.html";
    else if (strcmp(url, "/agent") == 0)
        name = "agent.html";
    else
        name = url + 1;
    /* Every segment: non-empty, not starting with '.', only safe bytes. */
    const char *seg = name;
    for (const char *p = name;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == seg || seg[0] == '.')
                return false;
            if (*p == '\0')
                break;
            seg = p + 1;
        } else if (!static_char_ok(*p)) {
            return false;
        }
    }
    if (!static_files_type(name) || strlen(name) >= cap)
        return false;
    snprintf(out, cap, "%s", name);
    return true;
}

/* True when the If-None-Match header lists `etag` (or is "*"). */
static bool static_etag_listed(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    if (!header)
        return false;
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '*')
            return true;
        if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

int static_files_get(const char *root, const char *url, const char *if_none_match,
                     static_reply *out)
{
    char name[STATIC_PATH_MAX], path[4096];
    struct stat sb;
    int rc = -1;
    memset(out, 0, sizeof *out);
    out->status = 404;
    if (!root || !root[0] || !static_files_map(url, name, sizeof name))
        return 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", root, name) >= sizeof path)
        return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EACCES) ? 0 : -1;
    if (fstat(fd, &sb) != 0)
        goto out_close;
    if (!S_ISREG(sb.st_mode) || (unsigned long long)sb.st_size > STATIC_FILE_MAX) {
        rc = 0;
        goto out_close;
    }
    snprintf(out->etag, sizeof out->etag, "\"%llx-%llx\"", (unsigned long long)sb.st_size,
             (unsigned long long)sb.st_mtim.tv_sec * 1000000000ULL +
                 (unsigned long long)sb.st_mtim.tv_nsec);
    out->type = static_files_type(name);
    if (static_etag_listed(if_none_match, out->etag)) {
        out->status = 304;
        rc = 0;
        goto out_close;
    }
    size_t want = (size_t)sb.st_size;
    out->body = malloc(want ? want : 1);
    if (!out->body)
        goto out_close;
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, out->body + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got != want) /* the file changed size under us: fail rather than serve half */
        goto out_close;
    out->len = got;
    out->status = 200;
    rc = 0;
out_close:
    close(fd);
    if (rc < 0)
        static_reply_clear(out);
    return rc;
}

void static_reply_clear(static_reply *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}
