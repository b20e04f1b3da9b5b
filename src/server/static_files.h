/* static_files.h -- the web pages (admin dashboard, agent console) served by the daemon from
 * one folder: URL-to-file mapping that refuses anything outside the folder, content types,
 * and whole-file reads with an ETag for revalidation. Independent of the HTTP library. */
#ifndef SC_STATIC_FILES_H
#define SC_STATIC_FILES_H

#include <stdbool.h>
#include <stddef.h>

#define STATIC_PATH_MAX 256                  /* longer URL paths are refused (404) */
#define STATIC_FILE_MAX (8u * 1024u * 1024u) /* larger files are not served (404) */
#define STATIC_ETAG_MAX 48

/* One answer for a page request. body is malloc'd and owned by the struct (200 only). */
typedef struct {
    int status;                 /* 200, 304 (the client's copy is current) or 404 */
    char *body;                 /* the file's bytes (200), else NULL */
    size_t len;                 /* bytes in body */
    const char *type;           /* Content-Type of the file (static string), NULL on 404 */
    char etag[STATIC_ETAG_MAX]; /* strong ETag, quoted ("" on 404) */
} static_reply;

/* Maps a decoded URL path to a file name relative to the web root: "/" is index.html,
 * "/agent" is agent.html, "/x/y.js" is x/y.js. Refuses (returns false) anything that could
 * leave the folder or reach a hidden file: a segment that starts with '.' ("..", ".git"),
 * empty segments, characters other than A-Z a-z 0-9 '_' '-' '.' '/' (so '%', '\\' and
 * encoded separators left after decoding are refused), paths of STATIC_PATH_MAX bytes or
 * more, and files whose extension has no content type. `out` gets the name (cap bytes). */
bool static_files_map(const char *url, char *out, size_t cap);

/* The Content-Type for a file name by its extension (text types with charset=utf-8), or
 * NULL when the extension is not one the daemon serves. */
const char *static_files_type(const char *name);

/* Answers a GET or HEAD of `url` from the folder `root`: 404 when the path is refused, the
 * file is missing, is not a regular file (directories, symbolic links as the last part) or
 * is larger than STATIC_FILE_MAX; 304 when `if_none_match` (the request header, or NULL)
 * names the current ETag; else 200 with the bytes. Returns 0, or -1 when out of memory or
 * the file cannot be read (nothing to free then). Free the reply with static_reply_clear(). */
int static_files_get(const char *root, const char *url, const char *if_none_match,
                     static_reply *out);

/* Frees the reply's body and zeroes it; NULL is a no-op. */
void static_reply_clear(static_reply *r);

#endif
