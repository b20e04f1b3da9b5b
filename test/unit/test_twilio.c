/* test_twilio.c -- the Twilio adapter's pure pieces: the X-Twilio-Signature (Twilio's own
 * documented example, parameter order, the default-port spellings, rejections), the TwiML
 * builder (escaping, nesting, empty elements) and the SID check. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/twilio_config.h"
#include "telephony/twilio_signature.h"
#include "telephony/twiml.h"

/* The example of Twilio's security documentation. */
static const twilio_param tw_doc_params[] = {
    {"To", "+18005551212"},           {"From", "+12349013030"},   {"Digits", "1234"},
    {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"},
};
#define TW_DOC_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define TW_DOC_SIG "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

Test(twilio, signature_matches_twilios_documented_example)
{
    char sig[64];
    cr_assert(twilio_signature("12345", TW_DOC_URL, tw_doc_params, 5, sig, sizeof sig));
    cr_assert_str_eq(sig, TW_DOC_SIG);
    cr_assert(twilio_signature_valid("12345", TW_DOC_URL, tw_doc_params, 5, TW_DOC_SIG));
}

Test(twilio, signature_rejects_wrong_missing_and_tampered)
{
    twilio_param changed[5];
    memcpy(changed, tw_doc_params, sizeof changed);
    changed[0].value = "+18005551213";
    cr_assert_not(twilio_signature_valid("12345", TW_DOC_URL, changed, 5, TW_DOC_SIG));
    cr_assert_not(twilio_signature_valid("54321", TW_DOC_URL, tw_doc_params, 5, TW_DOC_SIG));
    cr_assert_not(twilio_signature_valid("12345", TW_DOC_URL, tw_doc_params, 5, ""));
    cr_assert_not(twilio_signature_valid("12345", TW_DOC_URL, tw_doc_params, 5, NULL));
    cr_assert_not(twilio_signature_valid("12345", TW_DOC_URL, tw_doc_params, 4, TW_DOC_SIG));
    cr_assert_not(twilio_signature_valid("12345", TW_DOC_URL "x", tw_doc_params, 5, TW_DOC_SIG));
}

/* Missing arguments are refused, not dereferenced (the URL was measured before its check). */
Test(twilio, signature_of_missing_arguments_is_refused)
{
    char sig[64];
    cr_assert_not(twilio_signature("tok", NULL, tw_doc_params, 5, sig, sizeof sig));
    cr_assert_not(twilio_signature(NULL, TW_DOC_URL, tw_doc_params, 5, sig, sizeof sig));
    cr_assert_not(twilio_signature("tok", TW_DOC_URL, NULL, 1, sig, sizeof sig));
    cr_assert_not(twilio_signature("tok", TW_DOC_URL, tw_doc_params, 5, sig, 28));
    cr_assert_not(twilio_signature_valid("12345", NULL, tw_doc_params, 5, TW_DOC_SIG));
}

Test(twilio, signature_accepts_the_url_with_and_without_its_default_port)
{
    char sig[64];
    const twilio_param p[] = {{"CallSid", "CA1"}};
    cr_assert(twilio_signature("tok", "https://h.test:443/twilio/voice", p, 1, sig, sizeof sig));
    cr_assert(twilio_signature_valid("tok", "https://h.test/twilio/voice", p, 1, sig));
    cr_assert(twilio_signature("tok", "https://h.test/twilio/voice", p, 1, sig, sizeof sig));
    cr_assert(twilio_signature_valid("tok", "https://h.test:443/twilio/voice", p, 1, sig));
    cr_assert(twilio_signature("tok", "http://h.test:80/twilio/voice", p, 1, sig, sizeof sig));
    cr_assert(twilio_signature_valid("tok", "http://h.test/twilio/voice", p, 1, sig));
    /* Another port is another URL. */
    cr_assert(twilio_signature("tok", "https://h.test:8443/twilio/voice", p, 1, sig, sizeof sig));
    cr_assert_not(twilio_signature_valid("tok", "https://h.test/twilio/voice", p, 1, sig));
}

Test(twilio, twiml_escapes_nests_and_closes)
{
    twiml t;
    twiml_begin(&t);
    twiml_open(&t, "Dial",
               (const char *const[]){"action", "https://x/a?b=1&c=\"2\"", "skip", NULL, "timeout",
                                     "20", NULL});
    twiml_elem(&t, "Client", NULL, "<maria> & 'co'");
    twiml_close(&t);
    twiml_elem(&t, "Hangup", NULL, NULL);
    char *doc = twiml_finish(&t);
    cr_assert_str_eq(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
                          "<Dial action=\"https://x/a?b=1&amp;c=&quot;2&quot;\" timeout=\"20\">"
                          "<Client>&lt;maria&gt; &amp; &apos;co&apos;</Client></Dial><Hangup/>"
                          "</Response>");
    free(doc);
    twiml_begin(&t);
    char *empty = twiml_finish(&t);
    cr_assert_str_eq(empty, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>");
    free(empty);
}

Test(twilio, sids_have_their_prefix_and_32_hex_digits)
{
    cr_assert(twilio_sid_ok("AC0123456789abcdef0123456789ABCDEF", "AC"));
    cr_assert_not(twilio_sid_ok("SK0123456789abcdef0123456789abcdef", "AC"));
    cr_assert_not(twilio_sid_ok("AC0123456789abcdef0123456789abcde", "AC"));
    cr_assert_not(twilio_sid_ok("AC0123456789abcdef0123456789abcdeg", "AC"));
    cr_assert_not(twilio_sid_ok(NULL, "AC"));
}
