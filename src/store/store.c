/* store.c -- picks the storage backend from a URL, sends each call to the handle's backend,
 * and the backend-independent helpers. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"
#include "store_sqlite.h"

static const char *const store_status_names[] = {
    "routing", "ringing", "connected", "queued", "completed", "callback", "abandoned", "failed",
};

#define STORE_N_STATUSES ((int)(sizeof store_status_names / sizeof store_status_names[0]))

int store_open(const char *url, store **out, char *errbuf, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!url || !url[0] || !out) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "no database given");
        return ERR_INVALID;
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return store_pg_open(url, out, errbuf, errlen);
    /* Everything else is a SQLite file path; "sqlite://" or "sqlite:" prefixes are allowed. */
    if (strncmp(url, "sqlite://", 9) == 0)
        url += 9;
    else if (strncmp(url, "sqlite:", 7) == 0)
        url += 7;
    if (!url[0]) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "no database file given");
        return ERR_INVALID;
    }
    return store_sqlite_open(url, out, errbuf, errlen);
}

/* True when `st` is a PostgreSQL handle (both backends' handles open with their kind). */
static bool store_is_pg(const store *st)
{
    return st && *(const store_kind *)(const void *)st == STORE_KIND_PG;
}

void store_close(store *st)
{
    if (store_is_pg(st))
        store_pg_close(st);
    else
        store_sqlite_close(st);
}

/* store_NAME for every per-handle function: the backend's own. A NULL handle goes to the
 * SQLite backend, whose argument checks answer ERR_INVALID. */
#define STORE_DISPATCH(name, params, args)                                                         \
    int store_##name params                                                                        \
    {                                                                                              \
        return store_is_pg(st) ? store_pg_##name args : store_sqlite_##name args;                  \
    }
STORE_FUNCTIONS(STORE_DISPATCH)
#undef STORE_DISPATCH

void store_call_clear(store_call *call)
{
    if (!call)
        return;
    free(call->tried_json);
    free(call->trace_json);
    memset(call, 0, sizeof *call);
}

const char *store_call_status_name(call_status s)
{
    if ((int)s < 0 || (int)s >= STORE_N_STATUSES)
        return "unknown";
    return store_status_names[s];
}

int store_call_status_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < STORE_N_STATUSES; i++)
        if (strcmp(s, store_status_names[i]) == 0)
            return i;
    return -1;
}
