/*
 * webhook.c - builds and signs the notifier's webhooks.
 *
 * The signature covers the timestamp and the exact bytes sent, so a
 * receiver that checks it knows the body is the one herald signed and
 * can refuse an old one replayed later.
 */
#include "webhook.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

const char *
herald_webhook_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return buf;
}

static json_t *
id_or_null(int64_t id)
{
    return id > 0 ? json_integer(id) : json_null();
}

json_t *
herald_webhook_body(int64_t event_id, const char *type, int64_t at_ms,
                    int64_t account_id, int64_t post_id, json_t *data)
{
    char id[24];
    char at[40];

    snprintf(id, sizeof(id), "%lld", (long long)event_id);
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "id", id, "type", type,
                     "created_at", herald_webhook_time(at_ms, at, sizeof(at)),
                     "account_id", id_or_null(account_id), "post_id",
                     id_or_null(post_id), "data", data ? data : json_object());
}

void
herald_webhook_sign(const char *secret, int64_t timestamp, const char *body,
                    size_t len, char out[HERALD_WEBHOOK_SIGNATURE_LEN])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "%lld.", (long long)timestamp);

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
                                strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix,
                                  (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "v1=", 3);
    sodium_bin2hex(out + 3, HERALD_WEBHOOK_SIGNATURE_LEN - 3, mac,
                   sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}
