/* store_pg.h -- the PostgreSQL backend's entry points, for the dispatcher in store.c only. */
#ifndef SC_STORE_PG_H
#define SC_STORE_PG_H

#include <stddef.h>

#include "store_backend.h"

/* Connects to the PostgreSQL database at `url` (a libpq connection URI, postgres://... or
 * postgresql://...) and applies pending migrations (one daemon at a time, under an advisory
 * lock). Returns ERR_OK with *out a new handle (free with store_close()), or ERR_STORE /
 * ERR_UNSUPPORTED / ERR_NOMEM with detail in errbuf. */
int store_pg_open(const char *url, store **out, char *errbuf, size_t errlen);

/* Closes a PostgreSQL handle and its connection (NULL is a no-op). */
void store_pg_close(store *st);

/* store_pg_NAME: the PostgreSQL implementation of store_NAME, as documented in store.h. */
#define STORE_PG_DECLARE(name, params, args) int store_pg_##name params;
STORE_FUNCTIONS(STORE_PG_DECLARE)
#undef STORE_PG_DECLARE

#endif
