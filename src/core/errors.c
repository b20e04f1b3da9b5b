/* errors.c -- names and descriptions of the shared error codes. */
#include "errors.h"

const char *errors_code(int err)
{
    switch (err) {
    case ERR_OK:
        return "ok";
    case ERR_INVALID:
        return "invalid_input";
    case ERR_NOT_FOUND:
        return "not_found";
    case ERR_CONFLICT:
        return "conflict";
    case ERR_NOMEM:
        return "out_of_memory";
    case ERR_STORE:
        return "storage_error";
    case ERR_IO:
        return "io_error";
    case ERR_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown";
}

const char *errors_str(int err)
{
    switch (err) {
    case ERR_OK:
        return "success";
    case ERR_INVALID:
        return "invalid input";
    case ERR_NOT_FOUND:
        return "no such id";
    case ERR_CONFLICT:
        return "conflicts with the current state";
    case ERR_NOMEM:
        return "out of memory";
    case ERR_STORE:
        return "the database failed";
    case ERR_IO:
        return "a file could not be read or written";
    case ERR_UNSUPPORTED:
        return "not supported by this build";
    }
    return "unknown error";
}
