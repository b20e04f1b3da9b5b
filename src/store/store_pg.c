/* store_pg.c -- the PostgreSQL store (SPEC 5) on libpq: the same interface and behaviour as
 * store_sqlite.c for several daemons sharing one database. One connection per handle,
 * prepared statements on the hot path, reconnection after a dropped connection, READ
 * COMMITTED transactions with row locks where SQLite relied on its single writer. */
#include "store_pg.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "migrations_pg.h"
#include "store_common.h"

#define PG_MAX_PARAMS 20

/* Advisory lock keys (the first of pg_advisory_xact_lock's two int4 keys). */
#define PG_LOCK_MIGRATE 0x5c01 /* schema migrations: one daemon at a time */
#define PG_LOCK_QUEUE 0x5c02   /* a campaign's queue admission (second key: its hash) */
#define PG_LOCK_WRITE 0x5c03   /* store_pg_begin's transactions: one at a time (second key 0) */

/* The channel of capacity notifications (store_listen). pg_notify in a statement's
 * RETURNING list sends it without another round trip; the server delivers it at commit and
 * folds identical notifications of one transaction into one. */
#define PG_CHANNEL "sureconnect_capacity"
#define PG_NOTIFY " RETURNING pg_notify('" PG_CHANNEL "', '')"

/* The columns store_call_row() reads, in its order, from STORE_CALL_FROM (the trace lives in
 * its own table since migration 8). */
#define STORE_CALL_COLS                                                                            \
    "c.id, c.external_id, c.campaign, c.tracking_number, c.caller, c.caller_state, c.category,"    \
    " c.status, c.agent, c.rule, c.holds_claim, c.tried_json, coalesce(t.trace_json, '{}'),"       \
    " c.created_ms, c.updated_ms, c.ended_ms, c.queued_ms, c.queue_deadline_ms"
#define STORE_CALL_FROM " FROM calls c LEFT JOIN call_traces t ON t.call_id = c.id"
/* The same columns without the trace ("{}" in its place), for replies that do not show it. */
#define STORE_CALL_COLS_BRIEF                                                                      \
    "id, external_id, campaign, tracking_number, caller, caller_state, category, status, agent,"   \
    " rule, holds_claim, tried_json, '{}', created_ms, updated_ms, ended_ms, queued_ms,"           \
    " queue_deadline_ms"

/* Statements of the hot path, prepared (PQprepare) once per connection on first use; a
 * reconnection forgets them, and they are prepared again. The names are "q<index>". */
enum {
    Q_VERSION,
    Q_LIVE_AGENTS,
    Q_LIVE_RULES,
    Q_CLAIM,
    Q_CURSOR,
    Q_CALL_INSERT,
    Q_CALL_GET,
    Q_CALL_GET_BRIEF,
    Q_CALL_RELEASE,
    Q_AGENT_RELEASE,
    Q_CALL_FINISH,
    Q_CALL_LOCK,
    Q_CALLBACK_UPSERT,
    Q_AGENT_SET,
    Q_AGENT_REGISTER,
    Q_AGENT_STREAM,
    Q_AUTH_LOOKUP,
    Q_QUEUE_LOCK,
    Q_QUEUE_COUNT,
    Q_QUEUE_POSITION,
    Q_TX_LOCK,
    Q_COUNT
};

static const char *const store_sql[Q_COUNT] = {
    [Q_VERSION] = "SELECT value FROM meta WHERE key = 'config_version'",
    [Q_LIVE_AGENTS] = "SELECT seq, status, max_concurrent, active_calls, registered_until_ms,"
                      " last_assigned_ms FROM agents",
    [Q_LIVE_RULES] = "SELECT seq, rr_last_agent FROM rules",
    /* The claim (SPEC 3.5): one conditional statement. Under READ COMMITTED a concurrent
     * claim of the same row waits for the other transaction and then re-checks the WHERE
     * clause against the committed row, so two daemons can never both take the last slot;
     * the outcome is the number of updated rows. */
    [Q_CLAIM] = "UPDATE agents SET active_calls = active_calls + 1, last_assigned_ms = $1"
                " WHERE id = $2 AND status = 'active' AND registered_until_ms > $1"
                " AND active_calls < max_concurrent",
    /* The round-robin cursor: the UPDATE row-locks the rule until the claim's transaction
     * ends, so concurrent routes of one rule move it one after the other (the last to
     * commit wins, as the last writer does in SQLite). */
    [Q_CURSOR] = "UPDATE rules SET rr_last_agent = $2 WHERE id = $1",
    /* The call row and its trace ($18) in one statement: atomic without a transaction of
     * its own, and one round trip. A call's trace is its latest decision's: a no-answer or
     * a queue hand-off replaces it (store_pg_call_update_route). */
    [Q_CALL_INSERT] = "WITH c AS (INSERT INTO calls (id, external_id, campaign, tracking_number,"
                      " caller, caller_state, category, status, agent, rule, holds_claim,"
                      " tried_json, created_ms, updated_ms, ended_ms, queued_ms,"
                      " queue_deadline_ms)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
                      " $15, $16, $17) RETURNING id)"
                      " INSERT INTO call_traces (call_id, trace_json) SELECT id, $18 FROM c"
                      " ON CONFLICT (call_id) DO UPDATE SET trace_json = excluded.trace_json",
    [Q_CALL_GET] = "SELECT " STORE_CALL_COLS STORE_CALL_FROM " WHERE c.id = $1",
    [Q_CALL_GET_BRIEF] = "SELECT " STORE_CALL_COLS_BRIEF " FROM calls WHERE id = $1",
    /* Clearing holds_claim and decrementing happen in one transaction, and only the
     * statement that actually cleared the flag goes on to decrement: exactly once (a
     * concurrent end waits on the row lock, then finds holds_claim = 0). */
    [Q_CALL_RELEASE] = "UPDATE calls SET holds_claim = 0, status = $2, ended_ms = $3,"
                       " updated_ms = $3 WHERE id = $1 AND holds_claim = 1 RETURNING agent",
    [Q_AGENT_RELEASE] = "UPDATE agents SET active_calls = active_calls - 1"
                        " WHERE id = $1 AND active_calls > 0" PG_NOTIFY,
    [Q_CALL_FINISH] = "UPDATE calls SET status = CASE status WHEN 'queued' THEN 'abandoned'"
                      " ELSE $2::text END, ended_ms = $3, updated_ms = $3, queue_deadline_ms = 0"
                      " WHERE id = $1 AND status NOT IN ('completed', 'callback', 'abandoned',"
                      " 'failed') RETURNING status",
    /* Ending a call is two steps (release the claim, else finish the call). Under READ
     * COMMITTED another transaction could change the row between them (a queued caller
     * handed off to an agent just as it hangs up: the release finds no claim, then the finish
     * would end the call while it holds one). Locking the row first makes both steps see
     * the same row, as SQLite's single writer does. */
    [Q_CALL_LOCK] = "SELECT 1 FROM calls WHERE id = $1 FOR UPDATE",
    /* One open callback per caller and campaign, also across daemons: the partial unique
     * index decides, and ON CONFLICT turns the second insert into the bump. */
    [Q_CALLBACK_UPSERT] =
        "INSERT INTO callbacks (call_id, campaign, tracking_number, caller, caller_state,"
        " category, reason, open, completed_by, attempts, created_ms, updated_ms)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, 1, '', 1, $8, $8)"
        " ON CONFLICT (campaign, caller) WHERE open = 1 DO UPDATE SET"
        " attempts = callbacks.attempts + 1, updated_ms = excluded.updated_ms,"
        " call_id = excluded.call_id, reason = excluded.reason"
        " RETURNING id, attempts, created_ms",
    [Q_AGENT_SET] = "UPDATE agents SET status = COALESCE($2::text, status),"
                    " max_concurrent = CASE WHEN $3::int > 0 THEN $3::int ELSE max_concurrent END,"
                    " updated_ms = $4 WHERE id = $1" PG_NOTIFY,
    [Q_AGENT_REGISTER] = "UPDATE agents SET presence_until_ms = $2::bigint,"
                         " registered_until_ms = GREATEST($2::bigint, stream_until_ms)"
                         " WHERE id = $1" PG_NOTIFY,
    [Q_AGENT_STREAM] = "UPDATE agents SET stream_until_ms = $2::bigint,"
                       " registered_until_ms = GREATEST(presence_until_ms, $2::bigint)"
                       " WHERE id = $1" PG_NOTIFY,
    [Q_AUTH_LOOKUP] = "SELECT 1, id, name, '' FROM api_keys"
                      " WHERE secret_sha256 = $1 AND revoked_ms = 0"
                      " UNION ALL SELECT 2, id, '', agent_id FROM agent_tokens"
                      " WHERE secret_sha256 = $1 AND revoked_ms = 0 LIMIT 1",
    /* Queue admission (SPEC 3.7): SQLite's single writer makes "count the waiting callers,
     * then join" atomic. Here a transaction-level advisory lock per campaign does: two
     * daemons admitting callers to one campaign take turns until commit, and the count,
     * run as the next statement, sees every caller the other one admitted. A row lock
     * would not do: the callers being counted do not exist yet. */
    [Q_QUEUE_LOCK] = "SELECT pg_advisory_xact_lock(23554, hashtext($1))",
    [Q_QUEUE_COUNT] = "SELECT count(*) FROM calls WHERE status = 'queued'"
                      " AND ($1 = '' OR campaign = $1)",
    /* PG_LOCK_WRITE, until the transaction ends (store_pg_begin). */
    [Q_TX_LOCK] = "SELECT pg_advisory_xact_lock(23555, 0)",
    [Q_QUEUE_POSITION] = "SELECT count(*) FROM calls WHERE status = 'queued' AND campaign = $1"
                         " AND (created_ms < $2 OR (created_ms = $2 AND id < $3))",
};

struct store {
    store_kind kind; /* STORE_KIND_PG: first, for store.c */
    PGconn *conn;
    bool prepared[Q_COUNT];
    bool tx_lost;      /* the connection dropped inside a transaction not yet rolled back */
    bool listening;    /* store_listen was called: LISTEN again after a reconnection */
    store_cache cache; /* the static configuration */
    char err[STORE_ERR_MAX];
};

/* The text parameters of one statement; integers are formatted into num. */
typedef struct {
    const char *v[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
    int n;
} pg_args;

static void arg_s(pg_args *a, const char *s)
{
    a->v[a->n++] = s;
}

static void arg_i(pg_args *a, long long x)
{
    snprintf(a->num[a->n], sizeof a->num[a->n], "%lld", x);
    a->v[a->n] = a->num[a->n];
    a->n++;
}

/* ---- small helpers ------------------------------------------------------------------- */

static void store_errout(const store *st, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        store_common_copy(errbuf, errlen, st->err);
}

static int store_nomem(store *st)
{
    snprintf(st->err, sizeof st->err, "out of memory");
    return ERR_NOMEM;
}

static const char *col(const PGresult *r, int row, int c)
{
    return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

static long long col_ll(const PGresult *r, int row, int c)
{
    return strtoll(PQgetvalue(r, row, c), NULL, 10);
}

static int col_int(const PGresult *r, int row, int c)
{
    return (int)strtol(PQgetvalue(r, row, c), NULL, 10);
}

static void col_copy(const PGresult *r, int row, int c, char *dst, size_t cap)
{
    store_common_copy(dst, cap, col(r, row, c));
}

static char *col_strdup(const PGresult *r, int row, int c)
{
    return store_common_strdup(col(r, row, c));
}

/* The number of rows a command changed (PQcmdTuples). */
static long long cmd_rows(PGresult *r)
{
    return strtoll(PQcmdTuples(r), NULL, 10);
}

/* Records the server's message for `what` and maps its SQLSTATE to an err_code: integrity
 * violations (class 23: unique, foreign key, check, not null) are conflicts, as SQLite's
 * SQLITE_CONSTRAINT is; out of memory is ERR_NOMEM; everything else ERR_STORE. */
static int store_fail(store *st, const PGresult *r, const char *what)
{
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !msg[0])
        msg = PQerrorMessage(st->conn);
    snprintf(st->err, sizeof st->err, "%s: %s", what, msg && msg[0] ? msg : "unknown error");
    size_t n = strlen(st->err);
    while (n > 0 && (st->err[n - 1] == '\n' || st->err[n - 1] == ' '))
        st->err[--n] = '\0';
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && strncmp(state, "23", 2) == 0)
        return ERR_CONFLICT;
    if (state && strcmp(state, "53200") == 0)
        return ERR_NOMEM;
    return ERR_STORE;
}

/* True inside a transaction, including one whose connection was lost (until the caller's
 * rollback or commit ends it). */
static bool store_in_tx(store *st)
{
    PGTransactionStatusType ts = PQtransactionStatus(st->conn);
    return st->tx_lost || (ts != PQTRANS_IDLE && ts != PQTRANS_UNKNOWN);
}

/* Re-establishes a dropped connection (PQreset); the server forgot the prepared statements
 * and any open transaction with it. Returns true when the connection is up again. */
static bool store_reconnect(store *st)
{
    PQreset(st->conn);
    memset(st->prepared, 0, sizeof st->prepared);
    if (PQstatus(st->conn) != CONNECTION_OK)
        return false;
    if (st->listening) {
        PGresult *r = PQexec(st->conn, "LISTEN " PG_CHANNEL);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        return ok;
    }
    return true;
}

/* Runs one statement: the prepared statement `which` (>= 0), or else `sql` with `a` as
 * text parameters. A statement that failed because the connection dropped, and that did
 * not run inside a transaction (where the work before it is lost with the connection), is
 * retried once on a new connection. Returns the result (the caller PQclear()s it), or NULL
 * with *err set and the detail in st->err. */
static PGresult *store_q(store *st, int which, const char *sql, const pg_args *a, const char *what,
                         int *err)
{
    static const pg_args none = {.n = 0};
    char name[16];
    if (!a)
        a = &none;
    if (st->tx_lost) {
        /* Running on in autocommit would split the caller's transaction: refuse until the
         * caller ends it. */
        snprintf(st->err, sizeof st->err, "%s: the connection was lost inside a transaction", what);
        *err = ERR_STORE;
        return NULL;
    }
    if (which >= 0) {
        snprintf(name, sizeof name, "q%d", which);
        sql = store_sql[which];
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        bool retryable = attempt == 0 && !store_in_tx(st);
        PGresult *r = NULL;
        if (PQstatus(st->conn) == CONNECTION_BAD && retryable && !store_reconnect(st))
            break;
        if (which >= 0 && !st->prepared[which]) {
            r = PQprepare(st->conn, name, sql, 0, NULL);
            if (PQresultStatus(r) == PGRES_COMMAND_OK) {
                st->prepared[which] = true;
                PQclear(r);
                r = NULL;
            }
        }
        if (!r)
            r = which >= 0 ? PQexecPrepared(st->conn, name, a->n, a->v, NULL, NULL, 0)
                           : PQexecParams(st->conn, sql, a->n, NULL, a->v, NULL, NULL, 0);
        ExecStatusType rs = PQresultStatus(r);
        if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
            *err = ERR_OK;
            return r;
        }
        if (PQstatus(st->conn) == CONNECTION_BAD && !retryable && attempt == 0)
            st->tx_lost = true;
        if (PQstatus(st->conn) == CONNECTION_BAD && retryable) {
            PQclear(r);
            if (store_reconnect(st))
                continue;
            snprintf(st->err, sizeof st->err, "%s: connection lost: %s", what,
                     PQerrorMessage(st->conn));
            *err = ERR_STORE;
            return NULL;
        }
        *err = store_fail(st, r, what);
        PQclear(r);
        return NULL;
    }
    snprintf(st->err, sizeof st->err, "%s: connection lost: %s", what, PQerrorMessage(st->conn));
    *err = ERR_STORE;
    return NULL;
}

/* Runs a statement whose result is not needed. Returns ERR_OK or a negative err_code. */
static int store_run(store *st, int which, const char *sql, const pg_args *a, const char *what)
{
    int err;
    PGresult *r = store_q(st, which, sql, a, what, &err);
    PQclear(r);
    return err;
}

/* Runs an UPDATE/DELETE: ERR_OK when it changed a row, ERR_NOT_FOUND when none. */
static int store_changed_or_missing(store *st, int which, const char *sql, const pg_args *a,
                                    const char *what)
{
    int err;
    PGresult *r = store_q(st, which, sql, a, what, &err);
    if (!r)
        return err;
    long long n = cmd_rows(r);
    PQclear(r);
    return n > 0 ? ERR_OK : ERR_NOT_FOUND;
}

/* Runs SQL text without parameters (several statements allowed: migrations). */
static int store_exec(store *st, const char *sql, const char *what)
{
    PGresult *r = PQexec(st->conn, sql);
    ExecStatusType rs = PQresultStatus(r);
    int err = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK ? ERR_OK : store_fail(st, r, what);
    PQclear(r);
    return err;
}

/* Functions that "run their own transaction" start one when none is open; inside the
 * caller's transaction they take a savepoint instead, so a failure undoes only their own
 * work (and leaves the caller's transaction usable, as SQLite does). */
static int store_tx_enter(store *st, bool *nested)
{
    *nested = store_in_tx(st);
    if (*nested)
        return store_exec(st, "SAVEPOINT store_op", "savepoint");
    /* BEGIN goes through store_q so that a connection dropped while idle is re-opened. */
    return store_run(st, -1, "BEGIN", NULL, "begin");
}

static int store_tx_leave(store *st, bool nested, int rc)
{
    if (rc >= 0) {
        int c =
            store_exec(st, nested ? "RELEASE store_op" : "COMMIT", nested ? "release" : "commit");
        if (c == ERR_OK)
            return rc;
        rc = c;
    }
    char keep[STORE_ERR_MAX];
    store_common_copy(keep, sizeof keep, st->err);
    if (nested && !st->tx_lost) {
        store_exec(st, "ROLLBACK TO store_op", "rollback");
        store_exec(st, "RELEASE store_op", "release");
    } else if (!nested) {
        store_pg_rollback(st);
    }
    store_common_copy(st->err, sizeof st->err, keep);
    return rc;
}

/* ---- open, migrations, close ---------------------------------------------------------- */

/* Server notices ("relation already exists, skipping") are not for the daemon's log. */
static void store_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int store_max_version(store *st, int *version)
{
    int err;
    PGresult *r = store_q(st, -1, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL,
                          "schema version", &err);
    if (!r)
        return err;
    *version = col_int(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

/* Takes the migration lock in the current transaction: daemons starting together on one
 * database migrate one after the other, and each re-reads the version under the lock. */
static int store_migrate_lock(store *st)
{
    return store_exec(st, "SELECT pg_advisory_xact_lock(23553, 0)", "migration lock");
}

/* Applies one migration in its own transaction with its schema_migrations row, unless
 * another daemon got there first. DDL is transactional here: all or nothing. */
static int store_apply_migration(store *st, const store_pg_migration *m)
{
    char what[96];
    int current = 0;
    pg_args a = {.n = 0};
    int rc = store_exec(st, "BEGIN", "begin migration");
    if (rc < 0)
        return rc;
    if ((rc = store_migrate_lock(st)) < 0 || (rc = store_max_version(st, &current)) < 0 ||
        current >= m->version)
        goto out_end_tx;
    snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
    if ((rc = store_exec(st, m->sql, what)) < 0)
        goto out_end_tx;
    arg_i(&a, m->version);
    arg_s(&a, m->name);
    arg_i(&a, store_common_wall_ms());
    rc = store_run(st, -1,
                   "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
                   &a, what);
out_end_tx:
    return store_tx_leave(st, false, rc);
}

static int store_migrate(store *st)
{
    int version = 0;
    int rc = store_exec(st, "BEGIN", "begin");
    if (rc == ERR_OK && (rc = store_migrate_lock(st)) == ERR_OK)
        rc = store_exec(st, STORE_PG_MIGRATIONS_TABLE, "create schema_migrations");
    if (rc == ERR_OK)
        rc = store_max_version(st, &version);
    if ((rc = store_tx_leave(st, false, rc)) < 0)
        return rc;
    if (version > STORE_PG_MIGRATIONS_COUNT) {
        snprintf(st->err, sizeof st->err,
                 "the database has schema version %d, newer than this build's %d", version,
                 STORE_PG_MIGRATIONS_COUNT);
        return ERR_UNSUPPORTED;
    }
    for (int i = version; i < STORE_PG_MIGRATIONS_COUNT; i++) {
        rc = store_apply_migration(st, &store_pg_migrations[i]);
        if (rc < 0)
            return rc;
    }
    return ERR_OK;
}

int store_pg_open(const char *url, store **out, char *errbuf, size_t errlen)
{
    int rc;
    if (!url || !out)
        return ERR_INVALID;
    *out = NULL;
    store *st = calloc(1, sizeof *st);
    if (!st) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "out of memory");
        return ERR_NOMEM;
    }
    st->kind = STORE_KIND_PG;
    st->conn = PQconnectdb(url);
    if (!st->conn) {
        rc = store_nomem(st);
        goto out_close;
    }
    if (PQstatus(st->conn) != CONNECTION_OK) {
        /* The URL may hold a password: name only what failed. */
        snprintf(st->err, sizeof st->err, "cannot connect to PostgreSQL: %s",
                 PQerrorMessage(st->conn));
        size_t n = strlen(st->err);
        while (n > 0 && st->err[n - 1] == '\n')
            st->err[--n] = '\0';
        rc = ERR_STORE;
        goto out_close;
    }
    PQsetNoticeProcessor(st->conn, store_quiet, NULL);
    /* READ COMMITTED is the server's default; say so, whatever the database's setting. */
    rc = store_exec(st, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
                    "configure session");
    if (rc < 0)
        goto out_close;
    rc = store_migrate(st);
    if (rc < 0)
        goto out_close;
    *out = st;
    return ERR_OK;

out_close:
    store_errout(st, errbuf, errlen);
    store_pg_close(st);
    return rc;
}

void store_pg_close(store *st)
{
    if (!st)
        return;
    PQfinish(st->conn);
    store_common_cache_free(&st->cache);
    free(st);
}

int store_pg_schema_version(store *st)
{
    int version = 0;
    if (!st)
        return ERR_INVALID;
    int rc = store_max_version(st, &version);
    return rc < 0 ? rc : version;
}

/* ---- transactions --------------------------------------------------------------------- */

/* BEGIN (READ COMMITTED), then the advisory lock PG_LOCK_WRITE until the transaction ends:
 * the callers' transactions (the writer's batches, the dispatcher's passes, routes and
 * failovers, stream renewals, configuration edits) run one at a time across every daemon,
 * as SQLite's BEGIN IMMEDIATE makes them. They lock several agent rows each, in orders of
 * their own: two of them running together, on two daemons, could deadlock, and PostgreSQL
 * only notices after deadlock_timeout (a second), which two daemons under load hit all the
 * time. A transaction waiting for the lock holds no row yet, so the lock cannot be part of
 * a deadlock. Within the transactions, the statements still lock what they depend on (the
 * claim and the cursor lock their rows by updating them, queue admission takes its
 * campaign's advisory lock, store_pg_queue_list locks the callers it takes), which keeps
 * them right beside the single statements and the stores' own short transactions that do
 * not take the lock. */
int store_pg_begin(store *st)
{
    if (!st)
        return ERR_INVALID;
    if (store_in_tx(st)) {
        snprintf(st->err, sizeof st->err, "a transaction is already open");
        return ERR_CONFLICT;
    }
    int rc = store_run(st, -1, "BEGIN", NULL, "begin");
    if (rc == ERR_OK && (rc = store_run(st, Q_TX_LOCK, NULL, NULL, "lock writers")) < 0)
        store_pg_rollback(st);
    return rc;
}

int store_pg_commit(store *st)
{
    if (!st)
        return ERR_INVALID;
    if (!store_in_tx(st)) {
        snprintf(st->err, sizeof st->err, "no transaction is open");
        return ERR_CONFLICT;
    }
    if (st->tx_lost) {
        store_pg_rollback(st);
        snprintf(st->err, sizeof st->err, "commit: the connection was lost inside the transaction");
        return ERR_STORE;
    }
    /* COMMIT of a failed transaction answers "ROLLBACK" without an error: report it. */
    bool failed = PQtransactionStatus(st->conn) == PQTRANS_INERROR;
    PGresult *r = PQexec(st->conn, "COMMIT");
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? ERR_OK : store_fail(st, r, "commit");
    if (rc == ERR_OK && (failed || strcmp(PQcmdStatus(r), "ROLLBACK") == 0)) {
        snprintf(st->err, sizeof st->err, "commit: the transaction had failed and was rolled back");
        rc = ERR_STORE;
    }
    PQclear(r);
    if (rc < 0)
        store_pg_rollback(st);
    return rc;
}

int store_pg_rollback(store *st)
{
    if (!st)
        return ERR_INVALID;
    if (st->tx_lost || PQstatus(st->conn) == CONNECTION_BAD) {
        /* The transaction died with the connection: nothing to undo, just reconnect. */
        st->tx_lost = false;
        store_reconnect(st);
        return ERR_OK;
    }
    if (!store_in_tx(st))
        return ERR_OK;
    return store_exec(st, "ROLLBACK", "rollback");
}

/* ---- configuration: replace ----------------------------------------------------------- */

/* The same steps as the SQLite store: existing rows are first marked with seq = -1; the
 * upserts give every row of the new configuration its seq; rows still marked are the
 * removed ones. Live columns are never in an upsert's SET list. */
static const char *const pg_upsert_agent =
    "INSERT INTO agents (id, seq, name, status, max_concurrent, states, categories,"
    " softphone_type, softphone_address, registered_until_ms, last_assigned_ms, updated_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, name = excluded.name,"
    " status = excluded.status, max_concurrent = excluded.max_concurrent,"
    " states = excluded.states, categories = excluded.categories,"
    " softphone_type = excluded.softphone_type,"
    " softphone_address = excluded.softphone_address, updated_ms = excluded.updated_ms";

static const char *const pg_upsert_campaign =
    "INSERT INTO campaigns (id, seq, name, default_category, ring_timeout_s, queue_enabled,"
    " queue_max_size, queue_max_wait_s, hold_music_url, friendly_message,"
    " discord_webhook_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, name = excluded.name,"
    " default_category = excluded.default_category,"
    " ring_timeout_s = excluded.ring_timeout_s, queue_enabled = excluded.queue_enabled,"
    " queue_max_size = excluded.queue_max_size,"
    " queue_max_wait_s = excluded.queue_max_wait_s,"
    " hold_music_url = excluded.hold_music_url,"
    " friendly_message = excluded.friendly_message,"
    " discord_webhook_url = excluded.discord_webhook_url";

static const char *const pg_upsert_rule =
    "INSERT INTO rules (id, seq, campaign_id, name, position, enabled, states, categories,"
    " mode, rr_last_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq,"
    " campaign_id = excluded.campaign_id, name = excluded.name,"
    " position = excluded.position, enabled = excluded.enabled,"
    " states = excluded.states, categories = excluded.categories, mode = excluded.mode";

static int store_expect_count(store *st, const char *sql, int want, const char *kind)
{
    int err;
    PGresult *r = store_q(st, -1, sql, NULL, kind, &err);
    if (!r)
        return err;
    long long have = col_ll(r, 0, 0);
    PQclear(r);
    if (have != want) {
        snprintf(st->err, sizeof st->err, "duplicate %s id in the configuration", kind);
        return ERR_INVALID;
    }
    return ERR_OK;
}

static int store_write_agents(store *st, const config *cfg, int64_t now)
{
    char states[STORE_STATES_TEXT_MAX], cats[STORE_CATEGORIES_TEXT_MAX], what[96];
    for (int i = 0; i < cfg->n_agents; i++) {
        const config_agent *a = &cfg->agents[i];
        pg_args p = {.n = 0};
        store_common_states_text(a->states, states, sizeof states);
        store_common_categories_text(cfg, a->categories, cats, sizeof cats);
        arg_s(&p, a->id);
        arg_i(&p, i);
        arg_s(&p, a->name);
        arg_s(&p, config_status_name(a->status));
        arg_i(&p, a->max_concurrent);
        arg_s(&p, states);
        arg_s(&p, cats);
        arg_s(&p, config_softphone_name(a->softphone));
        arg_s(&p, a->softphone_address);
        arg_i(&p, a->registered_until_ms);
        arg_i(&p, a->last_assigned_ms);
        arg_i(&p, now);
        snprintf(what, sizeof what, "agent %s", a->id);
        int rc = store_run(st, -1, pg_upsert_agent, &p, what);
        if (rc < 0)
            return rc;
    }
    return store_expect_count(st, "SELECT count(*) FROM agents WHERE seq >= 0", cfg->n_agents,
                              "agent");
}

static int store_write_campaigns(store *st, const config *cfg)
{
    char what[96];
    for (int i = 0; i < cfg->n_campaigns; i++) {
        const config_campaign *c = &cfg->campaigns[i];
        pg_args p = {.n = 0};
        arg_s(&p, c->id);
        arg_i(&p, i);
        arg_s(&p, c->name);
        arg_s(&p, c->default_category);
        arg_i(&p, c->ring_timeout_s);
        arg_i(&p, c->queue_enabled ? 1 : 0);
        arg_i(&p, c->queue_max_size);
        arg_i(&p, c->queue_max_wait_s);
        arg_s(&p, c->hold_music_url);
        arg_s(&p, c->friendly_message);
        arg_s(&p, c->discord_webhook_url);
        snprintf(what, sizeof what, "campaign %s", c->id);
        int rc = store_run(st, -1, pg_upsert_campaign, &p, what);
        if (rc < 0)
            return rc;
    }
    return store_expect_count(st, "SELECT count(*) FROM campaigns WHERE seq >= 0", cfg->n_campaigns,
                              "campaign");
}

static int store_write_rules(store *st, const config *cfg)
{
    char states[STORE_STATES_TEXT_MAX], cats[STORE_CATEGORIES_TEXT_MAX], what[96];
    for (int i = 0; i < cfg->n_rules; i++) {
        const config_rule *r = &cfg->rules[i];
        pg_args p = {.n = 0};
        store_common_states_text(r->states, states, sizeof states);
        store_common_categories_text(cfg, r->categories, cats, sizeof cats);
        arg_s(&p, r->id);
        arg_i(&p, i);
        arg_s(&p, cfg->campaigns[r->campaign].id);
        arg_s(&p, r->name);
        arg_i(&p, r->position);
        arg_i(&p, r->enabled ? 1 : 0);
        arg_s(&p, states);
        arg_s(&p, cats);
        arg_s(&p, config_mode_name(r->mode));
        arg_s(&p, r->rr_last_agent >= 0 ? cfg->agents[r->rr_last_agent].id : NULL);
        snprintf(what, sizeof what, "rule %s", r->id);
        int rc = store_run(st, -1, pg_upsert_rule, &p, what);
        if (rc < 0)
            return rc;
    }
    return store_expect_count(st, "SELECT count(*) FROM rules WHERE seq >= 0", cfg->n_rules,
                              "rule");
}

static int store_write_numbers_members(store *st, const config *cfg)
{
    char what[96];
    for (int i = 0; i < cfg->n_numbers; i++) {
        const config_number *n = &cfg->numbers[i];
        pg_args p = {.n = 0};
        arg_s(&p, n->number);
        arg_s(&p, cfg->campaigns[n->campaign].id);
        arg_s(&p, n->category);
        snprintf(what, sizeof what, "tracking number %s", n->number);
        int rc = store_run(st, -1,
                           "INSERT INTO tracking_numbers (number, campaign_id, category)"
                           " VALUES ($1, $2, $3)",
                           &p, what);
        if (rc < 0)
            return rc;
    }
    for (int i = 0; i < cfg->n_rules; i++) {
        const config_rule *r = &cfg->rules[i];
        for (int m = 0; m < r->n_members; m++) {
            pg_args p = {.n = 0};
            arg_s(&p, r->id);
            arg_i(&p, m);
            arg_s(&p, cfg->agents[r->members[m].agent].id);
            arg_i(&p, r->members[m].priority);
            arg_i(&p, r->members[m].weight);
            snprintf(what, sizeof what, "rule %s member %d", r->id, m);
            int rc = store_run(st, -1,
                               "INSERT INTO rule_members (rule_id, seq, agent_id, priority, weight)"
                               " VALUES ($1, $2, $3, $4, $5)",
                               &p, what);
            if (rc < 0)
                return rc;
        }
    }
    return ERR_OK;
}

int store_pg_config_replace(store *st, const config *cfg, char *errbuf, size_t errlen)
{
    bool nested = false;
    int rc;
    if (!st || !cfg)
        return ERR_INVALID;
    rc = store_common_check_indexes(cfg, st->err, sizeof st->err);
    if (rc < 0)
        goto out_report;
    rc = store_tx_enter(st, &nested);
    if (rc < 0)
        goto out_report;
    static const char *const steps_before[] = {
        "DELETE FROM rule_members", "DELETE FROM tracking_numbers", "UPDATE agents SET seq = -1"};
    for (size_t i = 0; rc >= 0 && i < sizeof steps_before / sizeof steps_before[0]; i++)
        rc = store_run(st, -1, steps_before[i], NULL, "clear configuration");
    if (rc >= 0)
        rc = store_write_agents(st, cfg, store_common_wall_ms());
    if (rc >= 0)
        rc = store_run(st, -1, "DELETE FROM agents WHERE seq < 0", NULL, "delete removed agents");
    if (rc >= 0)
        rc = store_run(st, -1, "UPDATE campaigns SET seq = -1", NULL, "mark campaigns");
    if (rc >= 0)
        rc = store_write_campaigns(st, cfg);
    if (rc >= 0)
        rc = store_run(st, -1, "UPDATE rules SET seq = -1", NULL, "mark rules");
    if (rc >= 0)
        rc = store_write_rules(st, cfg);
    if (rc >= 0)
        rc = store_run(st, -1, "DELETE FROM rules WHERE seq < 0", NULL, "delete removed rules");
    /* Only now: a removed campaign's delete cascades to its rules, and a rule that moved
     * to another campaign must have moved first to keep its cursor. */
    if (rc >= 0)
        rc = store_run(st, -1, "DELETE FROM campaigns WHERE seq < 0", NULL,
                       "delete removed campaigns");
    if (rc >= 0)
        rc = store_write_numbers_members(st, cfg);
    if (rc >= 0)
        rc = store_run(st, -1,
                       "UPDATE meta SET value = value + 1 WHERE key = 'config_version'" PG_NOTIFY,
                       NULL, "bump configuration version");
    /* A constraint failure means the configuration itself is bad, not the database. */
    if (rc == ERR_CONFLICT)
        rc = ERR_INVALID;
    rc = store_tx_leave(st, nested, rc);
out_report:
    if (rc < 0)
        store_errout(st, errbuf, errlen);
    return rc < 0 ? rc : ERR_OK;
}

/* ---- configuration: load -------------------------------------------------------------- */

static int store_load_campaigns(store *st, config *cfg, const PGresult *r)
{
    for (int row = 0; row < PQntuples(r); row++) {
        config_campaign c;
        memset(&c, 0, sizeof c);
        if (col_int(r, row, 0) != cfg->n_campaigns) {
            snprintf(st->err, sizeof st->err, "campaign order is corrupt");
            return ERR_STORE;
        }
        col_copy(r, row, 1, c.id, sizeof c.id);
        col_copy(r, row, 2, c.name, sizeof c.name);
        col_copy(r, row, 3, c.default_category, sizeof c.default_category);
        c.ring_timeout_s = col_int(r, row, 4);
        c.queue_enabled = col_int(r, row, 5) != 0;
        c.queue_max_size = col_int(r, row, 6);
        c.queue_max_wait_s = col_int(r, row, 7);
        col_copy(r, row, 8, c.hold_music_url, sizeof c.hold_music_url);
        col_copy(r, row, 9, c.friendly_message, sizeof c.friendly_message);
        col_copy(r, row, 10, c.discord_webhook_url, sizeof c.discord_webhook_url);
        if (c.default_category[0] && !config_category_bit(cfg, c.default_category)) {
            snprintf(st->err, sizeof st->err, "bad category of campaign %s", c.id);
            return ERR_STORE;
        }
        if (config_add_campaign(cfg, &c) < 0)
            return store_nomem(st);
    }
    return ERR_OK;
}

static int store_load_agents(store *st, config *cfg, const PGresult *r)
{
    for (int row = 0; row < PQntuples(r); row++) {
        config_agent a;
        memset(&a, 0, sizeof a);
        if (col_int(r, row, 0) != cfg->n_agents) {
            snprintf(st->err, sizeof st->err, "agent order is corrupt");
            return ERR_STORE;
        }
        col_copy(r, row, 1, a.id, sizeof a.id);
        col_copy(r, row, 2, a.name, sizeof a.name);
        a.status = (agent_status)store_common_parse_status(col(r, row, 3));
        a.max_concurrent = col_int(r, row, 4);
        a.active_calls = col_int(r, row, 5);
        int rc =
            store_common_parse_list(cfg, col(r, row, 6), true, &a.states, st->err, sizeof st->err);
        if (rc == ERR_OK)
            rc = store_common_parse_list(cfg, col(r, row, 7), false, &a.categories, st->err,
                                         sizeof st->err);
        if (rc < 0)
            return rc;
        int soft = config_softphone_parse(col(r, row, 8));
        a.softphone = soft < 0 ? SOFTPHONE_CLIENT : (softphone_type)soft;
        col_copy(r, row, 9, a.softphone_address, sizeof a.softphone_address);
        a.registered_until_ms = col_ll(r, row, 10);
        a.last_assigned_ms = col_ll(r, row, 11);
        if (config_add_agent(cfg, &a) < 0)
            return store_nomem(st);
    }
    return ERR_OK;
}

static int store_load_numbers(store *st, config *cfg, const PGresult *r)
{
    for (int row = 0; row < PQntuples(r); row++) {
        config_number n;
        memset(&n, 0, sizeof n);
        col_copy(r, row, 0, n.number, sizeof n.number);
        n.campaign = col_int(r, row, 1);
        col_copy(r, row, 2, n.category, sizeof n.category);
        if (n.category[0] && !config_category_bit(cfg, n.category)) {
            snprintf(st->err, sizeof st->err, "bad category of number %s", n.number);
            return ERR_STORE;
        }
        if (config_add_number(cfg, &n) < 0)
            return store_nomem(st);
    }
    return ERR_OK;
}

/* Loads the rules with their members (`m`: every member row, ordered by rule seq then
 * member seq); *ids receives each rule's id by seq (caller frees) to map seq -> index once
 * config_finish() has sorted the rules. */
static int store_load_rules(store *st, config *cfg, const PGresult *r, const PGresult *m,
                            char (**ids)[CONFIG_ID_MAX])
{
    config_member *members = NULL;
    int cap_members = 0, cap_ids = 0, rc = ERR_OK, mrow = 0, n_m = PQntuples(m);
    for (int row = 0; row < PQntuples(r); row++) {
        config_rule ru;
        memset(&ru, 0, sizeof ru);
        int seq = col_int(r, row, 0);
        if (seq != cfg->n_rules) {
            snprintf(st->err, sizeof st->err, "rule order is corrupt");
            rc = ERR_STORE;
            goto out_free_members;
        }
        col_copy(r, row, 1, ru.id, sizeof ru.id);
        ru.campaign = col_int(r, row, 2);
        col_copy(r, row, 3, ru.name, sizeof ru.name);
        ru.position = col_int(r, row, 4);
        ru.enabled = col_int(r, row, 5) != 0;
        rc =
            store_common_parse_list(cfg, col(r, row, 6), true, &ru.states, st->err, sizeof st->err);
        if (rc == ERR_OK)
            rc = store_common_parse_list(cfg, col(r, row, 7), false, &ru.categories, st->err,
                                         sizeof st->err);
        if (rc < 0)
            goto out_free_members;
        int mode = config_mode_parse(col(r, row, 8));
        ru.mode = mode < 0 ? MODE_PRIORITY : (dist_mode)mode;
        ru.rr_last_agent = -1; /* live: applied on every load */
        while (mrow < n_m && col_int(m, mrow, 0) < seq)
            mrow++;
        for (; mrow < n_m && col_int(m, mrow, 0) == seq; mrow++) {
            if (ru.n_members == cap_members) {
                int ncap = cap_members ? cap_members * 2 : 16;
                config_member *grown = realloc(members, (size_t)ncap * sizeof *grown);
                if (!grown) {
                    rc = store_nomem(st);
                    goto out_free_members;
                }
                members = grown;
                cap_members = ncap;
            }
            config_member *cm = &members[ru.n_members++];
            cm->agent = col_int(m, mrow, 1);
            cm->priority = col_int(m, mrow, 2);
            cm->weight = col_int(m, mrow, 3);
        }
        ru.members = members;
        if (store_common_ids_push(ids, &cap_ids, cfg->n_rules, ru.id) < 0 ||
            config_add_rule(cfg, &ru) < 0) {
            rc = store_nomem(st);
            goto out_free_members;
        }
    }
out_free_members:
    free(members);
    return rc;
}

static const char *const store_load_sql[] = {
    "SELECT seq, id, name, default_category, ring_timeout_s, queue_enabled, queue_max_size,"
    " queue_max_wait_s, hold_music_url, friendly_message, discord_webhook_url"
    " FROM campaigns ORDER BY seq",
    "SELECT seq, id, name, status, max_concurrent, active_calls, states, categories,"
    " softphone_type, softphone_address, registered_until_ms, last_assigned_ms"
    " FROM agents ORDER BY seq",
    "SELECT n.number, c.seq, n.category FROM tracking_numbers n"
    " JOIN campaigns c ON c.id = n.campaign_id ORDER BY n.number COLLATE \"C\"",
    "SELECT r.seq, r.id, c.seq, r.name, r.position, r.enabled, r.states, r.categories, r.mode"
    " FROM rules r JOIN campaigns c ON c.id = r.campaign_id ORDER BY r.seq",
    /* Every rule's members in one query (one round trip, not one per rule). */
    "SELECT r.seq, a.seq, m.priority, m.weight FROM rule_members m"
    " JOIN rules r ON r.id = m.rule_id JOIN agents a ON a.id = m.agent_id"
    " ORDER BY r.seq, m.seq",
};

enum { L_CAMPAIGNS, L_AGENTS, L_NUMBERS, L_RULES, L_MEMBERS, L_COUNT };

/* Reads the whole static configuration into a new cache (inside the caller's read
 * transaction) and replaces the handle's cache with it. */
static int store_reload_cache(store *st, long long version)
{
    PGresult *q[L_COUNT] = {0};
    char(*ids)[CONFIG_ID_MAX] = NULL;
    int rc = ERR_OK;
    config *cfg = config_new();
    if (!cfg)
        return store_nomem(st);
    for (int i = 0; i < L_COUNT; i++)
        if (!(q[i] = store_q(st, -1, store_load_sql[i], NULL, "load configuration", &rc)))
            goto out_clear;
    rc = store_load_campaigns(st, cfg, q[L_CAMPAIGNS]);
    if (rc == ERR_OK)
        rc = store_load_agents(st, cfg, q[L_AGENTS]);
    if (rc == ERR_OK)
        rc = store_load_numbers(st, cfg, q[L_NUMBERS]);
    if (rc == ERR_OK)
        rc = store_load_rules(st, cfg, q[L_RULES], q[L_MEMBERS], &ids);
    if (rc < 0)
        goto out_clear;
    if (store_common_cache_install(&st->cache, cfg, ids, version) < 0) {
        rc = store_nomem(st);
        goto out_clear;
    }
    cfg = NULL;
out_clear:
    for (int i = 0; i < L_COUNT; i++)
        PQclear(q[i]);
    free(ids);
    config_free(cfg);
    return rc;
}

/* Applies the live columns of agents and rules to a copy of the cache. */
static int store_apply_live(store *st, config *cfg)
{
    int rc;
    PGresult *r = store_q(st, Q_LIVE_AGENTS, NULL, NULL, "load agent state", &rc);
    if (!r)
        return rc;
    for (int row = 0; row < PQntuples(r); row++) {
        int i = col_int(r, row, 0);
        if (i < 0 || i >= cfg->n_agents)
            continue; /* cannot happen under the version check; never index out of range */
        config_agent *a = &cfg->agents[i];
        a->status = (agent_status)store_common_parse_status(col(r, row, 1));
        a->max_concurrent = col_int(r, row, 2);
        a->active_calls = col_int(r, row, 3);
        a->registered_until_ms = col_ll(r, row, 4);
        a->last_assigned_ms = col_ll(r, row, 5);
    }
    PQclear(r);
    if (!(r = store_q(st, Q_LIVE_RULES, NULL, NULL, "load rule cursors", &rc)))
        return rc;
    for (int row = 0; row < PQntuples(r); row++) {
        int seq = col_int(r, row, 0);
        store_common_cache_set_cursor(&st->cache, cfg, seq, col(r, row, 1));
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg_config_load(store *st, config **out, char *errbuf, size_t errlen)
{
    config *cfg = NULL;
    int rc;
    if (!st || !out)
        return ERR_INVALID;
    *out = NULL;
    /* One REPEATABLE READ transaction of its own, so the version, the agents and the
     * cursors are one snapshot; inside the caller's transaction each statement sees the
     * latest committed state, as the caller's own writes do. */
    bool own = !store_in_tx(st);
    if (own && (rc = store_run(st, -1, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL,
                               "begin read")) < 0)
        goto out_report;
    PGresult *r = store_q(st, Q_VERSION, NULL, NULL, "configuration version", &rc);
    if (!r)
        goto out_end_read;
    long long version = PQntuples(r) > 0 ? col_ll(r, 0, 0) : -1;
    PQclear(r);
    if (!store_common_cache_fresh(&st->cache, version)) {
        rc = store_reload_cache(st, version);
        if (rc < 0)
            goto out_end_read;
    }
    cfg = config_clone(st->cache.cfg);
    if (!cfg) {
        rc = store_nomem(st);
        goto out_end_read;
    }
    rc = store_apply_live(st, cfg);
out_end_read:
    if (own) {
        int c = store_exec(st, rc < 0 ? "ROLLBACK" : "COMMIT", "end read");
        if (rc == ERR_OK)
            rc = c;
    }
out_report:
    if (rc < 0) {
        config_free(cfg);
        store_errout(st, errbuf, errlen);
        return rc;
    }
    *out = cfg;
    return ERR_OK;
}

/* ---- agents ----------------------------------------------------------------------------- */

int store_pg_agent_set(store *st, const char *agent_id, int status, int max_concurrent,
                       int64_t now_ms)
{
    pg_args a = {.n = 0};
    if (!st || !agent_id || status > AGENT_DEACTIVATED)
        return ERR_INVALID;
    arg_s(&a, agent_id);
    arg_s(&a, status >= 0 ? config_status_name((agent_status)status) : NULL);
    arg_i(&a, max_concurrent > 0 ? max_concurrent : 0);
    arg_i(&a, now_ms);
    return store_changed_or_missing(st, Q_AGENT_SET, NULL, &a, "set agent");
}

int store_pg_agent_register(store *st, const char *agent_id, int64_t until_ms)
{
    pg_args a = {.n = 0};
    if (!st || !agent_id)
        return ERR_INVALID;
    arg_s(&a, agent_id);
    arg_i(&a, until_ms);
    return store_changed_or_missing(st, Q_AGENT_REGISTER, NULL, &a, "register agent");
}

int store_pg_agent_unregister(store *st, const char *agent_id)
{
    return store_pg_agent_register(st, agent_id, 0);
}

int store_pg_agent_stream(store *st, const char *agent_id, int64_t until_ms)
{
    pg_args a = {.n = 0};
    if (!st || !agent_id)
        return ERR_INVALID;
    arg_s(&a, agent_id);
    arg_i(&a, until_ms);
    return store_changed_or_missing(st, Q_AGENT_STREAM, NULL, &a, "stream registration");
}

/* ---- the claim and the cursor ----------------------------------------------------------- */

int store_pg_claim(store *st, const char *agent_id, int64_t now_ms)
{
    pg_args a = {.n = 0};
    int rc;
    if (!st || !agent_id)
        return ERR_INVALID;
    arg_i(&a, now_ms);
    arg_s(&a, agent_id);
    PGresult *r = store_q(st, Q_CLAIM, NULL, &a, "claim", &rc);
    if (!r)
        return rc;
    long long n = cmd_rows(r);
    PQclear(r);
    return n == 1 ? 1 : 0;
}

int store_pg_rule_cursor_set(store *st, const char *rule_id, const char *agent_id)
{
    pg_args a = {.n = 0};
    if (!st || !rule_id || !agent_id)
        return ERR_INVALID;
    arg_s(&a, rule_id);
    arg_s(&a, agent_id);
    return store_changed_or_missing(st, Q_CURSOR, NULL, &a, "move round-robin cursor");
}

/* ---- calls ------------------------------------------------------------------------------ */

int store_pg_call_insert(store *st, store_call *call)
{
    pg_args a = {.n = 0};
    if (!st || !call || (int)call->status < CALL_ROUTING || call->status > CALL_FAILED)
        return ERR_INVALID;
    if (!call->id[0]) {
        int rc = store_common_new_call_id(call->created_ms, call->id, st->err, sizeof st->err);
        if (rc < 0)
            return rc;
    }
    arg_s(&a, call->id);
    arg_s(&a, call->external_id);
    arg_s(&a, call->campaign);
    arg_s(&a, call->tracking_number);
    arg_s(&a, call->caller);
    arg_s(&a, call->caller_state);
    arg_s(&a, call->category);
    arg_s(&a, store_call_status_name(call->status));
    arg_s(&a, call->agent);
    arg_s(&a, call->rule);
    arg_i(&a, call->holds_claim ? 1 : 0);
    arg_s(&a, call->tried_json ? call->tried_json : "[]");
    arg_i(&a, call->created_ms);
    arg_i(&a, call->updated_ms ? call->updated_ms : call->created_ms);
    arg_i(&a, call->ended_ms);
    arg_i(&a, call->queued_ms);
    arg_i(&a, call->queue_deadline_ms);
    arg_s(&a, call->trace_json ? call->trace_json : "{}");
    return store_run(st, Q_CALL_INSERT, NULL, &a, "insert call");
}

/* Reads the STORE_CALL_COLS of row `row` of `r` into *out (zeroed first). Returns ERR_OK,
 * or ERR_NOMEM (then *out is cleared). */
static int store_call_row(store *st, const PGresult *r, int row, store_call *out)
{
    memset(out, 0, sizeof *out);
    col_copy(r, row, 0, out->id, sizeof out->id);
    col_copy(r, row, 1, out->external_id, sizeof out->external_id);
    col_copy(r, row, 2, out->campaign, sizeof out->campaign);
    col_copy(r, row, 3, out->tracking_number, sizeof out->tracking_number);
    col_copy(r, row, 4, out->caller, sizeof out->caller);
    col_copy(r, row, 5, out->caller_state, sizeof out->caller_state);
    col_copy(r, row, 6, out->category, sizeof out->category);
    int status = store_call_status_parse(col(r, row, 7));
    out->status = status < 0 ? CALL_FAILED : (call_status)status;
    col_copy(r, row, 8, out->agent, sizeof out->agent);
    col_copy(r, row, 9, out->rule, sizeof out->rule);
    out->holds_claim = col_int(r, row, 10) != 0;
    out->tried_json = col_strdup(r, row, 11);
    out->trace_json = col_strdup(r, row, 12);
    out->created_ms = col_ll(r, row, 13);
    out->updated_ms = col_ll(r, row, 14);
    out->ended_ms = col_ll(r, row, 15);
    out->queued_ms = col_ll(r, row, 16);
    out->queue_deadline_ms = col_ll(r, row, 17);
    if (!out->tried_json || !out->trace_json) {
        store_call_clear(out);
        return store_nomem(st);
    }
    return ERR_OK;
}

/* Runs a query of STORE_CALL_COLS expected to give at most one row into *out: ERR_OK,
 * ERR_NOT_FOUND or another negative err_code. */
static int store_call_one(store *st, int which, const char *sql, const pg_args *a, store_call *out,
                          const char *what)
{
    int rc;
    memset(out, 0, sizeof *out);
    PGresult *r = store_q(st, which, sql, a, what, &rc);
    if (!r)
        return rc;
    rc = PQntuples(r) > 0 ? store_call_row(st, r, 0, out) : ERR_NOT_FOUND;
    PQclear(r);
    return rc;
}

int store_pg_call_get(store *st, const char *call_id, store_call *out)
{
    pg_args a = {.n = 0};
    if (!st || !call_id || !out)
        return ERR_INVALID;
    arg_s(&a, call_id);
    return store_call_one(st, Q_CALL_GET, NULL, &a, out, "get call");
}

/* store_pg_call_get without the trace (trace_json "{}"): the call row alone. */
static int store_call_get_brief(store *st, const char *call_id, store_call *out)
{
    pg_args a = {.n = 0};
    arg_s(&a, call_id);
    return store_call_one(st, Q_CALL_GET_BRIEF, NULL, &a, out, "get call");
}

/* Runs a bound "UPDATE calls ... RETURNING agent" that clears one call's claim, and when it
 * did, gives the claim back to that agent in the same transaction. The agent's id goes to
 * agent[cap]. Returns 1 when a claim was released, 0 when the call held none, or a
 * negative err_code. */
static int store_release_claim(store *st, int which, const char *sql, const pg_args *a,
                               const char *what, char *agent, size_t cap)
{
    int rc;
    PGresult *r = store_q(st, which, sql, a, what, &rc);
    if (!r)
        return rc;
    bool released = PQntuples(r) > 0;
    if (released)
        col_copy(r, 0, 0, agent, cap);
    PQclear(r);
    if (!released)
        return 0;
    pg_args d = {.n = 0};
    arg_s(&d, agent);
    rc = store_run(st, Q_AGENT_RELEASE, NULL, &d, "release agent");
    return rc < 0 ? rc : 1;
}

/* The callback of a caller who left the queue (reason "abandoned"), from the call row. */
static int store_abandon_callback(store *st, const char *call_id, int64_t now_ms)
{
    store_call row;
    store_callback cb;
    int rc = store_call_get_brief(st, call_id, &row);
    if (rc < 0)
        return rc;
    store_common_abandoned_callback(&row, now_ms, &cb);
    store_call_clear(&row);
    return cb.campaign[0] ? store_pg_callback_upsert(st, &cb) : ERR_OK;
}

/* The body of store_pg_call_end, inside its transaction. */
static int store_call_end_locked(store *st, const char *call_id, call_status final_status,
                                 int64_t now_ms)
{
    char agent[CONFIG_ID_MAX];
    pg_args a = {.n = 0};
    int rc;
    arg_s(&a, call_id);
    PGresult *r = store_q(st, Q_CALL_LOCK, NULL, &a, "lock call", &rc);
    if (!r)
        return rc;
    bool exists = PQntuples(r) > 0;
    PQclear(r);
    if (!exists)
        return ERR_NOT_FOUND;
    arg_s(&a, store_call_status_name(final_status));
    arg_i(&a, now_ms);
    rc = store_release_claim(st, Q_CALL_RELEASE, NULL, &a, "release call", agent, sizeof agent);
    if (rc != 0)
        return rc;
    /* No claim held: finish a call that is still open, leaving counts alone. */
    r = store_q(st, Q_CALL_FINISH, NULL, &a, "finish call", &rc);
    if (!r)
        return rc;
    bool finished = PQntuples(r) > 0;
    bool abandoned = finished && strcmp(PQgetvalue(r, 0, 0), "abandoned") == 0;
    PQclear(r);
    if (abandoned)
        return store_abandon_callback(st, call_id, now_ms);
    return ERR_OK; /* finished now, or already ended: harmless */
}

int store_pg_call_end(store *st, const char *call_id, call_status final_status, int64_t now_ms)
{
    bool nested;
    if (!st || !call_id || !store_common_status_is_final(final_status))
        return ERR_INVALID;
    int rc = store_tx_enter(st, &nested);
    if (rc < 0)
        return rc;
    rc = store_call_end_locked(st, call_id, final_status, now_ms);
    /* ERR_NOT_FOUND changed nothing; committing it is as good as rolling back. */
    if (rc == ERR_NOT_FOUND)
        return store_tx_leave(st, nested, ERR_OK) < 0 ? ERR_STORE : ERR_NOT_FOUND;
    return store_tx_leave(st, nested, rc);
}

/* ---- callbacks and reconciliation -------------------------------------------------------- */

int store_pg_callback_upsert(store *st, store_callback *cb)
{
    pg_args a = {.n = 0};
    int rc;
    if (!st || !cb || !cb->campaign[0] || !cb->reason[0])
        return ERR_INVALID;
    int64_t now = cb->created_ms ? cb->created_ms : store_common_wall_ms();
    arg_s(&a, cb->call_id);
    arg_s(&a, cb->campaign);
    arg_s(&a, cb->tracking_number);
    arg_s(&a, cb->caller);
    arg_s(&a, cb->caller_state);
    arg_s(&a, cb->category);
    arg_s(&a, cb->reason);
    arg_i(&a, now);
    PGresult *r = store_q(st, Q_CALLBACK_UPSERT, NULL, &a, "upsert callback", &rc);
    if (!r)
        return rc;
    if (PQntuples(r) > 0) {
        cb->id = col_ll(r, 0, 0);
        cb->attempts = col_int(r, 0, 1);
        cb->created_ms = col_ll(r, 0, 2);
        cb->updated_ms = now;
        cb->open = true;
    }
    PQclear(r);
    return ERR_OK;
}

/* Sets active_calls from the calls that hold a claim, for the agents whose count is off.
 * Under READ COMMITTED one "UPDATE agents SET active_calls = (SELECT count(*) ...)" is not
 * safe beside live claims: an UPDATE that waited for a claim's row lock re-checks the agent
 * row but not its subquery, which still counts the calls of its older snapshot and would
 * set the count one too low (the agent could then be given a call above its limit). So the
 * agents found off in one snapshot are first locked (no claim or release of theirs can be
 * in flight then), and only then recounted and corrected by a statement whose snapshot is
 * taken after the locks (agent ids never hold a comma: config_valid_id). Most sweeps find
 * nothing and take no lock at all. */
int store_pg_reconcile_counts(store *st)
{
    bool nested;
    pg_args a = {.n = 0};
    int rc;
    if (!st)
        return ERR_INVALID;
    PGresult *r = store_q(st, -1,
                          "SELECT coalesce(string_agg(id, ',' ORDER BY id), '') FROM agents"
                          " WHERE active_calls <> (SELECT count(*) FROM calls"
                          "  WHERE calls.agent = agents.id AND calls.holds_claim = 1)",
                          NULL, "find counts to reconcile", &rc);
    if (!r)
        return rc;
    char *ids = col_strdup(r, 0, 0);
    PQclear(r);
    if (!ids)
        return store_nomem(st);
    if (!ids[0]) {
        free(ids);
        return 0;
    }
    arg_s(&a, ids);
    /* Its own transaction takes store_pg_begin's lock, so that locking several agents cannot
     * deadlock with a writer's batch. */
    nested = store_in_tx(st);
    rc = nested ? store_exec(st, "SAVEPOINT store_op", "savepoint") : store_pg_begin(st);
    if (rc == ERR_OK)
        rc = store_run(st, -1,
                       "SELECT 1 FROM agents WHERE id = ANY(string_to_array($1, ','))"
                       " ORDER BY id FOR UPDATE",
                       &a, "lock agents to reconcile");
    if (rc == ERR_OK &&
        (r = store_q(st, -1,
                     "UPDATE agents SET active_calls = (SELECT count(*) FROM calls"
                     "  WHERE calls.agent = agents.id AND calls.holds_claim = 1)"
                     " WHERE id = ANY(string_to_array($1, ','))"
                     " AND active_calls <> (SELECT count(*) FROM calls"
                     "  WHERE calls.agent = agents.id AND calls.holds_claim = 1)" PG_NOTIFY,
                     &a, "reconcile counts", &rc)) != NULL) {
        rc = (int)cmd_rows(r);
        PQclear(r);
    }
    free(ids);
    return store_tx_leave(st, nested, rc);
}

/* ---- added for the daemon (issue 3): call transitions, lists, stats, auth --------------- */

/* The status of a call: ERR_NOT_FOUND when absent. */
static int store_call_status_of(store *st, const char *call_id, call_status *status)
{
    pg_args a = {.n = 0};
    int rc;
    arg_s(&a, call_id);
    PGresult *r = store_q(st, -1, "SELECT status FROM calls WHERE id = $1", &a, "call status", &rc);
    if (!r)
        return rc;
    if (PQntuples(r) > 0) {
        int v = store_call_status_parse(PQgetvalue(r, 0, 0));
        *status = v < 0 ? CALL_FAILED : (call_status)v;
        rc = ERR_OK;
    } else {
        rc = ERR_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}

int store_pg_call_answer(store *st, const char *call_id, int64_t now_ms)
{
    pg_args a = {.n = 0};
    call_status status;
    if (!st || !call_id)
        return ERR_INVALID;
    arg_s(&a, call_id);
    arg_i(&a, now_ms);
    int rc = store_changed_or_missing(st, -1,
                                      "UPDATE calls SET status = 'connected', updated_ms = $2"
                                      " WHERE id = $1 AND status = 'ringing' AND holds_claim = 1",
                                      &a, "answer call");
    if (rc == ERR_OK)
        return 1;
    if (rc != ERR_NOT_FOUND)
        return rc;
    rc = store_call_status_of(st, call_id, &status);
    if (rc < 0)
        return rc;
    if (status == CALL_CONNECTED)
        return 0;
    snprintf(st->err, sizeof st->err, "the call is %s, not ringing",
             store_call_status_name(status));
    return ERR_CONFLICT;
}

int store_pg_call_release_for_retry(store *st, const char *call_id, int64_t now_ms, char *agent_out,
                                    size_t agent_cap)
{
    pg_args a = {.n = 0};
    call_status status;
    if (!st || !call_id || !agent_out || agent_cap == 0)
        return ERR_INVALID;
    agent_out[0] = '\0';
    arg_s(&a, call_id);
    arg_i(&a, now_ms);
    int rc = store_release_claim(st, -1,
                                 "UPDATE calls SET holds_claim = 0, status = 'routing',"
                                 " updated_ms = $2 WHERE id = $1 AND status = 'ringing'"
                                 " AND holds_claim = 1 RETURNING agent",
                                 &a, "release call for retry", agent_out, agent_cap);
    if (rc != 0)
        return rc;
    rc = store_call_status_of(st, call_id, &status);
    if (rc < 0)
        return rc;
    snprintf(st->err, sizeof st->err, "the call is %s, not ringing",
             store_call_status_name(status));
    return ERR_CONFLICT;
}

int store_pg_call_update_route(store *st, const store_call *call, int expected)
{
    pg_args a = {.n = 0};
    call_status status;
    if (!st || !call || !call->id[0] || expected > CALL_FAILED)
        return ERR_INVALID;
    arg_s(&a, call->id);
    arg_s(&a, store_call_status_name(call->status));
    arg_s(&a, call->agent);
    arg_s(&a, call->rule);
    arg_i(&a, call->holds_claim ? 1 : 0);
    arg_s(&a, call->tried_json ? call->tried_json : "[]");
    arg_i(&a, call->updated_ms);
    arg_i(&a, call->ended_ms);
    arg_i(&a, call->queued_ms);
    arg_i(&a, call->queue_deadline_ms);
    arg_s(&a, expected >= 0 ? store_call_status_name((call_status)expected) : "");
    arg_s(&a, call->trace_json ? call->trace_json : "{}");
    /* "Only if still `expected`": the UPDATE locks the row and re-checks the status after
     * any concurrent writer committed, so one daemon's hand-off makes the other's fail. The
     * new decision's trace replaces the old one in the same statement, only when the row
     * was updated (the trace insert's row count is the update's). */
    int rc = store_changed_or_missing(st, -1,
                                      "WITH c AS (UPDATE calls SET status = $2, agent = $3,"
                                      " rule = $4, holds_claim = $5, tried_json = $6,"
                                      " updated_ms = $7, ended_ms = $8, queued_ms = $9,"
                                      " queue_deadline_ms = $10"
                                      " WHERE id = $1 AND ($11 = '' OR status = $11) RETURNING id)"
                                      " INSERT INTO call_traces (call_id, trace_json)"
                                      " SELECT id, $12 FROM c ON CONFLICT (call_id)"
                                      " DO UPDATE SET trace_json = excluded.trace_json",
                                      &a, "update call");
    if (rc != ERR_NOT_FOUND || expected < 0)
        return rc;
    rc = store_call_status_of(st, call->id, &status);
    if (rc < 0)
        return rc;
    snprintf(st->err, sizeof st->err, "the call is %s, not %s", store_call_status_name(status),
             store_call_status_name((call_status)expected));
    return ERR_CONFLICT;
}

/* Runs a query of STORE_CALL_COLS into a new array (see store_pg_call_list for ownership). */
static int store_call_rows(store *st, int which, const char *sql, const pg_args *a,
                           store_call **out, int *n, const char *what)
{
    int rc;
    PGresult *r = store_q(st, which, sql, a, what, &rc);
    if (!r)
        return rc;
    int count = PQntuples(r);
    store_call *rows = calloc((size_t)(count ? count : 1), sizeof *rows);
    if (!rows) {
        PQclear(r);
        return store_nomem(st);
    }
    for (int i = 0; i < count; i++) {
        if ((rc = store_call_row(st, r, i, &rows[i])) < 0) {
            for (int j = 0; j < i; j++)
                store_call_clear(&rows[j]);
            free(rows);
            PQclear(r);
            return rc;
        }
    }
    PQclear(r);
    *out = rows;
    *n = count;
    return ERR_OK;
}

int store_pg_call_list(store *st, const store_call_filter *f, store_call **out, int *n)
{
    pg_args a = {.n = 0};
    if (!st || !f || !out || !n || f->limit < 1 || f->limit > 1000)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    arg_s(&a, f->status >= 0 ? store_call_status_name((call_status)f->status) : "");
    arg_s(&a, f->campaign);
    arg_s(&a, f->agent);
    arg_i(&a, f->since_ms);
    arg_s(&a, f->before);
    arg_i(&a, f->limit);
    return store_call_rows(st, -1,
                           "SELECT id, external_id, campaign, tracking_number, caller,"
                           " caller_state, category, status, agent, rule, holds_claim, tried_json,"
                           " '{}', created_ms, updated_ms, ended_ms, queued_ms, queue_deadline_ms"
                           " FROM calls"
                           " WHERE ($1 = '' OR status = $1) AND ($2 = '' OR campaign = $2)"
                           " AND ($3 = '' OR agent = $3) AND created_ms >= $4"
                           " AND ($5 = '' OR id < $5) ORDER BY id DESC LIMIT $6",
                           &a, out, n, "list calls");
}

int store_pg_calls_stale(store *st, int64_t updated_before_ms, int limit, store_call **out, int *n)
{
    pg_args a = {.n = 0};
    if (!st || !out || !n || limit < 1 || limit > 1000)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    arg_i(&a, updated_before_ms);
    arg_i(&a, limit);
    /* holds_claim = 1 matches the partial index of claim-holding calls (calls_claims). */
    return store_call_rows(st, -1,
                           "SELECT " STORE_CALL_COLS_BRIEF " FROM calls WHERE holds_claim = 1"
                           " AND updated_ms < $1 ORDER BY updated_ms LIMIT $2",
                           &a, out, n, "stale calls");
}

int store_pg_call_find_external(store *st, const char *external_id, store_call *out)
{
    pg_args a = {.n = 0};
    if (!st || !external_id || !external_id[0] || !out)
        return ERR_INVALID;
    arg_s(&a, external_id);
    return store_call_one(st, -1,
                          "SELECT " STORE_CALL_COLS STORE_CALL_FROM " WHERE c.external_id = $1", &a,
                          out, "find call");
}

/* ---- the call queue (issue 4) ------------------------------------------------------------ */

/* Inside a transaction, counting one campaign's queue first takes that campaign's admission
 * lock (Q_QUEUE_LOCK), held until the transaction ends: the count and the caller that joins
 * because of it are one step for every daemon. */
int store_pg_queue_count(store *st, const char *campaign, long long *out)
{
    pg_args a = {.n = 0};
    int rc;
    if (!st || !out)
        return ERR_INVALID;
    *out = 0;
    arg_s(&a, campaign ? campaign : "");
    if (campaign && campaign[0] && store_in_tx(st) &&
        (rc = store_run(st, Q_QUEUE_LOCK, NULL, &a, "lock queue")) < 0)
        return rc;
    PGresult *r = store_q(st, Q_QUEUE_COUNT, NULL, &a, "count queue", &rc);
    if (!r)
        return rc;
    *out = col_ll(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

/* Inside a transaction (the dispatcher's pass) the callers listed are locked FOR UPDATE
 * SKIP LOCKED: two daemons' passes take different callers instead of queueing behind each
 * other, and a caller another transaction is handing off or ending is left to it. Outside
 * a transaction (the views) it is a plain read. */
int store_pg_queue_list(store *st, const char *campaign, int limit, store_call **out, int *n)
{
    pg_args a = {.n = 0};
    if (!st || !out || !n || limit < 1 || limit > 1000)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    arg_s(&a, campaign ? campaign : "");
    arg_i(&a, limit);
    bool lock = store_in_tx(st);
    return store_call_rows(st, -1,
                           lock ? "SELECT " STORE_CALL_COLS STORE_CALL_FROM
                                  " WHERE c.status = 'queued' AND ($1 = '' OR c.campaign = $1)"
                                  " ORDER BY c.created_ms, c.id LIMIT $2"
                                  " FOR UPDATE OF c SKIP LOCKED"
                                : "SELECT " STORE_CALL_COLS STORE_CALL_FROM
                                  " WHERE c.status = 'queued' AND ($1 = '' OR c.campaign = $1)"
                                  " ORDER BY c.created_ms, c.id LIMIT $2",
                           &a, out, n, "list queue");
}

int store_pg_queue_position(store *st, const store_call *call, long long *out)
{
    pg_args a = {.n = 0};
    int rc;
    if (!st || !call || !out)
        return ERR_INVALID;
    arg_s(&a, call->campaign);
    arg_i(&a, call->created_ms);
    arg_s(&a, call->id);
    PGresult *r = store_q(st, Q_QUEUE_POSITION, NULL, &a, "queue position", &rc);
    if (!r) {
        *out = 0;
        return rc;
    }
    *out = col_ll(r, 0, 0) + 1;
    PQclear(r);
    return ERR_OK;
}

int store_pg_queue_handle_time(store *st, const char *campaign, int64_t since_ms, long long *avg_ms,
                               long long *n)
{
    static const char hex[] = "0123456789abcdef";
    char lower[13];
    pg_args a = {.n = 0};
    int rc;
    if (!st || !campaign || !avg_ms || !n)
        return ERR_INVALID;
    /* Call ids start with their creation time (48 bits of ms in hex), so the primary key
     * limits the scan to the calls created since then, without an index of its own. */
    uint64_t t = since_ms > 0 ? (uint64_t)since_ms : 0;
    for (int i = 0; i < 12; i++)
        lower[i] = hex[(t >> (4 * (11 - i))) & 15];
    lower[12] = '\0';
    arg_s(&a, lower);
    arg_s(&a, campaign);
    PGresult *r = store_q(st, -1,
                          "SELECT coalesce(trunc(avg(ended_ms - created_ms)), 0)::bigint,"
                          " count(*) FROM calls WHERE id >= $1 AND campaign = $2"
                          " AND status = 'completed' AND ended_ms >= created_ms",
                          &a, "handle time", &rc);
    *avg_ms = *n = 0;
    if (!r)
        return rc;
    *avg_ms = col_ll(r, 0, 0);
    *n = col_ll(r, 0, 1);
    PQclear(r);
    return ERR_OK;
}

#define STORE_CALLBACK_COLS                                                                        \
    "id, call_id, campaign, tracking_number, caller, caller_state, category, reason, open,"        \
    " completed_by, attempts, created_ms, updated_ms"

static void store_callback_row(const PGresult *r, int row, store_callback *cb)
{
    memset(cb, 0, sizeof *cb);
    cb->id = col_ll(r, row, 0);
    col_copy(r, row, 1, cb->call_id, sizeof cb->call_id);
    col_copy(r, row, 2, cb->campaign, sizeof cb->campaign);
    col_copy(r, row, 3, cb->tracking_number, sizeof cb->tracking_number);
    col_copy(r, row, 4, cb->caller, sizeof cb->caller);
    col_copy(r, row, 5, cb->caller_state, sizeof cb->caller_state);
    col_copy(r, row, 6, cb->category, sizeof cb->category);
    col_copy(r, row, 7, cb->reason, sizeof cb->reason);
    cb->open = col_int(r, row, 8) != 0;
    col_copy(r, row, 9, cb->completed_by, sizeof cb->completed_by);
    cb->attempts = col_int(r, row, 10);
    cb->created_ms = col_ll(r, row, 11);
    cb->updated_ms = col_ll(r, row, 12);
}

int store_pg_callback_list(store *st, const store_callback_filter *f, store_callback **out, int *n)
{
    pg_args a = {.n = 0};
    int rc;
    if (!st || !f || !out || !n || f->limit < 1 || f->limit > 1000)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    arg_i(&a, f->open);
    arg_s(&a, f->campaign);
    arg_i(&a, f->before_id);
    arg_i(&a, f->limit);
    arg_i(&a, f->since_ms);
    PGresult *r = store_q(st, -1,
                          "SELECT " STORE_CALLBACK_COLS " FROM callbacks"
                          " WHERE ($1::int < 0 OR open = $1::int) AND ($2 = '' OR campaign = $2)"
                          " AND ($3::bigint <= 0 OR id < $3::bigint)"
                          " AND ($5::bigint <= 0 OR updated_ms >= $5::bigint)"
                          " ORDER BY id DESC LIMIT $4",
                          &a, "list callbacks", &rc);
    if (!r)
        return rc;
    int count = PQntuples(r);
    store_callback *rows = calloc((size_t)(count ? count : 1), sizeof *rows);
    if (!rows) {
        PQclear(r);
        return store_nomem(st);
    }
    for (int i = 0; i < count; i++)
        store_callback_row(r, i, &rows[i]);
    PQclear(r);
    *out = rows;
    *n = count;
    return ERR_OK;
}

int store_pg_callback_get(store *st, long long id, store_callback *out)
{
    pg_args a = {.n = 0};
    int rc;
    if (!st || !out)
        return ERR_INVALID;
    arg_i(&a, id);
    PGresult *r = store_q(st, -1, "SELECT " STORE_CALLBACK_COLS " FROM callbacks WHERE id = $1", &a,
                          "get callback", &rc);
    if (!r)
        return rc;
    if (PQntuples(r) > 0) {
        store_callback_row(r, 0, out);
        rc = ERR_OK;
    } else {
        rc = ERR_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}

int store_pg_callback_complete(store *st, long long id, const char *agent_id, const char *note,
                               int64_t now_ms)
{
    store_callback cb;
    bool nested;
    if (!st || !agent_id)
        return ERR_INVALID;
    int rc = store_tx_enter(st, &nested);
    if (rc < 0)
        return rc;
    rc = store_pg_callback_get(st, id, &cb);
    if (rc < 0)
        goto out_leave;
    if (!cb.open) {
        snprintf(st->err, sizeof st->err, "callback %lld is already done", id);
        rc = ERR_CONFLICT;
        goto out_leave;
    }
    pg_args g = {.n = 0};
    arg_s(&g, agent_id);
    PGresult *r = store_q(st, -1, "SELECT 1 FROM agents WHERE id = $1", &g, "agent", &rc);
    if (!r)
        goto out_leave;
    rc = PQntuples(r) > 0 ? ERR_OK : ERR_INVALID;
    PQclear(r);
    if (rc < 0)
        goto out_leave;
    pg_args a = {.n = 0};
    arg_i(&a, id);
    arg_s(&a, agent_id);
    arg_s(&a, note ? note : "");
    arg_i(&a, now_ms);
    /* open = 1 in the WHERE clause: of two daemons completing it at once, the second finds
     * it done once the first commits. */
    rc = store_changed_or_missing(st, -1,
                                  "UPDATE callbacks SET open = 0, completed_by = $2, note = $3,"
                                  " updated_ms = $4 WHERE id = $1 AND open = 1",
                                  &a, "complete callback");
    if (rc == ERR_NOT_FOUND) {
        snprintf(st->err, sizeof st->err, "callback %lld is already done", id);
        rc = ERR_CONFLICT;
    }
out_leave:
    /* Not found, conflict and a bad agent changed nothing: leave the transaction cleanly. */
    if (rc == ERR_NOT_FOUND || rc == ERR_CONFLICT || rc == ERR_INVALID) {
        int keep = rc;
        return store_tx_leave(st, nested, ERR_OK) < 0 ? ERR_STORE : keep;
    }
    return store_tx_leave(st, nested, rc);
}

/* Runs a one-column count query with `now_ms` as $1 when it has parameters. */
static int store_count(store *st, const char *sql, bool with_now, int64_t now_ms, long long *out)
{
    pg_args a = {.n = 0};
    int rc;
    if (with_now)
        arg_i(&a, now_ms);
    PGresult *r = store_q(st, -1, sql, &a, "count", &rc);
    if (!r)
        return rc;
    *out = col_ll(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg_stats_get(store *st, int64_t now_ms, store_stats *out)
{
    if (!st || !out)
        return ERR_INVALID;
    memset(out, 0, sizeof *out);
    int rc = store_count(st, "SELECT count(*) FROM calls WHERE holds_claim = 1", false, now_ms,
                         &out->active_calls);
    if (rc == ERR_OK)
        rc = store_count(st,
                         "SELECT count(*) FROM agents WHERE status = 'active'"
                         " AND registered_until_ms > $1 AND active_calls < max_concurrent",
                         true, now_ms, &out->agents_available);
    if (rc == ERR_OK)
        rc = store_count(st, "SELECT count(*) FROM callbacks WHERE open = 1", false, now_ms,
                         &out->open_callbacks);
    if (rc == ERR_OK)
        rc = store_count(st, "SELECT count(*) FROM calls WHERE status = 'queued'", false, now_ms,
                         &out->queued_calls);
    return rc;
}

int store_pg_ping(store *st)
{
    long long one = 0;
    if (!st)
        return ERR_INVALID;
    return store_count(st, "SELECT count(*) FROM meta", false, 0, &one);
}

/* Runs an INSERT ... RETURNING id: ERR_OK with *id, ERR_NOT_FOUND when nothing was
 * inserted, or a negative err_code. */
static int store_insert_id(store *st, const char *sql, const pg_args *a, const char *what,
                           long long *id)
{
    int rc;
    PGresult *r = store_q(st, -1, sql, a, what, &rc);
    if (!r)
        return rc;
    rc = PQntuples(r) > 0 ? ERR_OK : ERR_NOT_FOUND;
    if (rc == ERR_OK)
        *id = col_ll(r, 0, 0);
    PQclear(r);
    return rc;
}

int store_pg_apikey_create(store *st, const char *name, const char *secret_sha256, int64_t now_ms,
                           long long *id)
{
    pg_args a = {.n = 0};
    if (!st || !name || !name[0] || !secret_sha256 || !id)
        return ERR_INVALID;
    arg_s(&a, name);
    arg_s(&a, secret_sha256);
    arg_i(&a, now_ms);
    return store_insert_id(st,
                           "INSERT INTO api_keys (name, secret_sha256, created_ms)"
                           " VALUES ($1, $2, $3) RETURNING id",
                           &a, "create key", id);
}

int store_pg_apikey_revoke(store *st, const char *name_or_id, int64_t now_ms)
{
    pg_args a = {.n = 0};
    if (!st || !name_or_id || !name_or_id[0])
        return ERR_INVALID;
    arg_s(&a, name_or_id);
    arg_i(&a, now_ms > 0 ? now_ms : 1);
    return store_changed_or_missing(st, -1,
                                    "UPDATE api_keys SET revoked_ms = $2 WHERE revoked_ms = 0"
                                    " AND (name = $1 OR CAST(id AS TEXT) = $1)",
                                    &a, "revoke key");
}

int store_pg_agent_token_create(store *st, const char *agent_id, const char *secret_sha256,
                                int64_t now_ms, long long *id)
{
    pg_args a = {.n = 0};
    if (!st || !agent_id || !secret_sha256 || !id)
        return ERR_INVALID;
    arg_s(&a, agent_id);
    arg_s(&a, secret_sha256);
    arg_i(&a, now_ms);
    return store_insert_id(st,
                           "INSERT INTO agent_tokens (agent_id, secret_sha256, created_ms)"
                           " SELECT id, $2, $3 FROM agents WHERE id = $1 RETURNING id",
                           &a, "create agent token", id);
}

int store_pg_auth_lookup(store *st, const char *secret_sha256, store_principal *out)
{
    pg_args a = {.n = 0};
    int rc;
    if (!st || !secret_sha256 || !out)
        return ERR_INVALID;
    memset(out, 0, sizeof *out);
    arg_s(&a, secret_sha256);
    PGresult *r = store_q(st, Q_AUTH_LOOKUP, NULL, &a, "authenticate", &rc);
    if (!r)
        return rc;
    if (PQntuples(r) > 0) {
        out->kind = col_int(r, 0, 0) == 1 ? STORE_PRINCIPAL_ADMIN : STORE_PRINCIPAL_AGENT;
        out->id = col_ll(r, 0, 1);
        col_copy(r, 0, 2, out->name, sizeof out->name);
        col_copy(r, 0, 3, out->agent, sizeof out->agent);
        rc = ERR_OK;
    } else {
        rc = ERR_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}

/* ---- added for the daemon's group commit (server/route_writer) --------------------------- */

/* PostgreSQL has no write-ahead log for the client to checkpoint: the server does it. */
int store_pg_autocheckpoint(store *st, int pages)
{
    if (!st || pages < 0)
        return ERR_INVALID;
    return ERR_OK;
}

int store_pg_checkpoint(store *st)
{
    return st ? 0 : ERR_INVALID;
}

int store_pg_call_end_many(store *st, const char *const *call_ids, const int64_t *now_ms, int n,
                           int *results, store_call *rows)
{
    if (!st || n < 0 || (n > 0 && (!call_ids || !now_ms || !results)))
        return ERR_INVALID;
    if (n == 0)
        return ERR_OK;
    /* One transaction (the caller's when one is open) and no savepoints: a failure rolls
     * back every end of the batch (inside the caller's transaction, the caller rolls back). */
    bool own = !store_in_tx(st);
    int rc = own ? store_pg_begin(st) : ERR_OK;
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        results[i] = store_call_end_locked(st, call_ids[i], CALL_COMPLETED, now_ms[i]);
        if (results[i] < 0 && results[i] != ERR_NOT_FOUND)
            rc = results[i];
        else if (results[i] >= 0 && rows)
            rc = store_call_get_brief(st, call_ids[i], &rows[i]);
    }
    if (rc == ERR_OK && own)
        rc = store_pg_commit(st);
    if (rc < 0) {
        if (own)
            store_pg_rollback(st);
        for (int i = 0; rows && i < n; i++)
            store_call_clear(&rows[i]);
    }
    return rc;
}

/* ---- wake-ups between daemons (LISTEN/NOTIFY) -------------------------------------------- */

int store_pg_listen(store *st)
{
    if (!st)
        return ERR_INVALID;
    int rc = store_run(st, -1, "LISTEN " PG_CHANNEL, NULL, "listen");
    if (rc == ERR_OK)
        st->listening = true;
    return rc;
}

/* Takes every notification already read from the connection. */
static int store_drain_notifies(store *st)
{
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(st->conn)) != NULL) {
        PQfreemem(note);
        n++;
    }
    return n;
}

int store_pg_wait_notify(store *st, int timeout_ms)
{
    if (!st || !st->listening || timeout_ms < 0)
        return ERR_INVALID;
    if (PQstatus(st->conn) == CONNECTION_BAD && !store_reconnect(st)) {
        snprintf(st->err, sizeof st->err, "listen: connection lost: %s", PQerrorMessage(st->conn));
        return ERR_STORE;
    }
    int n = PQconsumeInput(st->conn) ? store_drain_notifies(st) : -1;
    if (n == 0) {
        struct pollfd p = {.fd = PQsocket(st->conn), .events = POLLIN};
        if (p.fd < 0 || (poll(&p, 1, timeout_ms) > 0 && !PQconsumeInput(st->conn)))
            n = -1;
        else
            n = store_drain_notifies(st);
    }
    if (n < 0) {
        /* The connection dropped: notifications may have been missed meanwhile. */
        snprintf(st->err, sizeof st->err, "listen: %s", PQerrorMessage(st->conn));
        store_reconnect(st);
        return ERR_STORE;
    }
    return n;
}
