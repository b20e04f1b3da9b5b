/* fuzz_areacode.c -- areacode_lookup() and areacode_date_from_ms() (src/core/areacode.c):
 * any text and any date give a consistent answer, and the date conversion agrees with the
 * C library's gmtime_r() over the whole range it supports. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/areacode.h"
#include "core/states.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The date of `ms` by gmtime_r, YYYYMMDD, or -1 outside years 1..9999. */
static int date_by_libc(long long ms)
{
    long long secs = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
        return -1;
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    uint64_t raw = 0;
    for (int i = 0; i < 8; i++)
        raw = raw << 8 | fuzz_byte(&in);
    long long ms = (long long)raw;
    int today = areacode_date_from_ms(ms);
    FUZZ_CHECK(today >= 10101 && today <= 99991231);
    int month = today / 100 % 100, day = today % 100;
    FUZZ_CHECK(month >= 1 && month <= 12 && day >= 1 && day <= 31);
    int libc = date_by_libc(ms);
    if (libc > 0)
        FUZZ_CHECK(libc == today);

    char *npa = fuzz_string(&in);
    areacode_info info;
    areacode_reason r = areacode_lookup(npa, today, &info);
    FUZZ_CHECK(r == info.reason);
    FUZZ_CHECK(info.time_zone && info.location);
    FUZZ_CHECK(strcmp(areacode_reason_name(r), "invalid") != 0 || r == AREACODE_INVALID);
    bool three = strlen(npa) == 3 && npa[0] >= '0' && npa[0] <= '9' && npa[1] >= '0' &&
                 npa[1] <= '9' && npa[2] >= '0' && npa[2] <= '9';
    FUZZ_CHECK(three ? strcmp(info.npa, npa) == 0 : info.npa[0] == '\0');
    FUZZ_CHECK(three || r == AREACODE_INVALID);
    if (r == AREACODE_STATE)
        FUZZ_CHECK(info.state && states_index(info.state) >= 0);
    else
        FUZZ_CHECK(info.state == NULL);
    /* The same code on the table's own date or any later one is never less in service. */
    if (r == AREACODE_STATE) {
        areacode_info later;
        FUZZ_CHECK(areacode_lookup(npa, 99991231, &later) == AREACODE_STATE);
    }
    free(npa);
    return 0;
}
