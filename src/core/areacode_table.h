/* areacode_table.h -- internal: the area code table that tools/areacode_gen generates into
 * areacode_table.c from NANPA's npa_report.csv. Only areacode.c and its tests use it. */
#ifndef SC_AREACODE_TABLE_H
#define SC_AREACODE_TABLE_H

#include <stdbool.h>

/* What the report says an NPA is, before the lookup date is taken into account. */
typedef enum {
    AREACODE_CLASS_UNASSIGNED = 0, /* no country, location or service in the report */
    AREACODE_CLASS_US_STATE,       /* COUNTRY US, USE G, LOCATION a USPS code (CNMI as MP) */
    AREACODE_CLASS_CANADA,         /* COUNTRY CANADA */
    AREACODE_CLASS_CARIBBEAN,      /* any other non-US country */
    AREACODE_CLASS_TOLL_FREE,      /* SERVICE Toll-Free */
    AREACODE_CLASS_PREMIUM,        /* SERVICE Premium Services */
    AREACODE_CLASS_NON_GEOGRAPHIC  /* everything else: NANP AREA, 5XX, 700, 710, ... */
} areacode_class;

/* One NPA of the report. Strings are static literals. */
typedef struct {
    short npa;             /* 200..999 */
    unsigned char cls;     /* an areacode_class */
    bool in_service;       /* IN_SERVICE is Y */
    int in_service_date;   /* IN_SERVICE_DT as YYYYMMDD, 0 when none */
    char state[3];         /* USPS code for AREACODE_CLASS_US_STATE, else "" */
    const char *time_zone; /* TIME_ZONE, trimmed, "" when none */
    const char *location;  /* LOCATION, trimmed, "" when none */
} areacode_entry;

/* The entries, sorted by npa, each NPA once. */
extern const areacode_entry areacode_table[];
extern const int areacode_table_len;

/* The report's file date, "YYYY-MM-DD". */
extern const char areacode_table_report_date[];

#endif
