/* areacode_gen.c -- reads NANPA's npa_report.csv and prints src/core/areacode_table.c, the
 * sorted area code table behind areacode_lookup(). Usage: areacode_gen npa_report.csv */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv_reader.h"

enum {
    CLS_UNASSIGNED,
    CLS_US_STATE,
    CLS_CANADA,
    CLS_CARIBBEAN,
    CLS_TOLL_FREE,
    CLS_PREMIUM,
    CLS_NON_GEOGRAPHIC,
    CLS_COUNT
};

static const char *const class_names[CLS_COUNT] = {
    "AREACODE_CLASS_UNASSIGNED",    "AREACODE_CLASS_US_STATE",  "AREACODE_CLASS_CANADA",
    "AREACODE_CLASS_CARIBBEAN",     "AREACODE_CLASS_TOLL_FREE", "AREACODE_CLASS_PREMIUM",
    "AREACODE_CLASS_NON_GEOGRAPHIC"};

typedef struct {
    bool present;
    int cls;
    bool in_service;
    int in_service_date;
    char state[3];
    char *time_zone;
    char *location;
} entry;

/* Columns the tool reads, found by name in the header so new columns do not matter. */
enum {
    COL_NPA,
    COL_USE,
    COL_LOCATION,
    COL_COUNTRY,
    COL_IN_SERVICE,
    COL_IN_SERVICE_DT,
    COL_SERVICE,
    COL_TIME_ZONE,
    COL_COUNT
};
static const char *const col_names[COL_COUNT] = {
    "NPA_ID", "USE", "LOCATION", "COUNTRY", "IN_SERVICE", "IN_SERVICE_DT", "SERVICE", "TIME_ZONE"};

static const char *path;
static long line;

static void die(const char *msg, const char *detail)
{
    fprintf(stderr, "areacode_gen: %s:%ld: %s%s%s\n", path ? path : "-", line, msg,
            detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* Trims ASCII white space in place and returns the start. */
static char *trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        die("out of memory", NULL);
    return d;
}

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool valid_ymd(int y, int m, int d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    return !(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

/* Parses NANPA's "18-Jun-2026" (also "06/18/2026" and "2026-06-18") into 20260618; "" is
 * 0. Dies on anything else. */
static int parse_date(const char *s)
{
    static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int y = 0, m = 0, d = 0;
    size_t n = strlen(s);

    if (n == 0)
        return 0;
    if (n == 11 && s[2] == '-' && s[6] == '-') { /* DD-Mon-YYYY */
        char dd[3] = {s[0], s[1], 0}, yy[5] = {s[7], s[8], s[9], s[10], 0};
        for (int i = 0; i < 12; i++)
            if (strncasecmp(s + 3, months[i], 3) == 0)
                m = i + 1;
        if (all_digits(dd, 2) && all_digits(yy, 4)) {
            d = atoi(dd);
            y = atoi(yy);
        }
    } else if (n == 10 && s[2] == '/' && s[5] == '/') { /* MM/DD/YYYY */
        char mm[3] = {s[0], s[1], 0}, dd[3] = {s[3], s[4], 0};
        char yy[5] = {s[6], s[7], s[8], s[9], 0};
        if (all_digits(mm, 2) && all_digits(dd, 2) && all_digits(yy, 4)) {
            m = atoi(mm);
            d = atoi(dd);
            y = atoi(yy);
        }
    } else if (n == 10 && s[4] == '-' && s[7] == '-') { /* YYYY-MM-DD */
        char yy[5] = {s[0], s[1], s[2], s[3], 0}, mm[3] = {s[5], s[6], 0};
        char dd[3] = {s[8], s[9], 0};
        if (all_digits(mm, 2) && all_digits(dd, 2) && all_digits(yy, 4)) {
            m = atoi(mm);
            d = atoi(dd);
            y = atoi(yy);
        }
    }
    if (!valid_ymd(y, m, d))
        die("unreadable date", s);
    return y * 10000 + m * 100 + d;
}

/* The class of one report row; writes the USPS code of a US state row into state[3]. The
 * order matters: service first, then country, then the location of US codes. */
static int classify(const char *service, const char *country, const char *use, const char *location,
                    char state[3])
{
    state[0] = '\0';
    if (strcasecmp(service, "Toll-Free") == 0)
        return CLS_TOLL_FREE;
    if (strcasecmp(service, "Premium Services") == 0)
        return CLS_PREMIUM;
    if (strcasecmp(country, "CANADA") == 0)
        return CLS_CANADA;
    if (*country && strcasecmp(country, "US") != 0)
        return CLS_CARIBBEAN;
    if (strcasecmp(country, "US") == 0 && strcasecmp(use, "G") == 0) {
        if (strcasecmp(location, "CNMI") == 0) {
            memcpy(state, "MP", 3);
            return CLS_US_STATE;
        }
        if (strlen(location) == 2 && isupper((unsigned char)location[0]) &&
            isupper((unsigned char)location[1])) {
            memcpy(state, location, 3);
            return CLS_US_STATE;
        }
    }
    if (!*country && !*service && !*location)
        return CLS_UNASSIGNED;
    return CLS_NON_GEOGRAPHIC;
}

/* Prints s as a C string literal; anything but plain printable ASCII is an octal escape,
 * and '?' is escaped so no trigraph can form. */
static void print_literal(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?')
            printf("\\%c", *p);
        else if (*p >= 0x20 && *p < 0x7f)
            putchar(*p);
        else
            printf("\\%03o", *p);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    static entry table[1000];
    int cols[COL_COUNT], count = 0, per_class[CLS_COUNT] = {0}, rc;
    char report_date[32];
    csv_reader *r;
    FILE *f;

    if (argc != 2) {
        fprintf(stderr, "usage: areacode_gen npa_report.csv > src/core/areacode_table.c\n");
        return 2;
    }
    path = argv[1];
    f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    r = malloc(sizeof *r);
    if (!r)
        die("out of memory", NULL);
    csv_init(r, f);

    /* Line 1: "File Date,11/26/2025". */
    if (csv_read(r) != 1 || strcasecmp(trim(r->fields[0]), "File Date") != 0)
        die("the first line is not \"File Date,MM/DD/YYYY\"", NULL);
    line = r->line;
    {
        int d = parse_date(trim((char *)csv_field(r, 1)));
        if (d == 0)
            die("the file date is empty", NULL);
        snprintf(report_date, sizeof report_date, "%04d-%02d-%02d", d / 10000, d / 100 % 100,
                 d % 100);
    }

    /* Line 2: the column names. */
    if (csv_read(r) != 1)
        die("no header line", NULL);
    line = r->line;
    for (int i = 0; i < r->nfields; i++)
        r->fields[i] = trim(r->fields[i]);
    for (int c = 0; c < COL_COUNT; c++)
        if ((cols[c] = csv_column(r, col_names[c])) < 0)
            die("missing column", col_names[c]);

    while ((rc = csv_read(r)) == 1) {
        char *npa, *dt;
        entry *e;
        int n;

        line = r->line;
        if (r->nfields == 1 && *trim(r->fields[0]) == '\0')
            continue; /* a blank line */
        for (int i = 0; i < r->nfields; i++)
            r->fields[i] = trim(r->fields[i]);
        npa = (char *)csv_field(r, cols[COL_NPA]);
        if (!all_digits(npa, 3) || npa[0] < '2')
            die("NPA_ID is not three digits 2-9XX", npa);
        n = atoi(npa);
        e = &table[n];
        if (e->present)
            die("duplicate NPA_ID", npa);
        e->present = true;
        e->cls = classify(csv_field(r, cols[COL_SERVICE]), csv_field(r, cols[COL_COUNTRY]),
                          csv_field(r, cols[COL_USE]), csv_field(r, cols[COL_LOCATION]), e->state);
        e->in_service = strcasecmp(csv_field(r, cols[COL_IN_SERVICE]), "Y") == 0 ||
                        strcasecmp(csv_field(r, cols[COL_IN_SERVICE]), "Yes") == 0;
        dt = (char *)csv_field(r, cols[COL_IN_SERVICE_DT]);
        e->in_service_date = parse_date(dt);
        e->time_zone = xstrdup(csv_field(r, cols[COL_TIME_ZONE]));
        e->location = xstrdup(csv_field(r, cols[COL_LOCATION]));
        per_class[e->cls]++;
        count++;
    }
    if (rc < 0) {
        line = r->next_line;
        die("malformed CSV (unterminated quote, or a record or field count over the limit)", NULL);
    }
    fclose(f);
    free(r);
    if (count == 0)
        die("no area codes in the report", NULL);

    printf("/* areacode_table.c -- GENERATED FILE, do not edit. Made by tools/areacode_gen from "
           "NANPA's\n * npa_report.csv, file date %s: %d NPAs. Regenerate with `make "
           "areacodes`\n * (NANPA_REPORT=path/to/npa_report.csv make areacodes).\n *\n",
           report_date, count);
    printf(" * NPAs per class:");
    for (int c = 0; c < CLS_COUNT; c++)
        printf("%s%s %d%s", c == 4 ? "\n * " : " ", class_names[c] + strlen("AREACODE_CLASS_"),
               per_class[c], c + 1 < CLS_COUNT ? "," : ".\n */\n");
    printf("#include \"areacode_table.h\"\n\n");
    printf("const char areacode_table_report_date[] = \"%s\";\n\n", report_date);
    printf("/* clang-format off */\n");
    printf("/* npa, class, IN_SERVICE, IN_SERVICE_DT, state, TIME_ZONE, LOCATION */\n");
    printf("const areacode_entry areacode_table[] = {\n");
    for (int n = 0; n < 1000; n++) {
        entry *e = &table[n];
        if (!e->present)
            continue;
        printf("    {%d, %s, %s, %d, ", n, class_names[e->cls], e->in_service ? "true" : "false",
               e->in_service_date);
        print_literal(e->state);
        printf(", ");
        print_literal(e->time_zone);
        printf(", ");
        print_literal(e->location);
        printf("},\n");
        free(e->time_zone);
        free(e->location);
    }
    printf("};\n/* clang-format on */\n\n");
    printf("const int areacode_table_len = (int)(sizeof areacode_table / sizeof "
           "areacode_table[0]);\n");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("areacode_gen: stdout");
        return 1;
    }
    return 0;
}
