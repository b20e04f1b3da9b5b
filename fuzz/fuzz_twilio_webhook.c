/* fuzz_twilio_webhook.c -- the form-encoded bodies of the Twilio voice webhooks, as far as
 * the code is ours. libmicrohttpd's form parser (MHD_create_post_processor) needs a live
 * connection, so this target stands in for it: it splits the body at '&' and '=', decodes
 * '+' and %XX, and hands each value over in pieces of a size the input chooses, the way the
 * parser does, to src/server/form_body.c (which collects the fields under their cap). The
 * fields then go through api_twilio_check() (src/server/api_twilio.c), which every webhook
 * runs before it reads the store: adapter configured, a form, X-Twilio-Signature over the
 * public URL of the path and the fields, the required fields present and printable.
 * Input: path selector, flags, piece size, a presented signature ending with a NUL byte,
 * then the body. With flag 1 the harness signs the request correctly instead, so the checks
 * after the signature are reached; a correctly signed complete request must be accepted, and
 * any request accepted must have been signed correctly. */
#include <stdint.h>
#include <string.h>

#include "fuzz_input.h"
#include "server/api.h"
#include "server/form_body.h"
#include "telephony/twilio_config.h"
#include "telephony/twilio_signature.h"

#define TOKEN "0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    const char *path;
    const char *const *required;
} paths[] = {
    {"/twilio/voice", (const char *const[]){"CallSid", "To", NULL}},
    {"/twilio/status", (const char *const[]){"CallSid", "CallStatus", NULL}},
    {"/twilio/dial/0190f3a2b4c5d6e7f8091a2b3c4d5e6f/maria", (const char *const[]){"CallSid", NULL}},
    {"/twilio/answered/0190f3a2b4c5d6e7f8091a2b3c4d5e6f", (const char *const[]){"CallSid", NULL}},
    {"/twilio/wait/x", (const char *const[]){"CallSid", NULL}},
    {"/twilio/queue/%41", (const char *const[]){"CallSid", NULL}},
    {"/twilio/connect/0190f3a2b4c5d6e7f8091a2b3c4d5e6f", (const char *const[]){"CallSid", NULL}},
};

static const char *const public_urls[] = {
    "https://calls.example.com", "https://calls.example.com//", "https://calls.example.com:443",
    "http://127.0.0.1:8080/sc"};

/* The signature the request is presented with (the header callback's answer). */
static const char *presented;

static const char *header(void *conn, const char *key)
{
    (void)conn;
    return strcmp(key, "X-Twilio-Signature") == 0 ? presented : NULL;
}

static int hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes [s, e) of a form ('+' is a space, %XX a byte; a bad escape stays as it is) into
 * out (at least e - s + 1 bytes); returns the decoded length. */
static size_t decode(const char *s, const char *e, char *out)
{
    size_t n = 0;
    for (; s < e; s++) {
        if (*s == '+') {
            out[n++] = ' ';
        } else if (*s == '%' && e - s >= 3 && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
            out[n++] = (char)(hex(s[1]) * 16 + hex(s[2]));
            s += 2;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return n;
}

/* Feeds the body's fields to f, each value in pieces of at most `piece` bytes. */
static void feed(form_body *f, const char *body, size_t len, size_t piece)
{
    char *key = malloc(len + 1), *value = malloc(len + 1);
    if (!key || !value)
        abort();
    const char *s = body, *end = body + len;
    while (s < end && !f->bad) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *field_end = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(field_end - s));
        decode(s, eq ? eq : field_end, key);
        size_t n = eq ? decode(eq + 1, field_end, value) : 0;
        if (!eq)
            value[0] = '\0';
        size_t off = 0;
        do {
            size_t k = n - off < piece ? n - off : piece;
            form_body_piece(f, key, value + off, off, k);
            off += k;
        } while (off < n && !f->bad);
        s = field_end + (amp ? 1 : 0);
    }
    form_body_done(f);
    free(key);
    free(value);
}

/* True when the value of every required field is there, non-empty and printable. */
static bool complete(const http_req *rq, const char *const *required)
{
    for (const char *const *r = required; *r; r++) {
        const char *v = http_form_get(rq, *r);
        if (!v || !v[0] || !http_printable(v, 256))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    unsigned which = fuzz_byte(&in) % (sizeof paths / sizeof paths[0]);
    unsigned flags = fuzz_byte(&in);
    size_t piece = (size_t)fuzz_byte(&in) + 1;
    char *given = fuzz_string(&in);
    size_t len;
    char *body = fuzz_rest(&in, &len);
    bool sign = flags & 1, is_form = !(flags & 2), configured = !(flags & 4);
    const char *public_url = public_urls[(flags >> 3) & 3];
    twilio_config tc = {configured ? public_url : "",
                        "AC0123456789abcdef0123456789abcdef",
                        TOKEN,
                        NULL,
                        NULL,
                        NULL,
                        NULL};
    form_body f;
    form_body_init(&f);
    if (is_form)
        feed(&f, body, len, piece);

    /* The URL the provider signs: the public URL as configured (trailing slashes trimmed)
     * and the path. */
    char url[512], expected[64] = "";
    size_t base_len = strlen(public_url);
    while (base_len > 0 && public_url[base_len - 1] == '/')
        base_len--;
    snprintf(url, sizeof url, "%.*s%s", (int)base_len, public_url, paths[which].path);
    twilio_param *params = malloc((f.n ? f.n : 1) * sizeof *params);
    if (!params)
        abort();
    for (size_t i = 0; i < f.n; i++)
        params[i] = (twilio_param){f.fields[i].name, f.fields[i].value};
    FUZZ_CHECK(twilio_signature(TOKEN, url, params, f.n, expected, sizeof expected));
    presented = sign ? expected : given;

    http_req rq;
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = paths[which].path;
    rq.body = body;
    rq.body_len = len;
    rq.content_type = is_form ? "application/x-www-form-urlencoded" : "application/json";
    rq.header = header;
    rq.twilio = &tc;
    rq.form = is_form ? f.fields : NULL;
    rq.n_form = f.n;
    rq.form_bad = f.bad;
    bool ok = api_twilio_check(&rq, paths[which].required);

    if (ok) {
        FUZZ_CHECK(!rq.reply && configured && is_form && !f.bad);
        FUZZ_CHECK(complete(&rq, paths[which].required));
        /* Accepted: signed for this URL, or for its other spelling of the default port. */
        FUZZ_CHECK(strcmp(presented, expected) == 0 || strstr(public_url, ":443"));
    } else {
        FUZZ_CHECK(rq.reply && rq.status >= 400 && rq.status <= 599);
        if (sign && configured && is_form && !f.bad)
            FUZZ_CHECK(!complete(&rq, paths[which].required));
    }
    if (is_form && !f.bad)
        FUZZ_CHECK(f.n <= FORM_BODY_FIELDS_MAX && f.fields);
    json_decref(rq.reply);
    free(params);
    form_body_free(&f);
    free(body);
    free(given);
    return 0;
}
