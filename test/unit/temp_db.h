/* temp_db.h -- a database file in a fresh temporary folder for one test, removed after it
 * (with its WAL, shared-memory and journal files). */
#ifndef SC_TEMP_DB_H
#define SC_TEMP_DB_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[96];
    char path[160];
} temp_db;

/* Makes a folder named after `name` and sets t->path to "<folder>/test.db". With `fast`,
 * the folder goes in $TMPDIR, else /dev/shm when writable, so that tests heavy on commits
 * run at memory speed where they can (locking and WAL behave the same); otherwise /tmp. */
static inline void temp_db_make(temp_db *t, const char *name, bool fast)
{
    const char *base = "/tmp";
    const char *env = getenv("TMPDIR");
    if (fast && env && env[0] && strlen(env) < 40)
        base = env;
    else if (fast && access("/dev/shm", W_OK | X_OK) == 0)
        base = "/dev/shm";
    snprintf(t->dir, sizeof t->dir, "%s/sc_%s_XXXXXX", base, name);
    cr_assert(mkdtemp(t->dir), "mkdtemp %s", t->dir);
    snprintf(t->path, sizeof t->path, "%s/test.db", t->dir);
}

/* Removes the database, its companion files and the folder. */
static inline void temp_db_remove(const temp_db *t)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char file[200];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(file, sizeof file, "%s%s", t->path, suffixes[i]);
        unlink(file);
    }
    rmdir(t->dir);
}

#endif
