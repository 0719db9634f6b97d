/*
 * test_twitter.c - the X plugin alone, against the mock host.
 *
 * Each test starts an operation through the descriptor, checks the exact
 * request the plugin sent, answers it with a body documented for the network
 * section 4 (or a transport failure) and checks the typed outcome. Every
 * completion is also checked to happen once and to carry no secret.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mockhost.h"

#define BASE      "http://127.0.0.1:9/x"
#define TOKEN_URL BASE "/2/oauth2/token"
#define BASIC     "Basic Q0lEOlNFQ1JFVC14eXo=" /* CID:SECRET-xyz */
#define NOW       1780000000000LL

/* The plugin's one exported symbol (HERALD_PLUGIN_ENTRY). */
const struct herald_plugin *herald_plugin_entry(void);

static const struct herald_plugin *plugin;
static void *state;

/* Every secret value the tests hand the plugin. */
static const char *const secrets[] = {
    "SECRET-xyz", "AT-old",  "RT-old",   "AT-new",
    "RT-new",     "CODE-42", "VERIFIER", NULL,
};

static void
check_no_secret(const char *message)
{
    for (size_t i = 0; message && secrets[i]; i++)
        CHECK(strstr(message, secrets[i]) == NULL);
}

/* The operation completed exactly once with kind and no secret. */
#define EXPECT(k)                                                             \
    do {                                                                      \
        const struct mock_completion *c_ = mock_completion();                 \
        CHECK(c_->completed == 1);                                            \
        CHECK(c_->outcome.kind == (k));                                       \
        check_no_secret(c_->outcome.message);                                 \
    } while (0)

#define DONE_C()  mock_completion()
#define OUTCOME() (&mock_completion()->outcome)
#define PROBLEM(t, d, s)                                                      \
    "{\"title\":\"" t "\",\"type\":\"about:blank\",\"status\":" #s            \
    ",\"detail\":\"" d "\"}"

static const char *const token_body =
    "{\"token_type\":\"bearer\",\"expires_in\":7200,"
    "\"access_token\":\"AT-new\",\"scope\":\"tweet.write users.read "
    "tweet.read offline.access\",\"refresh_token\":\"RT-new\"}";

static const char *const me_body =
    "{\"data\":{\"id\":\"2244994945\",\"name\":\"X Developers\","
    "\"username\":\"XDevelopers\"}}";

static json_t *
make_config(int confidential, int with_secret)
{
    json_t *c = json_pack(
        "{s:b, s:s, s:s, s:[s,s,s,s], s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
        "enabled", 1, "client_id", "CID", "redirect_uri",
        "https://h.example/cb", "scopes", "tweet.read", "tweet.write",
        "users.read", "offline.access", "authorize_url",
        BASE "/i/oauth2/authorize", "token_url", TOKEN_URL, "revoke_url",
        BASE "/2/oauth2/revoke", "api_base", BASE, "api_version", "2",
        "web_base", "https://x.com", "confidential_client", confidential);

    if (with_secret)
        json_object_set_new(c, "client_secret", json_string("SECRET-xyz"));
    return c;
}

/* An account with both tokens, its access token valid for an hour. */
static json_t *extra;
static struct herald_credentials creds = {
    .access_token = "AT-old",
    .refresh_token = "RT-old",
    .access_expires_at = NOW + 3600000,
};
static struct herald_account account = {
    .id = 7, .remote_id = "2244994945", .creds = &creds};

/* The same without a refresh token (offline.access not granted). */
static struct herald_credentials creds_norefresh = {
    .access_token = "AT-old",
    .access_expires_at = NOW + 3600000,
};
static struct herald_account account_norefresh = {
    .id = 8, .remote_id = "2244994945", .creds = &creds_norefresh};

/* ---- descriptor and init ------------------------------------------ */

static const struct herald_config_key *
schema_key(const char *name)
{
    for (const struct herald_config_key *k = plugin->config_schema; k->name;
         k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static void
test_descriptor(void)
{
    static const char *const common[] = {"enabled",       "client_id",
                                         "client_secret", "redirect_uri",
                                         "scopes",        NULL};
    static const char *const urls[] = {"authorize_url", "token_url",
                                       "revoke_url",    "api_base",
                                       "web_base",      NULL};
    const struct herald_content_rules *r = plugin->content;

    CHECK(plugin->abi_major == HERALD_ABI_MAJOR);
    CHECK(plugin->abi_minor == HERALD_ABI_MINOR);
    CHECK(plugin->size == sizeof(struct herald_plugin));
    CHECK_STR(plugin->signature, HERALD_BUILD_SIGNATURE);
    CHECK_STR(plugin->name, "twitter");
    CHECK_STR(plugin->display_name, "X");
    CHECK(plugin->token_model == HERALD_TOKEN_ROTATING_REFRESH);
    CHECK(plugin->capabilities ==
          (HERALD_CAP_PKCE | HERALD_CAP_REFRESH | HERALD_CAP_REVOKE |
           HERALD_CAP_DEDUPLICATES));
    CHECK(plugin->reconnect_window == 0);
    CHECK(plugin->lookup == NULL);
    CHECK(plugin->revoke != NULL);
    CHECK(plugin->init && plugin->fini && plugin->authorize_url &&
          plugin->exchange && plugin->identity && plugin->refresh &&
          plugin->publish);

    CHECK(r->max_text == 280);
    CHECK(r->counting == HERALD_COUNT_WEIGHTED);
    CHECK(r->url_weight == 23);
    CHECK(r->media == HERALD_MEDIA_NONE);
    CHECK(r->max_media == 0);
    CHECK(r->text_required == 1);
    CHECK(r->link_allowed == 1);

    CHECK_STR(plugin->default_scopes[0], "tweet.read");
    CHECK_STR(plugin->default_scopes[1], "tweet.write");
    CHECK_STR(plugin->default_scopes[2], "users.read");
    CHECK_STR(plugin->default_scopes[3], "offline.access");
    CHECK(plugin->default_scopes[4] == NULL);

    for (size_t i = 0; common[i]; i++)
        CHECK(schema_key(common[i]) == NULL);
    for (size_t i = 0; urls[i]; i++) {
        const struct herald_config_key *k = schema_key(urls[i]);
        CHECK(k && k->type == HERALD_CONF_URL && !k->secret && !k->required);
        CHECK(k && k->default_json && strstr(k->default_json, "https://"));
    }
    CHECK_STR(schema_key("authorize_url")->default_json,
              "\"https://x.com/i/oauth2/authorize\"");
    CHECK_STR(schema_key("token_url")->default_json,
              "\"https://api.x.com/2/oauth2/token\"");
    CHECK_STR(schema_key("revoke_url")->default_json,
              "\"https://api.x.com/2/oauth2/revoke\"");
    CHECK_STR(schema_key("api_base")->default_json, "\"https://api.x.com\"");
    CHECK_STR(schema_key("api_version")->default_json, "\"2\"");
    CHECK(schema_key("confidential_client")->type == HERALD_CONF_BOOLEAN);
    CHECK_STR(schema_key("confidential_client")->default_json, "true");
    for (const struct herald_config_key *k = plugin->config_schema; k->name;
         k++) {
        /* Every default is valid JSON. */
        json_t *v = json_loads(k->default_json, JSON_DECODE_ANY, NULL);
        CHECK(v != NULL);
        json_decref(v);
    }
}

static void
test_init(void)
{
    json_t *c;
    void *s = NULL;

    /* A confidential client needs its secret. */
    c = make_config(1, 0);
    CHECK(plugin->init(mock_host(), c, &s) == -EINVAL);
    json_decref(c);

    /* A public client does not. */
    c = make_config(0, 0);
    CHECK(plugin->init(mock_host(), c, &s) == 0);
    CHECK(s != NULL);
    plugin->fini(s);
    json_decref(c);

    c = make_config(1, 1);
    json_object_del(c, "client_id");
    CHECK(plugin->init(mock_host(), c, &s) == -EINVAL);
    json_decref(c);
}

/* ---- authorize_url ------------------------------------------------ */

static void
test_authorize_url(void)
{
    struct herald_authorize_request req = {.state = "st/1",
                                           .code_challenge = "CHAL",
                                           .redirect_uri =
                                               "https://h.example/cb"};
    char *url = NULL;
    json_t *c;
    void *s = NULL;

    CHECK(plugin->authorize_url(state, &req, &url) == 0);
    CHECK_STR(url, BASE "/i/oauth2/authorize?response_type=code"
                        "&client_id=CID"
                        "&redirect_uri=https%3A%2F%2Fh.example%2Fcb"
                        "&scope=tweet.read%20tweet.write%20users.read"
                        "%20offline.access"
                        "&state=st%2F1&code_challenge=CHAL"
                        "&code_challenge_method=S256");
    free(url);

    /* X refuses authorization without PKCE. */
    req.code_challenge = NULL;
    url = NULL;
    CHECK(plugin->authorize_url(state, &req, &url) == -EINVAL);
    CHECK(url == NULL);

    /* Configured scopes and a base URL that already has a query. */
    c = make_config(1, 1);
    json_object_set_new(c, "scopes",
                        json_pack("[s,s]", "tweet.read", "users.read"));
    json_object_set_new(c, "authorize_url",
                        json_string("https://x.example/auth?x=1"));
    CHECK(plugin->init(mock_host(), c, &s) == 0);
    req.code_challenge = "CHAL";
    CHECK(plugin->authorize_url(s, &req, &url) == 0);
    CHECK_CONTAINS(url, "https://x.example/auth?x=1&response_type=code&");
    CHECK_CONTAINS(url, "&scope=tweet.read%20users.read&");
    free(url);
    plugin->fini(s);
    json_decref(c);
}

/* ---- exchange ----------------------------------------------------- */

static struct herald_exchange_request xreq = {
    .code = "CODE-42",
    .code_verifier = "VERIFIER",
    .redirect_uri = "https://h.example/cb",
};

static void
start_exchange(void)
{
    CHECK(plugin->exchange(state, mock_op_begin(), &xreq) == 0);
    CHECK(mock_request_count() == 1);
}

static void
test_exchange_ok(void)
{
    const struct mock_completion *c;

    start_exchange();
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, TOKEN_URL);
    CHECK_STR(mock_header(0, "Content-Type"),
              "application/x-www-form-urlencoded");
    CHECK_STR(mock_header(0, "Authorization"), BASIC);
    CHECK_STR(mock_field(0, "code"), "CODE-42");
    CHECK_STR(mock_field(0, "grant_type"), "authorization_code");
    CHECK_STR(mock_field(0, "client_id"), "CID");
    CHECK_STR(mock_field(0, "redirect_uri"), "https://h.example/cb");
    CHECK_STR(mock_field(0, "code_verifier"), "VERIFIER");
    CHECK(mock_field(0, "client_secret") == NULL);
    CHECK(mock_completion()->completed == 0);

    mock_respond(200, NULL, token_body);
    CHECK(mock_request_count() == 2);
    CHECK_STR(mock_request(1)->method, "GET");
    CHECK_STR(mock_request(1)->url, BASE "/2/users/me");
    CHECK_STR(mock_header(1, "Authorization"), "Bearer AT-new");
    CHECK(mock_completion()->completed == 0);

    mock_respond(200, NULL, me_body);
    EXPECT(HERALD_OUTCOME_DONE);
    c = DONE_C();
    CHECK(c->has_credentials);
    CHECK_STR(c->access_token, "AT-new");
    CHECK_STR(c->refresh_token, "RT-new");
    CHECK(c->access_expires_at == NOW + 7200 * 1000LL);
    CHECK(c->hard_deadline == 0);
    CHECK_STR(json_string_value(json_object_get(c->extra, "username")),
              "XDevelopers");
    CHECK(c->has_identity);
    CHECK_STR(c->identity_id, "2244994945");
    CHECK_STR(c->username, "XDevelopers");
    CHECK_STR(c->display_name, "X Developers");
    CHECK(c->targets == NULL);
}

static void
test_exchange_public_client(void)
{
    json_t *c = make_config(0, 0);
    void *s = NULL;

    CHECK(plugin->init(mock_host(), c, &s) == 0);
    CHECK(plugin->exchange(s, mock_op_begin(), &xreq) == 0);
    CHECK(mock_header(0, "Authorization") == NULL);
    CHECK_STR(mock_field(0, "client_id"), "CID");
    CHECK_STR(mock_field(0, "code_verifier"), "VERIFIER");
    mock_respond(200, NULL, token_body);
    mock_respond(200, NULL, me_body);
    EXPECT(HERALD_OUTCOME_DONE);
    plugin->fini(s);
    json_decref(c);
}

/* A token answer without offline.access has no refresh token. */
static void
test_exchange_no_offline_access(void)
{
    start_exchange();
    mock_respond(200, NULL,
                 "{\"token_type\":\"bearer\",\"expires_in\":7200,"
                 "\"access_token\":\"AT-new\",\"scope\":\"tweet.read\"}");
    mock_respond(200, NULL, me_body);
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK(DONE_C()->refresh_token == NULL);
    CHECK(DONE_C()->access_expires_at == NOW + 7200 * 1000LL);
    CHECK(DONE_C()->hard_deadline == NOW + 7200 * 1000LL);
}

static void
test_exchange_token_errors(void)
{
    start_exchange();
    mock_respond(400, NULL,
                 "{\"error\":\"invalid_request\",\"error_description\":"
                 "\"Value passed for the authorization code was invalid.\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);
    CHECK(OUTCOME()->http_status == 400);
    CHECK_STR(OUTCOME()->message, "invalid_request: Value passed for the "
                                  "authorization code was invalid.");
    CHECK(mock_request_count() == 1);

    start_exchange();
    mock_respond(401, NULL,
                 "{\"error\":\"unauthorized_client\",\"error_description\":"
                 "\"Missing valid authorization header\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(OUTCOME()->message, "Missing valid authorization header");

    start_exchange();
    mock_respond(503, NULL, "Service Unavailable");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK_STR(OUTCOME()->message, "HTTP 503: Service Unavailable");

    start_exchange();
    mock_fail(HERALD_TRANSPORT_CONNECT);
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK(OUTCOME()->http_status == 0);

    start_exchange();
    mock_fail(HERALD_TRANSPORT_TIMEOUT);
    EXPECT(HERALD_OUTCOME_RETRY_LATER);

    start_exchange();
    mock_respond(200, NULL, "<html>not json</html>");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_request_count() == 1);

    start_exchange();
    {
        const char *h[] = {"x-rate-limit-remaining: 0",
                           "x-rate-limit-reset: 1780000900", NULL};
        mock_respond(429, h,
                     PROBLEM("Too Many Requests", "Too Many Requests", 429));
    }
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->retry_at == 1780000900000LL);

    /* An answer that repeats the code or verifier is not quoted. */
    start_exchange();
    mock_respond(400, NULL,
                 "{\"error\":\"invalid_request\",\"error_description\":"
                 "\"code CODE-42 with VERIFIER is bad\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(OUTCOME()->message, "withheld");
}

static void
test_exchange_identity_errors(void)
{
    /* users.read without tweet.read: 403. */
    start_exchange();
    mock_respond(200, NULL, token_body);
    mock_respond(403, NULL, PROBLEM("Forbidden", "Forbidden", 403));
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_PERMISSION_MISSING);
    CHECK(DONE_C()->has_credentials == 0);

    start_exchange();
    mock_respond(200, NULL, token_body);
    mock_respond(401, NULL, PROBLEM("Unauthorized", "Unauthorized", 401));
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_INVALID);

    /* A dropped identity request is retried once at once. */
    start_exchange();
    mock_respond(200, NULL, token_body);
    mock_fail(HERALD_TRANSPORT_BROKEN);
    CHECK(mock_request_count() == 3);
    CHECK_STR(mock_request(2)->url, BASE "/2/users/me");
    CHECK(mock_completion()->completed == 0);
    mock_respond(200, NULL, me_body);
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK_STR(DONE_C()->refresh_token, "RT-new");

    /* ...but only once. */
    start_exchange();
    mock_respond(200, NULL, token_body);
    mock_respond(503, NULL, "");
    mock_respond(503, NULL, "");
    CHECK(mock_request_count() == 3);
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK(OUTCOME()->http_status == 503);

    start_exchange();
    mock_respond(200, NULL, token_body);
    mock_respond(200, NULL, "{\"data\":{}}");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_request_count() == 2);
}

/* ---- identity ----------------------------------------------------- */

static void
start_identity(const struct herald_account *a)
{
    CHECK(plugin->identity(state, mock_op_begin(), a) == 0);
    CHECK(mock_request_count() == 1);
}

static void
test_identity(void)
{
    const char *h429[] = {"x-rate-limit-limit: 75",
                          "x-rate-limit-remaining: 0",
                          "x-rate-limit-reset: 1780000600", NULL};
    const char *h503[] = {"Retry-After: 30", NULL};

    start_identity(&account);
    CHECK_STR(mock_request(0)->method, "GET");
    CHECK_STR(mock_request(0)->url, BASE "/2/users/me");
    CHECK_STR(mock_header(0, "Authorization"), "Bearer AT-old");
    mock_respond(200, NULL, me_body);
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK_STR(DONE_C()->identity_id, "2244994945");
    CHECK_STR(DONE_C()->username, "XDevelopers");
    CHECK(DONE_C()->has_credentials == 0);

    /* 401 with a refresh token: refresh, then try again. */
    start_identity(&account);
    mock_respond(401, NULL, PROBLEM("Unauthorized", "Unauthorized", 401));
    EXPECT(HERALD_OUTCOME_TOKEN_EXPIRED);
    CHECK(OUTCOME()->http_status == 401);
    CHECK_STR(OUTCOME()->message, "Unauthorized");

    /* 401 without one: the access is gone; why depends on the clock. */
    start_identity(&account_norefresh);
    mock_respond(401, NULL, PROBLEM("Unauthorized", "Unauthorized", 401));
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_REVOKED);
    mock_now_ms = NOW + 3600000;
    start_identity(&account_norefresh);
    mock_respond(401, NULL, PROBLEM("Unauthorized", "Unauthorized", 401));
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_EXPIRED);
    mock_now_ms = NOW;

    start_identity(&account);
    mock_respond(403, NULL, PROBLEM("Forbidden", "Forbidden", 403));
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_PERMISSION_MISSING);

    start_identity(&account);
    mock_respond(403, NULL,
                 "{\"title\":\"Unsupported Authentication\",\"detail\":"
                 "\"Authenticating with OAuth 2.0 Application-Only is "
                 "forbidden for this endpoint.\",\"type\":\"https://api."
                 "twitter.com/2/problems/unsupported-authentication\","
                 "\"status\":403}");
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_INVALID);

    start_identity(&account);
    mock_respond(403, NULL,
                 "{\"title\":\"Client Forbidden\",\"detail\":\"When "
                 "authenticating requests to the Twitter API v2 endpoints, "
                 "you must use keys and tokens from a Twitter developer App "
                 "that is attached to a Project.\",\"type\":\"https://api."
                 "twitter.com/2/problems/client-forbidden\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(OUTCOME()->message, "attached to a Project");

    start_identity(&account);
    mock_respond(429, h429,
                 PROBLEM("Too Many Requests", "Too Many Requests", 429));
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->scope == HERALD_RATE_USER);
    CHECK(OUTCOME()->retry_at == 1780000600000LL);

    start_identity(&account);
    mock_respond(503, h503, "{\"title\":\"Service Unavailable\"}");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK(OUTCOME()->retry_at == NOW + 30000);
    CHECK_STR(OUTCOME()->message, "Service Unavailable");

    start_identity(&account);
    mock_respond(500, NULL, "");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK(OUTCOME()->retry_at == 0);
    CHECK_STR(OUTCOME()->message, "HTTP 500 from X");

    start_identity(&account);
    mock_fail(HERALD_TRANSPORT_TIMEOUT);
    EXPECT(HERALD_OUTCOME_RETRY_LATER);

    start_identity(&account);
    mock_fail(HERALD_TRANSPORT_CANCELED);
    EXPECT(HERALD_OUTCOME_RETRY_LATER);

    start_identity(&account);
    mock_respond(200, NULL, "{\"data\":");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
}

/* ---- refresh ------------------------------------------------------ */

static void
start_refresh(const struct herald_account *a)
{
    CHECK(plugin->refresh(state, mock_op_begin(), a) == 0);
}

static void
test_refresh_ok(void)
{
    const struct mock_completion *c;

    start_refresh(&account);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, TOKEN_URL);
    CHECK_STR(mock_header(0, "Authorization"), BASIC);
    CHECK_STR(mock_header(0, "Content-Type"),
              "application/x-www-form-urlencoded");
    CHECK_STR(mock_field(0, "grant_type"), "refresh_token");
    CHECK_STR(mock_field(0, "refresh_token"), "RT-old");
    CHECK_STR(mock_field(0, "client_id"), "CID");

    mock_respond(200, NULL, token_body);
    EXPECT(HERALD_OUTCOME_DONE);
    c = DONE_C();
    CHECK(c->has_credentials);
    CHECK_STR(c->access_token, "AT-new");
    CHECK_STR(c->refresh_token, "RT-new");
    CHECK(c->access_expires_at == NOW + 7200000);
    CHECK(c->hard_deadline == 0);
    /* The private extra (the username) is carried over. */
    CHECK_STR(json_string_value(json_object_get(c->extra, "username")),
              "XDevelopers");

    /* No new refresh token: the access token's end is the deadline. */
    start_refresh(&account);
    mock_respond(200, NULL,
                 "{\"token_type\":\"bearer\",\"expires_in\":\"7200\","
                 "\"access_token\":\"AT-new\"}");
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK(DONE_C()->refresh_token == NULL);
    CHECK(DONE_C()->hard_deadline == NOW + 7200000);
}

static void
test_refresh_errors(void)
{
    /* A used, expired or revoked refresh token (body UNCONFIRMED). */
    start_refresh(&account);
    mock_respond(400, NULL,
                 "{\"error\":\"invalid_request\",\"error_description\":"
                 "\"Value passed for the token was invalid.\"}");
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_REVOKED);
    CHECK(OUTCOME()->http_status == 400);
    CHECK_STR(OUTCOME()->message,
              "invalid_request: Value passed for the token was invalid.");
    CHECK(DONE_C()->has_credentials == 0);

    start_refresh(&account);
    mock_respond(400, NULL,
                 "{\"error\":\"invalid_grant\",\"error_description\":"
                 "\"Token has been revoked.\"}");
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_REVOKED);

    /* The app's credentials are wrong: not the person's to fix. */
    start_refresh(&account);
    mock_respond(401, NULL,
                 "{\"error\":\"unauthorized_client\",\"error_description\":"
                 "\"Missing valid authorization header\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);

    start_refresh(&account);
    mock_respond(400, NULL,
                 "{\"error\":\"unsupported_grant_type\","
                 "\"error_description\":\"nope\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);

    start_refresh(&account);
    mock_respond(502, NULL, "<html>Bad Gateway</html>");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);

    start_refresh(&account);
    mock_fail(HERALD_TRANSPORT_BROKEN);
    EXPECT(HERALD_OUTCOME_RETRY_LATER);

    start_refresh(&account);
    mock_respond(200, NULL, "{}");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK(DONE_C()->has_credentials == 0);

    start_refresh(&account);
    {
        const char *h[] = {"Retry-After: 120", NULL};
        mock_respond(429, h,
                     "{\"errors\":[{\"code\":88,\"message\":"
                     "\"Rate limit exceeded\"}]}");
    }
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->retry_at == NOW + 120000);
    CHECK_STR(OUTCOME()->message, "Rate limit exceeded");

    /* An answer that repeats the refresh token is not quoted. */
    start_refresh(&account);
    mock_respond(400, NULL,
                 "{\"error\":\"invalid_request\",\"error_description\":"
                 "\"token RT-old is dead\"}");
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK_CONTAINS(OUTCOME()->message, "withheld");

    /* Without a refresh token nothing is sent. */
    start_refresh(&account_norefresh);
    CHECK(mock_request_count() == 0);
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_EXPIRED);
}

/* ---- publish ------------------------------------------------------ */

static struct herald_post post = {
    .id = 99,
    .text = "Hello from the scheduler",
    .link = "https://example.com/a",
};

static void
start_publish(const struct herald_account *a, const struct herald_post *p)
{
    CHECK(plugin->publish(state, mock_op_begin(), a, p) == 0);
}

static void
publish_answer(long status, const char *const *headers, const char *body)
{
    start_publish(&account, &post);
    CHECK(mock_request_count() == 1);
    mock_respond(status, headers, body);
}

static void
test_publish_ok(void)
{
    json_t *body;
    struct herald_post only_link = {.id = 1, .text = "", .link = "https://e"};

    start_publish(&account, &post);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, BASE "/2/tweets");
    CHECK(mock_request(0)->repeatable); /* X refuses a repeat */
    CHECK_STR(mock_header(0, "Authorization"), "Bearer AT-old");
    CHECK_STR(mock_header(0, "Content-Type"), "application/json");
    body = json_loads(mock_request(0)->body, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(body, "text")),
              "Hello from the scheduler https://example.com/a");
    CHECK(json_object_size(body) == 1);
    json_decref(body);
    mock_respond(201, NULL,
                 "{\"data\":{\"id\":\"1445880548472328192\",\"text\":"
                 "\"Hello from the scheduler https://t.co/abc123\","
                 "\"edit_history_post_ids\":[\"1445880548472328192\"]}}");
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK(OUTCOME()->http_status == 201);
    CHECK_STR(OUTCOME()->remote_id, "1445880548472328192");
    CHECK_STR(OUTCOME()->remote_url,
              "https://x.com/XDevelopers/status/1445880548472328192");
    CHECK(DONE_C()->checkpoint == NULL);

    /* Without a known username, the id-only URL. */
    start_publish(&account_norefresh, &post);
    mock_respond(201, NULL, "{\"data\":{\"id\":\"12\",\"text\":\"t\"}}");
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK_STR(OUTCOME()->remote_url, "https://x.com/i/web/status/12");

    /* A link alone is the whole text. */
    start_publish(&account, &only_link);
    body = json_loads(mock_request(0)->body, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(body, "text")), "https://e");
    json_decref(body);
    mock_respond(201, NULL, "{\"data\":{\"id\":\"13\",\"text\":\"t\"}}");
    EXPECT(HERALD_OUTCOME_DONE);
}

static void
test_publish_refused_locally(void)
{
    static const char *const media[] = {"https://img.example/a.png", NULL};
    struct herald_post with_media = {.id = 2, .text = "hi", .media = media};
    struct herald_post empty = {.id = 3, .text = ""};

    start_publish(&account, &with_media);
    CHECK(mock_request_count() == 0);
    EXPECT(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(OUTCOME()->message, "media");

    start_publish(&account, &empty);
    CHECK(mock_request_count() == 0);
    EXPECT(HERALD_OUTCOME_REJECTED);
}

static void
test_publish_errors(void)
{
    publish_answer(403, NULL,
                   "{\"detail\":\"You are not allowed to create a Tweet with "
                   "duplicate content.\",\"type\":\"about:blank\",\"title\":"
                   "\"Forbidden\",\"status\":403}");
    EXPECT(HERALD_OUTCOME_DUPLICATE);
    CHECK(OUTCOME()->http_status == 403);
    CHECK_CONTAINS(OUTCOME()->message, "duplicate content");
    CHECK(OUTCOME()->remote_id == NULL);

    publish_answer(400, NULL,
                   "{\"errors\":[{\"parameters\":{},\"message\":\"Your Tweet "
                   "text is too long. For more information on how Twitter "
                   "determines text length see https://github.com/twitter/"
                   "twitter-text.\"}],\"title\":\"Invalid Request\","
                   "\"detail\":\"Your Tweet text is too long.\",\"type\":"
                   "\"https://api.twitter.com/2/problems/invalid-request\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(OUTCOME()->message, "Your Tweet text is too long.");

    /* The 403 form of the same (UNCONFIRMED which is current). */
    publish_answer(403, NULL,
                   "{\"detail\":\"Your Tweet text is too long.\",\"type\":"
                   "\"about:blank\",\"title\":\"Forbidden\",\"status\":403}");
    EXPECT(HERALD_OUTCOME_REJECTED);

    publish_answer(400, NULL,
                   "{\"errors\":[{\"parameters\":{},\"message\":\"Requests "
                   "with bodies must have content-type of application/json."
                   "\"}],\"title\":\"Invalid Request\",\"detail\":\"One or "
                   "more parameters to your request was invalid.\",\"type\":"
                   "\"https://api.twitter.com/2/problems/invalid-request\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);
    CHECK_STR(OUTCOME()->message,
              "Requests with bodies must have content-type of "
              "application/json.");

    publish_answer(403, NULL,
                   "{\"detail\":\"You are not permitted to perform this "
                   "action.\",\"type\":\"about:blank\",\"title\":"
                   "\"Forbidden\",\"status\":403}");
    EXPECT(HERALD_OUTCOME_REJECTED);

    /* Missing tweet.write: X's bare Forbidden (93 bytes). */
    publish_answer(403, NULL, PROBLEM("Forbidden", "Forbidden", 403));
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_PERMISSION_MISSING);

    publish_answer(401, NULL, PROBLEM("Unauthorized", "Unauthorized", 401));
    EXPECT(HERALD_OUTCOME_TOKEN_EXPIRED);

    start_publish(&account_norefresh, &post);
    mock_respond(401, NULL, PROBLEM("Unauthorized", "Unauthorized", 401));
    EXPECT(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(OUTCOME()->reason == HERALD_ACCESS_REVOKED);
}

static void
test_publish_rate_limits(void)
{
    const char *user15[] = {"x-rate-limit-limit: 100",
                            "x-rate-limit-remaining: 0",
                            "x-rate-limit-reset: 1780000900",
                            "x-app-limit-24hour-limit: 10000",
                            "x-app-limit-24hour-remaining: 9000",
                            "x-app-limit-24hour-reset: 1780080000",
                            NULL};
    const char *app24[] = {"x-rate-limit-remaining: 40",
                           "x-rate-limit-reset: 1780000900",
                           "x-app-limit-24hour-remaining: 0",
                           "x-app-limit-24hour-reset: 1780050000",
                           "x-user-limit-24hour-remaining: 3",
                           "x-user-limit-24hour-reset: 1780060000",
                           NULL};
    const char *user24[] = {"x-rate-limit-remaining: 40",
                            "x-rate-limit-reset: 1780000900",
                            "x-user-limit-24hour-limit: 17",
                            "x-user-limit-24hour-remaining: 0",
                            "x-user-limit-24hour-reset: 1780070000",
                            NULL};
    const char *onlyreset[] = {"x-rate-limit-reset: 1780000300", NULL};
    const char *past[] = {"x-rate-limit-remaining: 0",
                          "x-rate-limit-reset: 1700000000", NULL};
    const char *capped[] = {NULL};
    const char *body = PROBLEM("Too Many Requests", "Too Many Requests", 429);

    publish_answer(429, user15, body);
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->scope == HERALD_RATE_USER);
    CHECK(OUTCOME()->retry_at == 1780000900000LL);
    CHECK(OUTCOME()->http_status == 429);
    CHECK_STR(OUTCOME()->message, "Too Many Requests");

    publish_answer(429, app24, body);
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->scope == HERALD_RATE_APP);
    CHECK(OUTCOME()->retry_at == 1780050000000LL);

    publish_answer(429, user24, body);
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->scope == HERALD_RATE_USER);
    CHECK(OUTCOME()->retry_at == 1780070000000LL);

    publish_answer(429, onlyreset, body);
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->retry_at == 1780000300000LL);

    publish_answer(429, past, body);
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->retry_at == 0);

    publish_answer(429, capped,
                   "{\"title\":\"UsageCapExceeded\",\"detail\":\"Usage cap "
                   "exceeded: Monthly product cap\",\"type\":\"https://api."
                   "twitter.com/2/problems/usage-capped\",\"status\":429}");
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->scope == HERALD_RATE_APP);
    CHECK(OUTCOME()->retry_at == 0);
    CHECK_CONTAINS(OUTCOME()->message, "Monthly product cap");
}

/* Whatever may have reached X without a readable answer is UNKNOWN. */
static void
test_publish_unknown(void)
{
    static const enum herald_transport maybe_sent[] = {
        HERALD_TRANSPORT_TIMEOUT, HERALD_TRANSPORT_BROKEN,
        HERALD_TRANSPORT_CANCELED};

    for (size_t i = 0; i < 3; i++) {
        start_publish(&account, &post);
        mock_fail(maybe_sent[i]);
        EXPECT(HERALD_OUTCOME_UNKNOWN);
    }

    start_publish(&account, &post);
    mock_fail(HERALD_TRANSPORT_CONNECT);
    EXPECT(HERALD_OUTCOME_RETRY_LATER);

    publish_answer(503, NULL, "Service Unavailable");
    EXPECT(HERALD_OUTCOME_UNKNOWN);
    CHECK(OUTCOME()->http_status == 503);
    publish_answer(500, NULL, "");
    EXPECT(HERALD_OUTCOME_UNKNOWN);
    publish_answer(201, NULL, "<html>");
    EXPECT(HERALD_OUTCOME_UNKNOWN);
    publish_answer(201, NULL, "{\"data\":{\"text\":\"no id\"}}");
    EXPECT(HERALD_OUTCOME_UNKNOWN);
    publish_answer(201, NULL, "{\"data\":{\"id\":\"12a\"}}");
    EXPECT(HERALD_OUTCOME_UNKNOWN);
}

/* ---- revoke ------------------------------------------------------- */

static void
start_revoke(const struct herald_account *a)
{
    CHECK(plugin->revoke(state, mock_op_begin(), a) == 0);
}

/* Absurd lifetimes and waits from X are cut to TW_SECONDS_MAX instead
 * of overflowing into a time in the past. */
static void
test_huge_numbers(void)
{
    const char *reset[] = {"x-rate-limit-remaining: 0",
                           "x-rate-limit-reset: 9223372036854775807", NULL};
    const char *retry[] = {"Retry-After: 9223372036854775807", NULL};

    start_refresh(&account);
    mock_respond(200, NULL,
                 "{\"token_type\":\"bearer\",\"expires_in\":1e300,"
                 "\"access_token\":\"AT-new\",\"refresh_token\":\"RT-new\"}");
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK(DONE_C()->access_expires_at == NOW + 100000000000000LL);

    start_refresh(&account);
    mock_respond(200, NULL,
                 "{\"token_type\":\"bearer\",\"access_token\":\"AT-new\","
                 "\"expires_in\":\"9223372036854775807\"}");
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK(DONE_C()->access_expires_at == NOW + 100000000000000LL);

    start_publish(&account, &post);
    mock_respond(429, reset, PROBLEM("Too Many Requests", "Too Many", 429));
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->retry_at == 100000000000000LL);

    start_publish(&account, &post);
    mock_respond(429, retry, PROBLEM("Too Many Requests", "Too Many", 429));
    EXPECT(HERALD_OUTCOME_RATE_LIMITED);
    CHECK(OUTCOME()->retry_at == NOW + 100000000000000LL);
}

static void
test_revoke(void)
{
    struct herald_credentials none = {0};
    struct herald_account empty = {.id = 9, .creds = &none};

    start_revoke(&account);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, BASE "/2/oauth2/revoke");
    CHECK_STR(mock_header(0, "Authorization"), BASIC);
    CHECK_STR(mock_field(0, "token"), "RT-old");
    CHECK_STR(mock_field(0, "token_type_hint"), "refresh_token");
    CHECK_STR(mock_field(0, "client_id"), "CID");
    mock_respond(200, NULL, "{\"revoked\":true}");
    CHECK(mock_request_count() == 2);
    CHECK_STR(mock_field(1, "token"), "AT-old");
    CHECK_STR(mock_field(1, "token_type_hint"), "access_token");
    CHECK(mock_completion()->completed == 0);
    mock_respond(200, NULL, "{\"revoked\":true}");
    EXPECT(HERALD_OUTCOME_DONE);

    /* A token X no longer knows is as good as revoked. */
    start_revoke(&account);
    mock_respond(400, NULL,
                 "{\"error\":\"invalid_request\",\"error_description\":"
                 "\"Value passed for the token was invalid.\"}");
    CHECK(mock_request_count() == 2);
    mock_respond(200, NULL, "{\"revoked\":true}");
    EXPECT(HERALD_OUTCOME_DONE);

    start_revoke(&account);
    mock_respond(200, NULL, "{\"revoked\":true}");
    mock_respond(503, NULL, "");
    EXPECT(HERALD_OUTCOME_RETRY_LATER);

    start_revoke(&account);
    mock_fail(HERALD_TRANSPORT_CONNECT);
    EXPECT(HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_request_count() == 1);

    start_revoke(&account);
    mock_respond(401, NULL,
                 "{\"error\":\"unauthorized_client\",\"error_description\":"
                 "\"Missing valid authorization header\"}");
    EXPECT(HERALD_OUTCOME_REJECTED);

    /* Only an access token: one request. */
    start_revoke(&account_norefresh);
    CHECK_STR(mock_field(0, "token"), "AT-old");
    mock_respond(200, NULL, "{\"revoked\":true}");
    EXPECT(HERALD_OUTCOME_DONE);
    CHECK(mock_request_count() == 1);

    start_revoke(&empty);
    CHECK(mock_request_count() == 0);
    EXPECT(HERALD_OUTCOME_DONE);
}

/* No request the plugin sends carries the client secret in clear. */
static void
test_secret_never_sent_in_clear(void)
{
    start_refresh(&account);
    CHECK(strstr(mock_request(0)->body, "SECRET") == NULL);
    CHECK(strstr(mock_request(0)->url, "SECRET") == NULL);
    mock_fail(HERALD_TRANSPORT_CONNECT);
}

int
main(void)
{
    json_t *config = make_config(1, 1);

    mock_now_ms = NOW;
    plugin = herald_plugin_entry();
    CHECK(plugin != NULL);
    if (!plugin)
        return check_done();
    CHECK(plugin->init(mock_host(), config, &state) == 0);
    extra = json_pack("{s:s}", "username", "XDevelopers");
    creds.extra = extra;

    test_descriptor();
    test_init();
    test_authorize_url();
    test_exchange_ok();
    test_exchange_public_client();
    test_exchange_no_offline_access();
    test_exchange_token_errors();
    test_exchange_identity_errors();
    test_identity();
    test_refresh_ok();
    test_refresh_errors();
    test_publish_ok();
    test_publish_refused_locally();
    test_publish_errors();
    test_publish_rate_limits();
    test_publish_unknown();
    test_huge_numbers();
    test_revoke();
    test_secret_never_sent_in_clear();

    mock_op_begin();
    plugin->fini(state);
    json_decref(extra);
    json_decref(config);
    return check_done();
}
