/* areacode.c -- the caller's state or the reason there is none, from the generated NANPA
 * table (areacode_table.c), as of a given date. */
#include "areacode.h"

#include <stddef.h>

#include "areacode_table.h"
#include "states.h"

/*
 * Classification of a lookup, in this order (docs/AREACODES.md says the same):
 *   1. not three digits with a first digit 2-9, or not in the table   -> invalid
 *   2. SERVICE Toll-Free                                               -> toll_free
 *   3. SERVICE Premium Services                                        -> premium
 *   4. not in service: IN_SERVICE is not Y and there is no IN_SERVICE_DT on or before
 *      the lookup date                                                 -> not_in_service
 *   5. COUNTRY CANADA                                                  -> canada
 *   6. any other non-empty, non-US COUNTRY                             -> caribbean
 *   7. COUNTRY US, USE G and LOCATION a USPS code of a state, DC or territory (CNMI is MP)
 *                                                                      -> state
 *   8. everything else (NANP AREA, 5XX, 700, 710, no country)          -> non_geographic
 * The generator folds steps 2, 3 and 5 to 8 into the entry's class; the date and the
 * states list are applied here.
 */

static const char *const reason_names[] = {
    [AREACODE_STATE] = "state",
    [AREACODE_CANADA] = "canada",
    [AREACODE_CARIBBEAN] = "caribbean",
    [AREACODE_TOLL_FREE] = "toll_free",
    [AREACODE_PREMIUM] = "premium",
    [AREACODE_NON_GEOGRAPHIC] = "non_geographic",
    [AREACODE_NOT_IN_SERVICE] = "not_in_service",
    [AREACODE_INVALID] = "invalid",
};

static const areacode_entry *find(int npa)
{
    int lo = 0, hi = areacode_table_len - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (areacode_table[mid].npa == npa)
            return &areacode_table[mid];
        if (areacode_table[mid].npa < npa)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static bool in_service(const areacode_entry *e, int today_yyyymmdd)
{
    return e->in_service || (e->in_service_date != 0 && e->in_service_date <= today_yyyymmdd);
}

areacode_reason areacode_lookup(const char *npa, int today_yyyymmdd, areacode_info *out)
{
    const areacode_entry *e;
    int idx;

    out->npa[0] = '\0';
    out->reason = AREACODE_INVALID;
    out->state = NULL;
    out->time_zone = "";
    out->location = "";
    if (!npa)
        return out->reason;
    for (int i = 0; i < 3; i++)
        if (npa[i] < '0' || npa[i] > '9')
            return out->reason; /* also stops at the NUL of a short string */
    if (npa[3] != '\0')
        return out->reason;
    out->npa[0] = npa[0];
    out->npa[1] = npa[1];
    out->npa[2] = npa[2];
    out->npa[3] = '\0';
    if (npa[0] < '2')
        return out->reason;
    e = find((npa[0] - '0') * 100 + (npa[1] - '0') * 10 + (npa[2] - '0'));
    if (!e)
        return out->reason;
    out->time_zone = e->time_zone;
    out->location = e->location;

    if (e->cls == AREACODE_CLASS_TOLL_FREE)
        return out->reason = AREACODE_TOLL_FREE;
    if (e->cls == AREACODE_CLASS_PREMIUM)
        return out->reason = AREACODE_PREMIUM;
    if (!in_service(e, today_yyyymmdd))
        return out->reason = AREACODE_NOT_IN_SERVICE;
    switch (e->cls) {
    case AREACODE_CLASS_CANADA:
        return out->reason = AREACODE_CANADA;
    case AREACODE_CLASS_CARIBBEAN:
        return out->reason = AREACODE_CARIBBEAN;
    case AREACODE_CLASS_US_STATE:
        idx = states_index(e->state);
        if (idx >= 0) {
            out->state = states_code(idx);
            return out->reason = AREACODE_STATE;
        }
        return out->reason = AREACODE_NON_GEOGRAPHIC; /* a code the states list lacks */
    default:
        return out->reason = AREACODE_NON_GEOGRAPHIC;
    }
}

const char *areacode_reason_name(areacode_reason r)
{
    if ((int)r < 0 || (size_t)r >= sizeof reason_names / sizeof reason_names[0])
        return "invalid";
    return reason_names[r];
}

const char *areacode_report_date(void)
{
    return areacode_table_report_date;
}

/* Days from 1970-01-01 to 2000-03-01: 30 years of 365 days, 7 leap days (1972 ... 1996),
 * and January and February 2000. Counting years from a 1 March puts each leap day at the
 * end of its year, which keeps the arithmetic below free of special cases. */
#define DAYS_1970_TO_2000_03_01 (30LL * 365 + 7 + 31 + 29)
#define DAYS_PER_400Y (400LL * 365 + 97)
#define DAYS_PER_100Y (100 * 365 + 24)
#define DAYS_PER_4Y (4 * 365 + 1)
#define MS_PER_DAY 86400000LL
#define DAY_MIN (-719162LL) /* 0001-01-01 */
#define DAY_MAX 2932896LL   /* 9999-12-31 */

int areacode_date_from_ms(long long unix_ms)
{
    /* Month lengths from March to February. */
    static const int mlen[12] = {31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 29};
    long long days = unix_ms / MS_PER_DAY, cycles, year;
    int rem, centuries, quads, years, month;

    if (unix_ms % MS_PER_DAY < 0)
        days--; /* floor, for instants before 1970 */
    if (days < DAY_MIN)
        days = DAY_MIN;
    if (days > DAY_MAX)
        days = DAY_MAX;

    days -= DAYS_1970_TO_2000_03_01;
    cycles = days / DAYS_PER_400Y;
    if (days % DAYS_PER_400Y < 0)
        cycles--;
    rem = (int)(days - cycles * DAYS_PER_400Y); /* 0 .. 146096 */

    centuries = rem / DAYS_PER_100Y;
    if (centuries == 4)
        centuries = 3; /* the last day of a 400-year cycle is the leap day of its 400th year */
    rem -= centuries * DAYS_PER_100Y;
    quads = rem / DAYS_PER_4Y;
    rem -= quads * DAYS_PER_4Y;
    years = rem / 365;
    if (years == 4)
        years = 3; /* the leap day at the end of a 4-year run */
    rem -= years * 365;

    year = 2000 + 400 * cycles + 100 * centuries + 4 * quads + years;
    for (month = 0; month < 11 && rem >= mlen[month]; month++)
        rem -= mlen[month];
    /* month 0 is March; months 10 and 11 (January, February) belong to the next year. */
    if (month >= 10)
        year++;
    month = (month + 2) % 12 + 1;
    return (int)(year * 10000 + month * 100 + rem + 1);
}
