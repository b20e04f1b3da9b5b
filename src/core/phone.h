/* phone.h -- normalises caller IDs and dialled numbers to E.164 (SPEC 3.1, 3.2). */
#ifndef SC_PHONE_H
#define SC_PHONE_H

#include <stdbool.h>

#define PHONE_E164_MAX 17 /* "+" and up to 15 digits, NUL */

/* Outcome of a normalisation. PHONE_OK and PHONE_NOT_NANP carry a valid E.164 number. */
typedef enum {
    PHONE_OK = 0,     /* a NANP number: +1 and ten digits */
    PHONE_NOT_NANP,   /* a valid international number outside +1 (e164 is set) */
    PHONE_EMPTY,      /* nothing given */
    PHONE_ANONYMOUS,  /* "anonymous", "unknown", "unavailable", "private" ... */
    PHONE_RESTRICTED, /* "restricted", "blocked", "withheld" ... */
    PHONE_TOO_SHORT,
    PHONE_TOO_LONG,
    PHONE_INVALID /* letters or characters that have no place in a number */
} phone_status;

/* A normalised number. e164 is "" unless status is PHONE_OK or PHONE_NOT_NANP; npa is the
 * three-digit area code for PHONE_OK, else "". */
typedef struct {
    phone_status status;
    char e164[PHONE_E164_MAX];
    char npa[4];
} phone_number;

/* Normalises `in` (may be NULL) into *out and returns out->status. Accepts "+1 (512)
 * 555-0100", "1-512-555-0100", "15125550100", "5125550100", "tel:+15125550100",
 * "sip:+15125550100@host" and the like. Never fails otherwise; never allocates. */
phone_status phone_normalize(const char *in, phone_number *out);

/* Stable name of a status: "ok", "not_nanp", "empty", "anonymous", "restricted",
 * "too_short", "too_long", "invalid". */
const char *phone_status_name(phone_status s);

#endif
