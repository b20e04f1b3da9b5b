/* phone.c -- normalises caller IDs and dialled numbers (plain, tel: and sip: forms) to
 * E.164, with a reason when the input is not a usable number. */
#include "phone.h"

#include <stddef.h>
#include <string.h>

/* Digits of an E.164 number, and digits kept from the input: enough for 011 and the
 * longest international number; anything longer is too long. */
#define MAX_DIGITS 15
#define KEEP_DIGITS (3 + MAX_DIGITS)

static const char *const status_names[] = {
    [PHONE_OK] = "ok",
    [PHONE_NOT_NANP] = "not_nanp",
    [PHONE_EMPTY] = "empty",
    [PHONE_ANONYMOUS] = "anonymous",
    [PHONE_RESTRICTED] = "restricted",
    [PHONE_TOO_SHORT] = "too_short",
    [PHONE_TOO_LONG] = "too_long",
    [PHONE_INVALID] = "invalid",
};

/* Caller IDs that say the number is hidden. Compared without regard to case. */
static const char *const anonymous_words[] = {"anonymous", "unknown",        "unavailable",
                                              "private",   "private number", "unknown caller"};
static const char *const restricted_words[] = {"restricted", "blocked", "withheld"};

/* The digits Twilio puts in From when the caller ID is hidden (they spell ANONYMOUS,
 * UNAVAILABLE, UNKNOWN, RESTRICTED and BLOCKED on a keypad); none is a real E.164 number. */
static const struct {
    const char *digits;
    phone_status status;
} twilio_hidden[] = {
    {"266696687", PHONE_ANONYMOUS},   {"8656696", PHONE_ANONYMOUS},
    {"86282452253", PHONE_ANONYMOUS}, {"7378742833", PHONE_RESTRICTED},
    {"2562533", PHONE_RESTRICTED},
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* True when [s, e) equals the lower-case `word` without regard to case. */
static bool span_is(const char *s, const char *e, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(e - s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != word[i])
            return false;
    return true;
}

/* True when [s, e) starts with the lower-case `prefix` without regard to case. */
static bool span_starts(const char *s, const char *e, const char *prefix)
{
    size_t n = strlen(prefix);
    if ((size_t)(e - s) < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != prefix[i])
            return false;
    return true;
}

static const char *find_char(const char *s, const char *e, char c)
{
    for (; s < e; s++)
        if (*s == c)
            return s;
    return NULL;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space(**s))
        (*s)++;
    while (*e > *s && is_space((*e)[-1]))
        (*e)--;
}

/* Narrows [s, e) to the user part of a name-addr or URI: the text inside <...> when there
 * is one, without a tel:, sip: or sips: scheme, without ;parameters, and for SIP without
 * the @host part. Plain numbers pass through unchanged. */
static void strip_uri(const char **s, const char **e)
{
    const char *lt = find_char(*s, *e, '<'), *p;
    bool sip = false;

    if (lt) {
        const char *gt = find_char(lt + 1, *e, '>');
        *s = lt + 1;
        if (gt)
            *e = gt;
        trim(s, e);
    }
    if (span_starts(*s, *e, "sips:")) {
        *s += 5;
        sip = true;
    } else if (span_starts(*s, *e, "sip:")) {
        *s += 4;
        sip = true;
    } else if (span_starts(*s, *e, "tel:")) {
        *s += 4;
    } else {
        return;
    }
    if (sip && (p = find_char(*s, *e, '@')) != NULL)
        *e = p;
    if ((p = find_char(*s, *e, ';')) != NULL)
        *e = p;
    trim(s, e);
}

/* Fills out for a NANP number whose ten national digits are `d`. */
static phone_status nanp(const char *d, phone_number *out)
{
    if (d[0] < '2' || d[3] < '2')
        return out->status = PHONE_INVALID; /* NPA and exchange start with 2-9 */
    out->e164[0] = '+';
    out->e164[1] = '1';
    memcpy(out->e164 + 2, d, 10);
    out->e164[12] = '\0';
    memcpy(out->npa, d, 3);
    out->npa[3] = '\0';
    return out->status = PHONE_OK;
}

/* Fills out for an international number whose digits after '+' (or 011) are d[0..n-1]
 * (n counts digits that did not fit in d). Twilio's hidden caller IDs are hidden however
 * they are written: "+266696687" and "011 266696687" alike. Otherwise the second would come
 * out as the number +266696687, which normalised again (a stored number is, when its call is
 * routed again) would be anonymous: the same caller two ways. */
static phone_status international(const char *d, size_t n, phone_number *out)
{
    for (size_t i = 0; i < sizeof twilio_hidden / sizeof twilio_hidden[0]; i++)
        if (strcmp(d, twilio_hidden[i].digits) == 0)
            return out->status = twilio_hidden[i].status;
    if (n == 0)
        return out->status = PHONE_TOO_SHORT; /* "011" alone */
    if (d[0] == '0')
        return out->status = PHONE_INVALID; /* country codes do not start with 0 */
    if (d[0] == '1') {
        if (n < 11)
            return out->status = PHONE_TOO_SHORT;
        if (n > 11)
            return out->status = PHONE_TOO_LONG;
        return nanp(d + 1, out);
    }
    if (n < 8)
        return out->status = PHONE_TOO_SHORT;
    if (n > MAX_DIGITS)
        return out->status = PHONE_TOO_LONG;
    out->e164[0] = '+';
    memcpy(out->e164 + 1, d, n);
    out->e164[n + 1] = '\0';
    return out->status = PHONE_NOT_NANP;
}

phone_status phone_normalize(const char *in, phone_number *out)
{
    char d[KEEP_DIGITS + 1];
    size_t n = 0;
    bool plus = false;
    const char *s, *e;

    out->status = PHONE_EMPTY;
    out->e164[0] = '\0';
    out->npa[0] = '\0';
    if (!in)
        return out->status;
    s = in;
    e = in + strlen(in);
    trim(&s, &e);
    if (s == e)
        return out->status;

    strip_uri(&s, &e);
    if (s == e)
        return out->status = PHONE_INVALID; /* "sip:@host", "<>" */
    for (size_t i = 0; i < sizeof anonymous_words / sizeof anonymous_words[0]; i++)
        if (span_is(s, e, anonymous_words[i]))
            return out->status = PHONE_ANONYMOUS;
    for (size_t i = 0; i < sizeof restricted_words / sizeof restricted_words[0]; i++)
        if (span_is(s, e, restricted_words[i]))
            return out->status = PHONE_RESTRICTED;

    if (*s == '+') {
        plus = true;
        s++;
    }
    for (const char *p = s; p < e; p++) {
        if (is_digit(*p)) {
            if (n < KEEP_DIGITS)
                d[n] = *p;
            if (n <= KEEP_DIGITS)
                n++; /* n stops at KEEP_DIGITS + 1, meaning "more than fits" */
        } else if (!(*p == ' ' || *p == '-' || *p == '.' || *p == '(' || *p == ')' || *p == '/' ||
                     *p == '\t')) {
            return out->status = PHONE_INVALID;
        }
    }
    d[n < KEEP_DIGITS ? n : KEEP_DIGITS] = '\0';
    if (n == 0)
        return out->status = PHONE_INVALID;

    if (plus)
        return international(d, n, out);
    if (n >= 3 && d[0] == '0' && d[1] == '1' && d[2] == '1') /* 011: dialled abroad */
        return international(d + 3, n - 3, out);
    if (n < 10)
        return out->status = PHONE_TOO_SHORT;
    if (n == 10)
        return d[0] == '1' ? (out->status = PHONE_TOO_SHORT) : nanp(d, out); /* 1 + 9 */
    if (n == 11 && d[0] == '1')
        return nanp(d + 1, out);
    return out->status = PHONE_TOO_LONG;
}

const char *phone_status_name(phone_status s)
{
    if ((int)s < 0 || (size_t)s >= sizeof status_names / sizeof status_names[0])
        return "invalid";
    return status_names[s];
}
