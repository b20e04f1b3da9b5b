/* test_areacode.c -- the generated area code table against NANPA's report, named area codes
 * (overlays, territories, Canada, the Caribbean, toll-free, new codes) and the date maths. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/csv_reader.h"
#include "core/areacode.h"
#include "core/areacode_table.h"
#include "core/states.h"

#define TODAY 20261125 /* the fixed "today" of these tests */
#define PAST 20250101

static void expect_state(const char *npa, int date, const char *state, const char *tz)
{
    areacode_info info;
    areacode_reason r = areacode_lookup(npa, date, &info);
    cr_expect_eq(r, AREACODE_STATE, "%s on %d: got %s, want state %s", npa, date,
                 areacode_reason_name(r), state);
    cr_expect_eq(info.reason, r, "%s: info.reason differs from the return value", npa);
    cr_expect_str_eq(info.npa, npa);
    if (r == AREACODE_STATE) {
        cr_expect_str_eq(info.state, state, "%s", npa);
        /* The state string is the states module's own, so callers can compare pointers. */
        cr_expect_eq(info.state, states_code(states_index(state)), "%s", npa);
    }
    if (tz)
        cr_expect_str_eq(info.time_zone, tz, "%s time zone", npa);
}

static void expect_reason(const char *npa, int date, areacode_reason want)
{
    areacode_info info;
    areacode_reason r = areacode_lookup(npa, date, &info);
    cr_expect_eq(r, want, "%s on %d: got %s, want %s", npa ? npa : "(null)", date,
                 areacode_reason_name(r), areacode_reason_name(want));
    cr_expect_eq(info.reason, r);
    cr_expect_null(info.state, "%s: no state when the reason is %s", npa ? npa : "(null)",
                   areacode_reason_name(r));
}

Test(areacode_lookup, overlays)
{
    static const char *const tx[] = {"512", "737"};
    static const char *const ny[] = {"212", "646", "332", "917"};
    static const char *const nj[] = {"201", "551"};
    for (size_t i = 0; i < 2; i++)
        expect_state(tx[i], TODAY, "TX", "C");
    for (size_t i = 0; i < 4; i++)
        expect_state(ny[i], TODAY, "NY", "E");
    for (size_t i = 0; i < 2; i++)
        expect_state(nj[i], TODAY, "NJ", "E");
}

Test(areacode_lookup, dc_and_territories)
{
    expect_state("202", TODAY, "DC", "E");
    expect_state("787", TODAY, "PR", "A");
    expect_state("939", TODAY, "PR", "A");
    expect_state("340", TODAY, "VI", "A");
    expect_state("671", TODAY, "GU", "(UTC+10)");
    expect_state("684", TODAY, "AS", "UTC-11");
    expect_state("670", TODAY, "MP", "(UTC+10)"); /* the report says CNMI */

    areacode_info info;
    areacode_lookup("670", TODAY, &info);
    cr_expect_str_eq(info.location, "CNMI");
}

Test(areacode_lookup, canada)
{
    static const char *const codes[] = {"416", "604", "257", "879", "382", "428", "942"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        expect_reason(codes[i], TODAY, AREACODE_CANADA);

    areacode_info info;
    areacode_lookup("879", TODAY, &info);
    cr_expect_str_eq(info.location, "NEWFOUNDLAND AND LABRADOR");
    cr_expect_str_eq(info.time_zone, "N");
    areacode_lookup("257", TODAY, &info);
    cr_expect_str_eq(info.location, "BRITISH COLUMBIA");
    cr_expect_str_eq(info.time_zone, "P");
    /* Canadian non-geographic codes are still Canadian. */
    expect_reason("600", TODAY, AREACODE_CANADA);
    expect_reason("633", TODAY, AREACODE_CANADA);
}

Test(areacode_lookup, caribbean)
{
    static const char *const codes[] = {"242", "876", "658", "809", "829", "849", "441", "268"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        expect_reason(codes[i], TODAY, AREACODE_CARIBBEAN);

    areacode_info info;
    areacode_lookup("242", TODAY, &info);
    cr_expect_str_eq(info.location, "BAHAMAS");
    areacode_lookup("876", TODAY, &info);
    cr_expect_str_eq(info.location, "JAMAICA");
    areacode_lookup("809", TODAY, &info);
    cr_expect_str_eq(info.location, "DOMINICAN REPUBLIC");
    cr_expect_str_eq(info.time_zone, "A");
}

Test(areacode_lookup, toll_free_premium_non_geographic)
{
    static const char *const tf[] = {"800", "833", "844", "855", "866", "877", "888"};
    for (size_t i = 0; i < sizeof tf / sizeof tf[0]; i++) {
        expect_reason(tf[i], TODAY, AREACODE_TOLL_FREE);
        expect_reason(tf[i], 19000101, AREACODE_TOLL_FREE); /* the date does not matter */
    }
    expect_reason("822", TODAY, AREACODE_TOLL_FREE); /* reserved, not yet in service */
    expect_reason("900", TODAY, AREACODE_PREMIUM);
    expect_reason("500", TODAY, AREACODE_NON_GEOGRAPHIC);
    expect_reason("533", TODAY, AREACODE_NON_GEOGRAPHIC);
    expect_reason("532", TODAY, AREACODE_NON_GEOGRAPHIC); /* COUNTRY US, LOCATION NANP AREA */
    expect_reason("526", TODAY, AREACODE_NON_GEOGRAPHIC); /* COUNTRY US, no LOCATION */
    expect_reason("700", TODAY, AREACODE_NON_GEOGRAPHIC);
    expect_reason("710", TODAY, AREACODE_NON_GEOGRAPHIC);
}

Test(areacode_lookup, new_codes_2023_to_2026)
{
    static const struct {
        const char *npa, *state;
    } codes[] = {
        {"227", "MD"}, {"235", "MO"}, {"274", "WI"}, {"283", "OH"}, {"324", "FL"}, {"327", "AR"},
        {"329", "NY"}, {"353", "WI"}, {"357", "CA"}, {"363", "NY"}, {"369", "CA"}, {"436", "OH"},
        {"457", "LA"}, {"621", "TX"}, {"624", "NY"}, {"645", "FL"}, {"679", "MI"}, {"686", "VA"},
        {"728", "FL"}, {"729", "TN"}, {"730", "IL"}, {"738", "CA"}, {"748", "CO"}, {"821", "SC"},
        {"837", "CA"}, {"861", "IL"}, {"924", "MN"}, {"975", "MO"},
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        expect_state(codes[i].npa, TODAY, codes[i].state, NULL);
    expect_state("729", TODAY, "TN", "EC");
    expect_state("748", TODAY, "CO", "M");
}

Test(areacode_lookup, planned_2026_codes_follow_the_date)
{
    expect_state("465", TODAY, "NY", "E");
    expect_state("471", TODAY, "MS", "C");
    expect_state("483", TODAY, "AL", "C");
    expect_reason("465", PAST, AREACODE_NOT_IN_SERVICE);
    expect_reason("471", PAST, AREACODE_NOT_IN_SERVICE);
    expect_reason("483", PAST, AREACODE_NOT_IN_SERVICE);
    /* The exact day: 465 goes live on 18 June 2026. */
    expect_reason("465", 20260617, AREACODE_NOT_IN_SERVICE);
    expect_state("465", 20260618, "NY", "E");

    /* Not in service still carries what the report knows. */
    areacode_info info;
    cr_expect_eq(areacode_lookup("465", PAST, &info), AREACODE_NOT_IN_SERVICE);
    cr_expect_str_eq(info.npa, "465");
    cr_expect_str_eq(info.location, "NY");
    cr_expect_str_eq(info.time_zone, "E");
}

Test(areacode_lookup, not_in_service)
{
    expect_reason("273", TODAY, AREACODE_NOT_IN_SERVICE); /* Quebec, 27 February 2027 */
    expect_reason("273", 20270226, AREACODE_NOT_IN_SERVICE);
    expect_reason("273", 20270227, AREACODE_CANADA);
    expect_reason("565", TODAY, AREACODE_NOT_IN_SERVICE); /* GA, assigned, no date */
    expect_reason("200", TODAY, AREACODE_NOT_IN_SERVICE); /* unassigned */
    expect_reason("911", TODAY, AREACODE_NOT_IN_SERVICE);
    expect_reason("211", TODAY, AREACODE_NOT_IN_SERVICE);
}

Test(areacode_lookup, invalid_inputs)
{
    static const char *const bad[] = {"",    "1",    "12",   "1234", "012", "112",          "abc",
                                      "51a", " 512", "512 ", "5 2",  "-12", "\xff\xff\xff", "51"};
    areacode_info info;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_reason(bad[i], TODAY, AREACODE_INVALID);
        areacode_lookup(bad[i], TODAY, &info);
        cr_expect_str_eq(info.time_zone, "");
        cr_expect_str_eq(info.location, "");
    }
    expect_reason(NULL, TODAY, AREACODE_INVALID);
    areacode_lookup(NULL, TODAY, &info);
    cr_expect_str_eq(info.npa, "");
    areacode_lookup("12", TODAY, &info);
    cr_expect_str_eq(info.npa, "");
    areacode_lookup("012", TODAY, &info); /* three digits, but no NPA starts with 0 */
    cr_expect_str_eq(info.npa, "012");
}

Test(areacode_lookup, time_zones_from_the_report)
{
    static const struct {
        const char *npa, *tz;
    } zones[] = {
        {"512", "C"},   {"212", "E"},
        {"303", "M"},   {"206", "P"},
        {"907", "AK"},  {"808", "(UTC-10)"},
        {"787", "A"},   {"709", "N"},
        {"867", "CMP"}, {"775", "PT/MT only for W Wendover"},
    };
    areacode_info info;
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        areacode_lookup(zones[i].npa, TODAY, &info);
        cr_expect_str_eq(info.time_zone, zones[i].tz, "%s", zones[i].npa);
    }
    areacode_lookup("538", TODAY, &info); /* in service, no time zone */
    cr_expect_str_eq(info.time_zone, "");
}

Test(areacode_reason_name, all)
{
    static const char *const want[] = {"state",   "canada",         "caribbean",      "toll_free",
                                       "premium", "non_geographic", "not_in_service", "invalid"};
    for (int r = AREACODE_STATE; r <= AREACODE_INVALID; r++)
        cr_expect_str_eq(areacode_reason_name((areacode_reason)r), want[r]);
    cr_expect_str_eq(areacode_reason_name((areacode_reason)42), "invalid");
}

Test(areacode_table, sorted_and_dated)
{
    const char *d = areacode_report_date();
    cr_assert_eq(strlen(d), 10u);
    cr_expect(isdigit((unsigned char)d[0]) && d[4] == '-' && d[7] == '-', "date %s", d);
    cr_assert_gt(areacode_table_len, 0);
    for (int i = 1; i < areacode_table_len; i++)
        cr_expect_lt(areacode_table[i - 1].npa, areacode_table[i].npa, "entry %d", i);
    cr_expect_geq(areacode_table[0].npa, 200);
    cr_expect_leq(areacode_table[areacode_table_len - 1].npa, 999);
}

#define DAY_MS 86400000LL

Test(areacode_date_from_ms, known_dates)
{
    cr_expect_eq(areacode_date_from_ms(0), 19700101);
    cr_expect_eq(areacode_date_from_ms(DAY_MS - 1), 19700101);
    cr_expect_eq(areacode_date_from_ms(DAY_MS), 19700102);
    cr_expect_eq(areacode_date_from_ms(-1), 19691231);
    cr_expect_eq(areacode_date_from_ms(-DAY_MS), 19691231);
    cr_expect_eq(areacode_date_from_ms(-DAY_MS - 1), 19691230);
    cr_expect_eq(areacode_date_from_ms(951782400000LL), 20000229); /* 400-year leap day */
    cr_expect_eq(areacode_date_from_ms(951868800000LL), 20000301);
    cr_expect_eq(areacode_date_from_ms(1709164800000LL), 20240229);
    cr_expect_eq(areacode_date_from_ms(1709251200000LL - 1), 20240229);
    cr_expect_eq(areacode_date_from_ms(1709251200000LL), 20240301);
    cr_expect_eq(areacode_date_from_ms(1735689599999LL), 20241231);
    cr_expect_eq(areacode_date_from_ms(1735689600000LL), 20250101);
    cr_expect_eq(areacode_date_from_ms(1764115200000LL), 20251126);
    cr_expect_eq(areacode_date_from_ms(4107542400000LL), 21000301); /* 2100 is not leap */
    cr_expect_eq(areacode_date_from_ms(4107456000000LL), 21000228);
    cr_expect_eq(areacode_date_from_ms(-2203891200000LL), 19000301); /* 1900 is not leap */
    cr_expect_eq(areacode_date_from_ms(-2203977600000LL), 19000228);
    cr_expect_eq(areacode_date_from_ms(253402300799999LL), 99991231);
    /* Out of range instants are clamped to years 1 and 9999. */
    cr_expect_eq(areacode_date_from_ms(253402300800000LL), 99991231);
    cr_expect_eq(areacode_date_from_ms(-62135596800000LL), 10101);
    cr_expect_eq(areacode_date_from_ms(9223372036854775807LL), 99991231);
    cr_expect_eq(areacode_date_from_ms(-9223372036854775807LL - 1), 10101);
}

/* Walks every day from 1900 to 2200 and checks each date follows the previous one. */
Test(areacode_date_from_ms, consecutive_days)
{
    static const int mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 1900, m = 1, d = 1;
    for (long long day = -25567; day < 84006; day++) { /* 1900-01-01 .. 2199-12-31 */
        int want = y * 10000 + m * 100 + d;
        cr_assert_eq(areacode_date_from_ms(day * DAY_MS + 12345), want, "day %lld", day);
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (++d > mdays[m] + (m == 2 && leap)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    cr_expect_eq(y * 10000 + m * 100 + d, 22000101);
}

/* ---- The whole table against the report ---- */

static char *trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

/* "18-Jun-2026" -> 20260618, "" -> 0, anything else -> -1. */
static int report_date(const char *s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4];
    int d, y;
    const char *p;
    if (!*s)
        return 0;
    if (sscanf(s, "%2d-%3[A-Za-z]-%4d", &d, mon, &y) != 3 || strlen(mon) != 3)
        return -1;
    p = strstr(months, mon);
    if (!p || (p - months) % 3 != 0)
        return -1;
    return y * 10000 + (int)((p - months) / 3 + 1) * 100 + d;
}

/* The expected lookup of one report row, decided straight from its columns. */
static areacode_reason expected(const char *service, const char *country, const char *use,
                                const char *location, const char *in_service, int date, int today,
                                const char **state)
{
    *state = NULL;
    if (strcmp(service, "Toll-Free") == 0)
        return AREACODE_TOLL_FREE;
    if (strcmp(service, "Premium Services") == 0)
        return AREACODE_PREMIUM;
    if (strcmp(in_service, "Y") != 0 && !(date > 0 && date <= today))
        return AREACODE_NOT_IN_SERVICE;
    if (strcmp(country, "CANADA") == 0)
        return AREACODE_CANADA;
    if (*country && strcmp(country, "US") != 0)
        return AREACODE_CARIBBEAN;
    if (strcmp(country, "US") == 0 && strcmp(use, "G") == 0) {
        const char *code = strcmp(location, "CNMI") == 0 ? "MP" : location;
        if (states_index(code) >= 0) {
            *state = code;
            return AREACODE_STATE;
        }
    }
    return AREACODE_NON_GEOGRAPHIC;
}

Test(areacode_table, matches_the_nanpa_report)
{
    const char *path = getenv("NANPA_REPORT");
    static const int dates[] = {TODAY, PAST, 19900101};
    enum { NPA, USE, LOC, COUNTRY, INSVC, INSVC_DT, SERVICE, TZ, NCOL };
    static const char *const names[NCOL] = {"NPA_ID",     "USE",           "LOCATION", "COUNTRY",
                                            "IN_SERVICE", "IN_SERVICE_DT", "SERVICE",  "TIME_ZONE"};
    int col[NCOL], rows = 0, rc, mm, dd, yy, states = 0;
    char seen[1000] = {0}, want_date[16];
    csv_reader *r;
    FILE *f;

    if (!path || !*path)
        path = "../shared/data/nanpa/npa_report.csv";
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "areacode: NANPA report not found at %s, skipped the full-table check\n",
                path);
        return;
    }
    r = malloc(sizeof *r);
    cr_assert_not_null(r);
    csv_init(r, f);

    cr_assert_eq(csv_read(r), 1);
    cr_assert_str_eq(r->fields[0], "File Date");
    cr_assert_eq(sscanf(csv_field(r, 1), "%d/%d/%d", &mm, &dd, &yy), 3);
    snprintf(want_date, sizeof want_date, "%04d-%02d-%02d", yy % 10000, mm % 100, dd % 100);
    cr_assert_str_eq(areacode_report_date(), want_date,
                     "the table is from another report than %s: run `make areacodes`", path);

    cr_assert_eq(csv_read(r), 1);
    for (int c = 0; c < NCOL; c++) {
        col[c] = csv_column(r, names[c]);
        cr_assert_geq(col[c], 0, "column %s", names[c]);
    }

    while ((rc = csv_read(r)) == 1) {
        char *v[NCOL];
        int n, date;
        if (r->nfields == 1 && r->fields[0][0] == '\0')
            continue;
        for (int c = 0; c < NCOL; c++)
            v[c] = trim((char *)csv_field(r, col[c]));
        n = atoi(v[NPA]);
        cr_assert(strlen(v[NPA]) == 3 && n >= 200 && n <= 999, "NPA_ID %s", v[NPA]);
        cr_assert(!seen[n], "NPA %s twice in the report", v[NPA]);
        seen[n] = 1;
        rows++;
        date = report_date(v[INSVC_DT]);
        cr_assert_geq(date, 0, "NPA %s: date %s", v[NPA], v[INSVC_DT]);

        for (size_t k = 0; k < sizeof dates / sizeof dates[0]; k++) {
            const char *state;
            areacode_info info;
            areacode_reason want =
                expected(v[SERVICE], v[COUNTRY], v[USE], v[LOC], v[INSVC], date, dates[k], &state);
            areacode_reason got = areacode_lookup(v[NPA], dates[k], &info);
            cr_expect_eq(got, want, "NPA %s on %d: got %s, want %s", v[NPA], dates[k],
                         areacode_reason_name(got), areacode_reason_name(want));
            if (state) {
                cr_expect(info.state && strcmp(info.state, state) == 0, "NPA %s: state %s, want %s",
                          v[NPA], info.state ? info.state : "(none)", state);
                if (k == 0)
                    states++;
            } else {
                cr_expect_null(info.state, "NPA %s", v[NPA]);
            }
            cr_expect_str_eq(info.npa, v[NPA]);
            cr_expect_str_eq(info.time_zone, v[TZ], "NPA %s time zone", v[NPA]);
            cr_expect_str_eq(info.location, v[LOC], "NPA %s location", v[NPA]);
        }
    }
    cr_assert_eq(rc, 0, "malformed report near line %ld", r->next_line);
    fclose(f);
    free(r);

    /* Exactly the report's NPAs: the same count, and every other NPA is invalid. */
    cr_expect_eq(areacode_table_len, rows, "table has %d NPAs, report %d", areacode_table_len,
                 rows);
    for (int n = 0; n < 1000; n++) {
        if (seen[n])
            continue;
        char npa[4] = {(char)('0' + n / 100), (char)('0' + n / 10 % 10), (char)('0' + n % 10), 0};
        areacode_info info;
        cr_expect_eq(areacode_lookup(npa, TODAY, &info), AREACODE_INVALID, "NPA %s", npa);
    }
    /* A sanity floor, so a report that parses to nothing cannot pass. */
    cr_expect_geq(rows, 800);
    cr_expect_geq(states, 300, "states %d rows %d", states, rows);
}

/* ---- The CSV reader shared with tools/areacode_gen ---- */

static csv_reader *open_text(const char *text, FILE **f)
{
    csv_reader *r = malloc(sizeof *r);
    cr_assert_not_null(r);
    *f = fmemopen((void *)text, strlen(text), "rb");
    cr_assert_not_null(*f);
    csv_init(r, *f);
    return r;
}

Test(areacode_csv, quotes_commas_and_line_ends)
{
    static const char text[] = "\xEF\xBB\xBF"
                               "File Date,11/26/2025\r\n"
                               "a,\"b, with comma\",\"say \"\"hi\"\"\",,\"\"\r\n"
                               "\"two\r\nlines\",x\"y,\"q\"tail\n"
                               "\n"
                               "last,row";
    FILE *f;
    csv_reader *r = open_text(text, &f);

    cr_assert_eq(csv_read(r), 1);
    cr_assert_eq(r->nfields, 2);
    cr_expect_str_eq(r->fields[0], "File Date"); /* the byte-order mark is skipped */
    cr_expect_str_eq(r->fields[1], "11/26/2025");

    cr_assert_eq(csv_read(r), 1);
    cr_assert_eq(r->nfields, 5);
    cr_expect_str_eq(r->fields[0], "a");
    cr_expect_str_eq(r->fields[1], "b, with comma");
    cr_expect_str_eq(r->fields[2], "say \"hi\"");
    cr_expect_str_eq(r->fields[3], "");
    cr_expect_str_eq(r->fields[4], "");
    cr_expect_str_eq(csv_field(r, 5), "");
    cr_expect_str_eq(csv_field(r, -1), "");

    cr_assert_eq(csv_read(r), 1);
    cr_expect_eq(r->line, 3);
    cr_assert_eq(r->nfields, 3);
    cr_expect_str_eq(r->fields[0], "two\r\nlines");
    cr_expect_str_eq(r->fields[1], "x\"y");
    cr_expect_str_eq(r->fields[2], "qtail");

    cr_assert_eq(csv_read(r), 1); /* the empty line */
    cr_expect_eq(r->line, 5);
    cr_assert_eq(r->nfields, 1);
    cr_expect_str_eq(r->fields[0], "");

    cr_assert_eq(csv_read(r), 1); /* no line end at the end of the file */
    cr_assert_eq(r->nfields, 2);
    cr_expect_str_eq(r->fields[1], "row");
    cr_expect_eq(csv_column(r, "row"), 1);
    cr_expect_eq(csv_column(r, "nope"), -1);

    cr_expect_eq(csv_read(r), 0);
    fclose(f);
    free(r);
}

Test(areacode_csv, malformed_input_is_an_error)
{
    FILE *f;
    csv_reader *r = open_text("a,\"never closed\n", &f);
    cr_expect_eq(csv_read(r), -1);
    fclose(f);
    free(r);

    /* More fields than the reader holds. */
    static char many[CSV_MAX_FIELDS * 2 + 2];
    memset(many, ',', CSV_MAX_FIELDS * 2);
    r = open_text(many, &f);
    cr_expect_eq(csv_read(r), -1);
    fclose(f);
    free(r);
}
