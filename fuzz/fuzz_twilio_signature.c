/* fuzz_twilio_signature.c -- the X-Twilio-Signature check (src/telephony/twilio_signature.c)
 * with any auth token, URL, parameters and presented signature: a computed signature is 28
 * characters of Base64 and is accepted; the parameters' order does not matter; the default
 * port may be added to or removed from the URL; a signature one character off is refused;
 * and a presented signature is accepted only when it is one of the computed ones. Input:
 * token, URL, signature, then name and value pairs, each ending with a NUL byte. */
#include <stdint.h>
#include <string.h>

#include "fuzz_input.h"
#include "telephony/twilio_signature.h"

#define MAX_PARAMS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The URL with the default port of its scheme spelled out (when it has no port), or "". */
static void with_default_port(const char *url, char *out, size_t cap)
{
    const char *port = strncmp(url, "https://", 8) == 0  ? ":443"
                       : strncmp(url, "http://", 7) == 0 ? ":80"
                                                         : NULL;
    out[0] = '\0';
    if (!port)
        return;
    const char *host = strstr(url, "://") + 3;
    size_t host_len = strcspn(host, "/?#");
    if (memchr(host, ':', host_len))
        return;
    snprintf(out, cap, "%.*s%s%s", (int)(host - url + host_len), url, port, host + host_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    char *token = fuzz_string(&in), *url = fuzz_string(&in), *given = fuzz_string(&in);
    char *strings[2 * MAX_PARAMS];
    twilio_param params[MAX_PARAMS], reversed[MAX_PARAMS];
    size_t n = 0;
    while (in.n > 0 && n < MAX_PARAMS) {
        strings[2 * n] = fuzz_string(&in);
        strings[2 * n + 1] = fuzz_string(&in);
        params[n] = (twilio_param){strings[2 * n], strings[2 * n + 1]};
        n++;
    }
    for (size_t i = 0; i < n; i++)
        reversed[i] = params[n - 1 - i];

    char sig[64], sig2[64], small[28];
    FUZZ_CHECK(!twilio_signature(token, url, params, n, small, sizeof small));
    FUZZ_CHECK(twilio_signature(token, url, params, n, sig, sizeof sig));
    FUZZ_CHECK(strlen(sig) == 28 && sig[27] == '=');
    FUZZ_CHECK(twilio_signature(token, url, reversed, n, sig2, sizeof sig2));
    FUZZ_CHECK(strcmp(sig, sig2) == 0);
    bool usable = token[0] != '\0';
    FUZZ_CHECK(twilio_signature_valid(token, url, params, n, sig) == usable);
    FUZZ_CHECK(twilio_signature_valid(token, url, reversed, n, sig) == usable);
    sig2[0] = sig[0] == 'A' ? 'B' : 'A';
    FUZZ_CHECK(!twilio_signature_valid(token, url, params, n, sig2));
    FUZZ_CHECK(!twilio_signature_valid(token, url, params, n, "") &&
               !twilio_signature_valid(token, url, params, n, NULL));

    /* Signed for the URL with its default port: accepted without it too (as Twilio's own
     * libraries do), and the other way round. */
    char ported[4096];
    with_default_port(url, ported, sizeof ported);
    if (ported[0] && strlen(ported) < 2048) {
        FUZZ_CHECK(twilio_signature(token, ported, params, n, sig2, sizeof sig2));
        FUZZ_CHECK(twilio_signature_valid(token, url, params, n, sig2) == usable);
        FUZZ_CHECK(twilio_signature_valid(token, ported, params, n, sig) == usable);
    }

    /* Whatever was presented is accepted only when it is a computed signature. */
    if (twilio_signature_valid(token, url, params, n, given)) {
        bool same = strcmp(given, sig) == 0;
        if (!same && ported[0])
            same = twilio_signature(token, ported, params, n, sig2, sizeof sig2) &&
                   strcmp(given, sig2) == 0;
        FUZZ_CHECK(same || (strstr(url, ":443") || strstr(url, ":80")));
    }
    for (size_t i = 0; i < 2 * n; i++)
        free(strings[i]);
    free(token);
    free(url);
    free(given);
    return 0;
}
