/* store_sqlite.h -- the SQLite backend's entry points, for the dispatcher in store.c only. */
#ifndef SC_STORE_SQLITE_H
#define SC_STORE_SQLITE_H

#include <stddef.h>

#include "store_backend.h"

/* Opens (creating when needed) the SQLite database file at `path`, sets WAL, synchronous
 * NORMAL, the busy timeout and foreign keys, and applies pending migrations. Returns ERR_OK
 * with *out a new handle (free with store_close()), or an error with detail in errbuf. */
int store_sqlite_open(const char *path, store **out, char *errbuf, size_t errlen);

/* Closes a SQLite handle (NULL is a no-op). */
void store_sqlite_close(store *st);

/* store_sqlite_NAME: the SQLite implementation of store_NAME, as documented in store.h. */
#define STORE_SQLITE_DECLARE(name, params, args) int store_sqlite_##name params;
STORE_FUNCTIONS(STORE_SQLITE_DECLARE)
#undef STORE_SQLITE_DECLARE

#endif
