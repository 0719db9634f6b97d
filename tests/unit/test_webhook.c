/*
 * test_webhook.c - webhook bodies and signatures: the body's shape, and
 * signatures that match what a receiver computes with Python's hmac
 * module (the vectors below), for short and long secrets alike.
 */
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "webhook.h"

static void
test_signatures(void)
{
    const char *body = "{\"id\":\"7\"}";
    char sig[HERALD_WEBHOOK_SIGNATURE_LEN];
    char long_key[101];

    herald_webhook_sign("whsec-test", 1700000000, body, strlen(body), sig);
    CHECK_STR(sig, "v1=8c0a79c4da102cc2f81b5ffd39da67d8b500bd15cc14af96ce0"
                   "5779d9eebb8b2");

    /* A key longer than SHA-256's block is hashed first, as HMAC says. */
    memset(long_key, 'k', 100);
    long_key[100] = '\0';
    herald_webhook_sign(long_key, 1, "x", 1, sig);
    CHECK_STR(sig, "v1=8dc72019a8a249d8f2d36e36fac06f4497511f4f50cfee8600a"
                   "5d97fb8a91da5");

    /* Another timestamp, another signature: a replay shows. */
    herald_webhook_sign("whsec-test", 1700000001, body, strlen(body), sig);
    CHECK(strcmp(sig, "v1=8c0a79c4da102cc2f81b5ffd39da67d8b500bd15cc14af96"
                      "ce05779d9eebb8b2") != 0);
}

static void
test_body(void)
{
    json_t *data = json_pack("{s:s}", "reason", "revoked");
    json_t *b = herald_webhook_body(42, "account.disconnected",
                                    1796306709120LL, 5, 0, data);
    char at[40];

    CHECK(b != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "id")), "42");
    CHECK_STR(json_string_value(json_object_get(b, "type")),
              "account.disconnected");
    CHECK_STR(json_string_value(json_object_get(b, "created_at")),
              "2026-12-03T14:05:09.120Z");
    CHECK(json_integer_value(json_object_get(b, "account_id")) == 5);
    CHECK(json_is_null(json_object_get(b, "post_id")));
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(b, "data"), "reason")),
              "revoked");
    CHECK(json_object_size(b) == 6);
    json_decref(b);

    b = herald_webhook_body(1, "post.published", 1000, 0, 9, NULL);
    CHECK(json_is_null(json_object_get(b, "account_id")));
    CHECK(json_integer_value(json_object_get(b, "post_id")) == 9);
    CHECK(json_object_size(json_object_get(b, "data")) == 0);
    json_decref(b);

    CHECK_STR(herald_webhook_time(0, at, sizeof(at)),
              "1970-01-01T00:00:00.000Z");
}

int
main(void)
{
    if (sodium_init() < 0)
        return 2;
    test_signatures();
    test_body();
    return check_done();
}
