/* store_sqlite.h -- the SQLite backend's entry point, for the dispatcher in store.c only. */
#ifndef SC_STORE_SQLITE_H
#define SC_STORE_SQLITE_H

#include <stddef.h>

#include "store.h"

/* Opens (creating when needed) the SQLite database file at `path`, sets WAL, synchronous
 * NORMAL, the busy timeout and foreign keys, and applies pending migrations. Returns ERR_OK
 * with *out a new handle (free with store_close()), or an error with detail in errbuf. */
int store_sqlite_open(const char *path, store **out, char *errbuf, size_t errlen);

#endif
