/* errors.h -- the one list of error codes used by every module. Each code has a stable
 * name that is also the `code` string of API errors and the CLI's messages. */
#ifndef SC_ERRORS_H
#define SC_ERRORS_H

typedef enum {
    ERR_OK = 0,
    ERR_INVALID = -1,    /* "invalid_input": a value is malformed or out of range */
    ERR_NOT_FOUND = -2,  /* "not_found": an id that does not exist */
    ERR_CONFLICT = -3,   /* "conflict": the change contradicts the current state */
    ERR_NOMEM = -4,      /* "out_of_memory" */
    ERR_STORE = -5,      /* "storage_error": the database failed (detail in the message) */
    ERR_IO = -6,         /* "io_error": a file could not be read or written */
    ERR_UNSUPPORTED = -7 /* "unsupported": a feature or store URL this build lacks */
} err_code;

/* Stable code string of an error ("invalid_input", ...); "unknown" for anything else. */
const char *errors_code(int err);

/* Short English description of an error. */
const char *errors_str(int err);

#endif
