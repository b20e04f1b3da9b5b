/* fuzz_phone.c -- phone_normalize() (src/core/phone.c) on any text: no out-of-bounds access,
 * a well-formed result for every status, and normalising a number it produced gives the
 * same number again. */
#include <stdint.h>
#include <string.h>

#include "core/phone.h"
#include "fuzz_input.h"

static bool all_digits(const char *s)
{
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    char *text = fuzz_string(&in);
    phone_number p, again;
    phone_status st = phone_normalize(text, &p);
    FUZZ_CHECK(st == p.status);
    FUZZ_CHECK(strcmp(phone_status_name(st), "invalid") != 0 || st == PHONE_INVALID);
    if (st == PHONE_OK) {
        FUZZ_CHECK(strlen(p.e164) == 12 && strncmp(p.e164, "+1", 2) == 0 && all_digits(p.e164 + 1));
        FUZZ_CHECK(p.e164[2] >= '2' && p.e164[5] >= '2'); /* NPA and exchange 2-9 */
        FUZZ_CHECK(strlen(p.npa) == 3 && memcmp(p.npa, p.e164 + 2, 3) == 0);
    } else if (st == PHONE_NOT_NANP) {
        size_t n = strlen(p.e164);
        FUZZ_CHECK(n >= 9 && n <= 16 && p.e164[0] == '+' && all_digits(p.e164 + 1));
        FUZZ_CHECK(p.e164[1] >= '2'); /* neither 0 nor the NANP's 1 */
        FUZZ_CHECK(p.npa[0] == '\0');
    } else {
        FUZZ_CHECK(p.e164[0] == '\0' && p.npa[0] == '\0');
    }
    if (st == PHONE_OK || st == PHONE_NOT_NANP) {
        /* A stored number is normalised again when a call is routed again: it must stay. */
        FUZZ_CHECK(phone_normalize(p.e164, &again) == st);
        FUZZ_CHECK(strcmp(again.e164, p.e164) == 0 && strcmp(again.npa, p.npa) == 0);
    }
    free(text);
    return 0;
}
