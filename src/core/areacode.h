/* areacode.h -- the caller's state from a NANP area code (SPEC 3.2), from a table generated
 * out of NANPA's npa_report.csv by tools/areacode_gen. */
#ifndef SC_AREACODE_H
#define SC_AREACODE_H

/* Why an area code gives a US state, or why it does not. */
typedef enum {
    AREACODE_STATE = 0, /* a state, DC or territory: info.state is set */
    AREACODE_CANADA,
    AREACODE_CARIBBEAN,
    AREACODE_TOLL_FREE,
    AREACODE_PREMIUM,
    AREACODE_NON_GEOGRAPHIC,
    AREACODE_NOT_IN_SERVICE,
    AREACODE_INVALID /* not three digits 2-9xx, or not a NANP code */
} areacode_reason;

/* Result of a lookup. Strings point into static storage. */
typedef struct {
    char npa[4]; /* the three digits looked up ("" when not three digits) */
    areacode_reason reason;
    const char *state;     /* USPS code when reason == AREACODE_STATE, else NULL */
    const char *time_zone; /* NANPA's time zone letters ("E", "CM", ...), "" when none */
    const char *location;  /* NANPA's location (state, province or country), "" when none */
} areacode_info;

/* Looks up `npa` (three characters; anything else is AREACODE_INVALID) as of the date
 * `today_yyyymmdd` (for example 20261125): a code whose in-service date is on or before
 * that day counts as in service. Fills *out and returns out->reason. Never fails. */
areacode_reason areacode_lookup(const char *npa, int today_yyyymmdd, areacode_info *out);

/* Stable name of a reason: "state", "canada", "caribbean", "toll_free", "premium",
 * "non_geographic", "not_in_service", "invalid". */
const char *areacode_reason_name(areacode_reason r);

/* The file date of the NANPA report the table was generated from, "YYYY-MM-DD". */
const char *areacode_report_date(void);

/* Converts Unix milliseconds to a UTC calendar date as YYYYMMDD. Pure arithmetic. */
int areacode_date_from_ms(long long unix_ms);

#endif
