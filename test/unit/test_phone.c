/* test_phone.c -- phone_normalize: E.164 forms, hidden caller IDs, bad lengths and garbage. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/phone.h"

typedef struct {
    const char *in;
    phone_status status;
    const char *e164; /* expected e164 ("" when none) */
} phone_case;

static const phone_case cases[] = {
    /* The forms of SPEC 3.1 and issue 2. */
    {"+1 (512) 555-0100", PHONE_OK, "+15125550100"},
    {"1-512-555-0100", PHONE_OK, "+15125550100"},
    {"15125550100", PHONE_OK, "+15125550100"},
    {"5125550100", PHONE_OK, "+15125550100"},
    {"+15125550100", PHONE_OK, "+15125550100"},
    {"tel:+15125550100", PHONE_OK, "+15125550100"},
    {"tel:+1-512-555-0100", PHONE_OK, "+15125550100"},
    {"TEL:+1.512.555.0100", PHONE_OK, "+15125550100"},
    {"sip:+15125550100@host", PHONE_OK, "+15125550100"},
    {"sip:15125550100@host;transport=udp", PHONE_OK, "+15125550100"},
    {"sips:+15125550100@carrier.example:5061", PHONE_OK, "+15125550100"},
    {"<sip:+15125550100@10.0.0.1>", PHONE_OK, "+15125550100"},
    {"\"Jane Doe\" <sip:5125550100@pbx.example>;tag=abc", PHONE_OK, "+15125550100"},
    {"tel:+15125550100;ext=12", PHONE_OK, "+15125550100"},
    {"512.555.0100", PHONE_OK, "+15125550100"},
    {"512 555 0100", PHONE_OK, "+15125550100"},
    {"  (512) 555-0100\r\n", PHONE_OK, "+15125550100"},
    {"1 (512) 555 0100", PHONE_OK, "+15125550100"},
    {"512/555-0100", PHONE_OK, "+15125550100"},
    {"+1 787 555 0100", PHONE_OK, "+17875550100"},
    {"+18005550100", PHONE_OK, "+18005550100"},
    {"2125550100", PHONE_OK, "+12125550100"},

    /* NANP validity: NPA and exchange start with 2-9. */
    {"+10125550100", PHONE_INVALID, ""},
    {"+11125550100", PHONE_INVALID, ""},
    {"+15120550100", PHONE_INVALID, ""},
    {"+15121550100", PHONE_INVALID, ""},
    {"0125550100", PHONE_INVALID, ""},
    {"15121550100", PHONE_INVALID, ""},

    /* Lengths. */
    {"+1512555010", PHONE_TOO_SHORT, ""},
    {"+151255501000", PHONE_TOO_LONG, ""},
    {"+1", PHONE_TOO_SHORT, ""},
    {"555-0100", PHONE_TOO_SHORT, ""},
    {"512555010", PHONE_TOO_SHORT, ""},
    {"1512555010", PHONE_TOO_SHORT, ""},
    {"7", PHONE_TOO_SHORT, ""},
    {"151255501000", PHONE_TOO_LONG, ""},
    {"25125550100", PHONE_TOO_LONG, ""},
    {"+4420712", PHONE_TOO_SHORT, ""},
    {"+4420712345678901", PHONE_TOO_LONG, ""},

    /* Outside the NANP: valid E.164 with its own status. */
    {"+442071234567", PHONE_NOT_NANP, "+442071234567"},
    {"+44 20 7123 4567", PHONE_NOT_NANP, "+442071234567"},
    {"tel:+33-1-23-45-67-89", PHONE_NOT_NANP, "+33123456789"},
    {"sip:+4930123456@de.example", PHONE_NOT_NANP, "+4930123456"},
    {"011442071234567", PHONE_NOT_NANP, "+442071234567"},
    {"01115125550100", PHONE_OK, "+15125550100"},
    {"+44207123", PHONE_NOT_NANP, "+44207123"},
    {"+442071234567890", PHONE_NOT_NANP, "+442071234567890"},
    {"+0442071234567", PHONE_INVALID, ""},
    {"011", PHONE_TOO_SHORT, ""},

    /* Hidden caller IDs. */
    {"anonymous", PHONE_ANONYMOUS, ""},
    {"Anonymous", PHONE_ANONYMOUS, ""},
    {"ANONYMOUS", PHONE_ANONYMOUS, ""},
    {"unknown", PHONE_ANONYMOUS, ""},
    {"Unavailable", PHONE_ANONYMOUS, ""},
    {"private", PHONE_ANONYMOUS, ""},
    {" anonymous ", PHONE_ANONYMOUS, ""},
    {"sip:anonymous@anonymous.invalid", PHONE_ANONYMOUS, ""},
    {"\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1", PHONE_ANONYMOUS, ""},
    {"+266696687", PHONE_ANONYMOUS, ""},
    {"+8656696", PHONE_ANONYMOUS, ""},
    {"+86282452253", PHONE_ANONYMOUS, ""},
    {"restricted", PHONE_RESTRICTED, ""},
    {"Restricted", PHONE_RESTRICTED, ""},
    {"blocked", PHONE_RESTRICTED, ""},
    {"WITHHELD", PHONE_RESTRICTED, ""},
    {"sip:restricted@carrier.example", PHONE_RESTRICTED, ""},
    {"+7378742833", PHONE_RESTRICTED, ""},
    {"+2562533", PHONE_RESTRICTED, ""},
    /* Found by fuzz/fuzz_phone: the same codes dialled with 011 were numbers, whose E.164
     * form normalised again is hidden. Hidden both ways now. */
    {"01186282452253", PHONE_ANONYMOUS, ""},
    {"011 266 696 687", PHONE_ANONYMOUS, ""},
    {"0117378742833", PHONE_RESTRICTED, ""},

    /* Nothing given. */
    {NULL, PHONE_EMPTY, ""},
    {"", PHONE_EMPTY, ""},
    {"   ", PHONE_EMPTY, ""},
    {"\t\r\n", PHONE_EMPTY, ""},

    /* Letters and stray characters. */
    {"abc", PHONE_INVALID, ""},
    {"1-800-FLOWERS", PHONE_INVALID, ""},
    {"512555010O", PHONE_INVALID, ""},
    {"+1 512 555 0100 ext 5", PHONE_INVALID, ""},
    {"5125550100#", PHONE_INVALID, ""},
    {"++15125550100", PHONE_INVALID, ""},
    {"1+5125550100", PHONE_INVALID, ""},
    {"+", PHONE_INVALID, ""},
    {"()-.", PHONE_INVALID, ""},
    {"sip:@host", PHONE_INVALID, ""},
    {"<>", PHONE_INVALID, ""},
    {"anonymously", PHONE_INVALID, ""},
    {"5125550100\xc2\xa0", PHONE_INVALID, ""},
    {"512\xff"
     "5550100",
     PHONE_INVALID, ""},
    {"mailto:5125550100", PHONE_INVALID, ""},
};

Test(phone_normalize, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const phone_case *c = &cases[i];
        phone_number pn;
        memset(&pn, 'x', sizeof pn); /* stale bytes must not survive */
        phone_status st = phone_normalize(c->in, &pn);
        cr_expect_eq(st, c->status, "case %zu \"%s\": got %s, want %s", i, c->in ? c->in : "(null)",
                     phone_status_name(st), phone_status_name(c->status));
        cr_expect_eq(pn.status, st, "case %zu: out->status differs from the return value", i);
        cr_expect_str_eq(pn.e164, c->e164, "case %zu \"%s\"", i, c->in ? c->in : "(null)");
        if (st == PHONE_OK) {
            cr_expect_eq(strlen(pn.npa), 3u, "case %zu", i);
            cr_expect_eq(strncmp(pn.npa, pn.e164 + 2, 3), 0, "case %zu: npa %s", i, pn.npa);
        } else {
            cr_expect_str_eq(pn.npa, "", "case %zu", i);
        }
    }
}

Test(phone_normalize, npa_of_nanp_numbers)
{
    phone_number pn;
    cr_assert_eq(phone_normalize("+1 (787) 555-0100", &pn), PHONE_OK);
    cr_expect_str_eq(pn.npa, "787");
    cr_assert_eq(phone_normalize("sip:19075550100@x", &pn), PHONE_OK);
    cr_expect_str_eq(pn.npa, "907");
    cr_assert_eq(phone_normalize("+442071234567", &pn), PHONE_NOT_NANP);
    cr_expect_str_eq(pn.npa, "");
}

Test(phone_status_name, all)
{
    static const char *const want[] = {"ok",         "not_nanp",  "empty",    "anonymous",
                                       "restricted", "too_short", "too_long", "invalid"};
    for (int s = PHONE_OK; s <= PHONE_INVALID; s++)
        cr_expect_str_eq(phone_status_name((phone_status)s), want[s]);
    cr_expect_str_eq(phone_status_name((phone_status)99), "invalid");
    cr_expect_str_eq(phone_status_name((phone_status)-1), "invalid");
}

/* 10,000 digits with and without '+', and with a valid number at the front. */
Test(phone_normalize, very_long_inputs)
{
    size_t n = 10000;
    char *buf = malloc(n + 2);
    phone_number pn;

    cr_assert_not_null(buf);
    memset(buf, '9', n);
    buf[n] = '\0';
    cr_expect_eq(phone_normalize(buf, &pn), PHONE_TOO_LONG);
    cr_expect_str_eq(pn.e164, "");
    buf[0] = '+';
    cr_expect_eq(phone_normalize(buf, &pn), PHONE_TOO_LONG);
    memcpy(buf, "+15125550100", 12);
    cr_expect_eq(phone_normalize(buf, &pn), PHONE_TOO_LONG);
    memcpy(buf, "0119", 4);
    cr_expect_eq(phone_normalize(buf, &pn), PHONE_TOO_LONG);
    memset(buf, ' ', n);
    cr_expect_eq(phone_normalize(buf, &pn), PHONE_EMPTY);
    memset(buf, 'a', n);
    cr_expect_eq(phone_normalize(buf, &pn), PHONE_INVALID);
    memcpy(buf, "sip:", 4);
    cr_expect_eq(phone_normalize(buf, &pn), PHONE_INVALID);
    free(buf);
}

/* Random byte strings (every byte value but NUL) and every one- and two-byte input: any
 * result is fine as long as it is consistent and a number result is a well-formed E.164. */
static void check_consistent(const char *in)
{
    phone_number pn;
    phone_status st = phone_normalize(in, &pn);
    cr_assert(st >= PHONE_OK && st <= PHONE_INVALID);
    cr_assert_eq(pn.status, st);
    if (st == PHONE_OK || st == PHONE_NOT_NANP) {
        size_t len = strlen(pn.e164);
        cr_assert(pn.e164[0] == '+' && len >= 9 && len <= 16, "input gave \"%s\"", pn.e164);
        for (size_t i = 1; i < len; i++)
            cr_assert(pn.e164[i] >= '0' && pn.e164[i] <= '9');
        if (st == PHONE_OK)
            cr_assert(len == 12 && pn.e164[1] == '1');
    } else {
        cr_assert_str_eq(pn.e164, "");
    }
}

Test(phone_normalize, garbage_bytes)
{
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    char buf[64];
    static const char alphabet[] = "0123456789+-(). <>@;:sipteSIPTE\t\"";

    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            buf[0] = (char)a;
            buf[1] = (char)b;
            buf[2] = '\0';
            check_consistent(buf);
        }
    }
    for (int round = 0; round < 20000; round++) {
        size_t len;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        len = (size_t)(x % (sizeof buf - 1));
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* Half the rounds use bytes that look like numbers, half use any byte. */
            buf[i] = (round & 1) ? alphabet[x % (sizeof alphabet - 1)] : (char)(1 + x % 255);
        }
        buf[len] = '\0';
        check_consistent(buf);
    }
}

/* A number the normaliser produced is normalised to itself (a stored number is normalised
 * again when its call is routed again). fuzz/fuzz_phone checks the same on any input. */
Test(phone_normalize, result_normalises_to_itself)
{
    static const char *const inputs[] = {"01186282452253",  "011266696687",      "0117378742833",
                                         "011442071234567", "+1 (512) 555-0100", "tel:+4930123456",
                                         "01115125550100"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        phone_number a, b;
        phone_status st = phone_normalize(inputs[i], &a);
        if (st != PHONE_OK && st != PHONE_NOT_NANP)
            continue;
        cr_expect_eq(phone_normalize(a.e164, &b), st, "%s -> %s", inputs[i], a.e164);
        cr_expect_str_eq(b.e164, a.e164, "%s", inputs[i]);
    }
}

/* The input is read only up to its NUL: a number followed by a NUL and garbage is the
 * number. Under ASan, an exact-size heap copy catches a read past the end. */
Test(phone_normalize, stops_at_nul)
{
    static const char raw[] = "5125550100\0abc";
    phone_number pn;
    char *heap;

    cr_expect_eq(phone_normalize(raw, &pn), PHONE_OK);
    cr_expect_str_eq(pn.e164, "+15125550100");
    heap = malloc(4);
    cr_assert_not_null(heap);
    memcpy(heap, "sip", 4);
    cr_expect_eq(phone_normalize(heap, &pn), PHONE_INVALID);
    memcpy(heap, "<", 2);
    cr_expect_eq(phone_normalize(heap, &pn), PHONE_INVALID);
    free(heap);
}
