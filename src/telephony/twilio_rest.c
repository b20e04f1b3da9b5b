/* twilio_rest.c -- the call update request with libcurl. */
#include "twilio_rest.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

/* The response body is not needed: discard it. */
static size_t twilio_rest_discard(char *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * n;
}

long twilio_rest_redirect(const twilio_config *cfg, const char *call_sid, const char *twiml_url,
                          char *err, size_t errlen)
{
    char url[1024], userpwd[512];
    long status = -1;
    const char *base = cfg->api_base && cfg->api_base[0] ? cfg->api_base : TWILIO_API_BASE_DEFAULT;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    snprintf(err, errlen, "%s", "");
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "cannot start a request");
        return -1;
    }
    char *esc_url = curl_easy_escape(h, twiml_url, 0);
    char *esc_sid = curl_easy_escape(h, call_sid, 0);
    char form[1400];
    int n = esc_url && esc_sid
                ? snprintf(url, sizeof url, "%.*s/2010-04-01/Accounts/%s/Calls/%s.json", (int)bl,
                           base, cfg->account_sid, esc_sid)
                : -1;
    int m = esc_url ? snprintf(form, sizeof form, "Url=%s&Method=POST", esc_url) : -1;
    snprintf(userpwd, sizeof userpwd, "%s:%s", cfg->account_sid, cfg->auth_token);
    if (n < 0 || (size_t)n >= sizeof url || m < 0 || (size_t)m >= sizeof form) {
        snprintf(err, errlen, "the request does not fit");
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)TWILIO_REST_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, twilio_rest_discard);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK)
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    else
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
out:
    curl_free(esc_url);
    curl_free(esc_sid);
    curl_easy_cleanup(h);
    return status;
}
