/*
 * test_instagram.c - the Instagram plugin against the mock host.
 *
 * Drives every operation through herald_plugin_entry() as the core would,
 * checks the exact requests the plugin sends at each step, answers them
 * with the bodies Instagram documents (and the failures it lists), and
 * checks the typed outcome, the credentials, the checkpoints and that the
 * operation completed exactly once without quoting a secret.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "herald/plugin.h"
#include "mockhost.h"

const struct herald_plugin *herald_plugin_entry(void);

#define GRAPH   "https://graph.test/ig"
#define API     GRAPH "/v25.0"
#define UID     "17841400000000001"
#define TOKEN   "IGAA-secret-long-token"
#define SHORT   "IGAA-secret-short-token"
#define SECRET  "app-secret-value"
#define HOUR_MS (3600LL * 1000)
#define DAY_MS  (24 * HOUR_MS)
/* The longest wait or lifetime read from Instagram: 1e11 s, in ms. */
#define SECONDS_MAX_MS 100000000000000LL

static const struct herald_plugin *plugin;
static void *state;
static json_t *config;

/* ---- fixtures -------------------------------------------------------- */

static json_t *
make_config(long poll_limit, const char *version)
{
    return json_pack("{sb ss ss ss s[ss] ss ss ss ss sI}", "enabled", 1,
                     "client_id", "ig-app-id", "client_secret", SECRET,
                     "redirect_uri", "https://herald.test/callback", "scopes",
                     "instagram_business_basic",
                     "instagram_business_content_publish", "authorize_url",
                     "https://www.instagram.test/oauth/authorize", "token_url",
                     "https://api.instagram.test/oauth/token", "graph_url",
                     GRAPH "/", "api_version", version, "container_poll_limit",
                     (json_int_t)poll_limit);
}

static void
start(long poll_limit)
{
    if (state)
        plugin->fini(state);
    json_decref(config);
    state = NULL;
    config = make_config(poll_limit, "v25.0");
    CHECK(plugin->init(mock_host(), config, &state) == 0);
}

static struct herald_credentials creds;
static struct herald_account account;

static const struct herald_account *
make_account(int64_t issued_at, int64_t expires_at)
{
    json_decref(creds.extra);
    memset(&creds, 0, sizeof(creds));
    creds.access_token = TOKEN;
    creds.access_expires_at = expires_at;
    creds.hard_deadline = expires_at;
    creds.extra = issued_at ? json_pack("{sI sb}", "issued_at",
                                        (json_int_t)issued_at, "kept", 1)
                            : NULL;
    account.id = 7;
    account.remote_id = UID;
    account.creds = &creds;
    return &account;
}

static const char *default_media[] = {"https://cdn.test/a.jpg", NULL};

static struct herald_post post;

static const struct herald_post *
make_post(const char *text, const char *link, const char *const *media,
          json_t *checkpoint)
{
    json_decref(post.checkpoint);
    memset(&post, 0, sizeof(post));
    post.id = 42;
    post.text = text;
    post.link = link;
    post.media = media;
    post.checkpoint = checkpoint;
    return &post;
}

/* Checks what every completion must show. */
static void
check_completion(void)
{
    const struct mock_completion *c = mock_completion();

    CHECK(c->completed == 1);
    if (c->message) {
        CHECK(strstr(c->message, "secret") == NULL);
        CHECK(strstr(c->message, TOKEN) == NULL);
    }
}

static int
kind(void)
{
    return mock_completion()->outcome.kind;
}

static const char *
checkpoint_str(const char *key)
{
    return json_string_value(
        json_object_get(mock_completion()->checkpoint, key));
}

/* ---- descriptor and init --------------------------------------------- */

static void
test_descriptor(void)
{
    const struct herald_content_rules *r = plugin->content;
    const char *common[] = {"enabled", "client_id", "client_secret",
                            "redirect_uri", "scopes"};
    const struct herald_config_key *k;
    int urls = 0;

    CHECK(plugin->abi_major == HERALD_ABI_MAJOR);
    CHECK(plugin->abi_minor == HERALD_ABI_MINOR);
    CHECK(plugin->size == sizeof(struct herald_plugin));
    CHECK_STR(plugin->signature, HERALD_BUILD_SIGNATURE);
    CHECK_STR(plugin->name, "instagram");
    CHECK_STR(plugin->display_name, "Instagram");
    CHECK(plugin->token_model == HERALD_TOKEN_SELF_EXTENDING);
    CHECK(plugin->capabilities ==
          (HERALD_CAP_REFRESH | HERALD_CAP_LOOKUP | HERALD_CAP_DEDUPLICATES));
    CHECK(plugin->reconnect_window == 0);
    CHECK(r->max_text == 2200);
    CHECK(r->counting == HERALD_COUNT_CODEPOINTS);
    CHECK(r->media == HERALD_MEDIA_REQUIRED);
    CHECK(r->max_media == 1);
    CHECK(r->text_required == 0);
    CHECK(r->link_allowed != 0);
    CHECK_STR(plugin->default_scopes[0], "instagram_business_basic");
    CHECK_STR(plugin->default_scopes[1], "instagram_business_content_publish");
    CHECK(plugin->default_scopes[2] == NULL);
    CHECK(plugin->lookup != NULL);
    CHECK(plugin->revoke == NULL);
    for (k = plugin->config_schema; k->name; k++) {
        for (size_t i = 0; i < sizeof(common) / sizeof(*common); i++)
            CHECK(strcmp(k->name, common[i]) != 0);
        CHECK(k->default_json != NULL);
        CHECK(!k->secret);
        urls += k->type == HERALD_CONF_URL;
    }
    CHECK(urls == 3);
}

static void
test_init(void)
{
    json_t *bad = make_config(0, "v25.0");
    json_t *unversioned = make_config(5, "");
    void *s = NULL;
    const struct herald_account *a = make_account(mock_now_ms, 0);
    struct herald_op *op;

    CHECK(plugin->init(mock_host(), bad, &s) == -EINVAL);
    json_decref(bad);

    CHECK(plugin->init(mock_host(), unversioned, &s) == 0);
    op = mock_op_begin();
    CHECK(plugin->identity(s, op, a) == 0);
    CHECK_CONTAINS(mock_request(0)->url, GRAPH "/me?");
    mock_respond(200, NULL, "{\"user_id\":\"1\",\"username\":\"u\"}");
    CHECK(kind() == HERALD_OUTCOME_DONE);
    plugin->fini(s);
    json_decref(unversioned);
}

/* ---- authorization --------------------------------------------------- */

static void
test_authorize_url(void)
{
    struct herald_authorize_request req = {
        .state = "st+ate/1", .redirect_uri = "https://herald.test/cb?x=1"};
    char *url = NULL;

    CHECK(plugin->authorize_url(state, &req, &url) == 0);
    CHECK_STR(url, "https://www.instagram.test/oauth/authorize"
                   "?client_id=ig-app-id"
                   "&redirect_uri=https%3A%2F%2Fherald.test%2Fcb%3Fx%3D1"
                   "&response_type=code"
                   "&scope=instagram_business_basic%2C"
                   "instagram_business_content_publish"
                   "&state=st%2Bate%2F1");
    free(url);
}

static void
begin_exchange(void)
{
    struct herald_exchange_request req = {
        .code = "the-code", .redirect_uri = "https://herald.test/callback"};

    CHECK(plugin->exchange(state, mock_op_begin(), &req) == 0);
}

static void
test_exchange(const char *code_answer)
{
    const struct mock_completion *c;

    begin_exchange();
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, "https://api.instagram.test/oauth/token");
    CHECK_STR(mock_header(0, "Content-Type"),
              "application/x-www-form-urlencoded");
    CHECK_STR(mock_field(0, "client_id"), "ig-app-id");
    CHECK_STR(mock_field(0, "client_secret"), SECRET);
    CHECK_STR(mock_field(0, "grant_type"), "authorization_code");
    CHECK_STR(mock_field(0, "redirect_uri"), "https://herald.test/callback");
    CHECK_STR(mock_field(0, "code"), "the-code");
    mock_respond(200, NULL, code_answer);

    CHECK(mock_request_count() == 2);
    CHECK_STR(mock_request(1)->method, "GET");
    CHECK(strncmp(mock_request(1)->url, GRAPH "/access_token?", 30) == 0);
    CHECK_STR(mock_field(1, "grant_type"), "ig_exchange_token");
    CHECK_STR(mock_field(1, "client_secret"), SECRET);
    CHECK_STR(mock_field(1, "access_token"), SHORT);
    mock_respond(200, NULL,
                 "{\"access_token\":\"" TOKEN "\",\"token_type\":\"bearer\","
                 "\"expires_in\":5183944}");

    CHECK(mock_request_count() == 3);
    CHECK_STR(mock_request(2)->method, "GET");
    CHECK(strncmp(mock_request(2)->url, API "/me?", strlen(API "/me?")) == 0);
    CHECK_STR(mock_field(2, "fields"), "user_id,username");
    CHECK_STR(mock_field(2, "access_token"), TOKEN);
    mock_respond(200, NULL,
                 "{\"user_id\":\"" UID "\",\"username\":\"acme.shop\","
                 "\"id\":\"9876543210987654\"}");

    c = mock_completion();
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(c->has_credentials);
    CHECK_STR(c->access_token, TOKEN);
    CHECK(c->refresh_token == NULL);
    CHECK(c->access_expires_at == mock_now_ms + 5183944LL * 1000);
    CHECK(c->hard_deadline == c->access_expires_at);
    CHECK(json_integer_value(json_object_get(c->extra, "issued_at")) ==
          mock_now_ms);
    CHECK(c->has_identity);
    CHECK_STR(c->identity_id, UID);
    CHECK_STR(c->username, "acme.shop");
}

static void
test_exchange_details(void)
{
    const struct mock_completion *c;

    /* No expires_in: 60 days; a numeric user_id is read as text. */
    begin_exchange();
    mock_respond(200, NULL, "{\"access_token\":\"" SHORT "\"}");
    mock_respond(200, NULL, "{\"access_token\":\"" TOKEN "\"}");
    mock_respond(200, NULL,
                 "{\"user_id\":17841400000000002,\"username\":\"b\"}");
    c = mock_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(c->access_expires_at == mock_now_ms + 60 * DAY_MS);
    CHECK_STR(c->identity_id, "17841400000000002");

    /* The api.instagram.com flat error for a used code. */
    begin_exchange();
    mock_respond(400, NULL,
                 "{\"error_type\":\"OAuthException\",\"code\":400,"
                 "\"error_message\":\"This authorization code has been "
                 "used\"}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_REJECTED);
    CHECK(mock_completion()->outcome.http_status == 400);
    CHECK_STR(mock_completion()->message,
              "This authorization code has been used");
    CHECK(mock_request_count() == 1);

    /* The Meta envelope for the same, code 100. */
    begin_exchange();
    mock_respond(400, NULL,
                 "{\"error\":{\"message\":\"This authorization code has been "
                 "used.\",\"type\":\"OAuthException\",\"code\":100,"
                 "\"fbtrace_id\":\"x\"}}");
    CHECK(kind() == HERALD_OUTCOME_REJECTED);

    begin_exchange();
    mock_fail(HERALD_TRANSPORT_CONNECT);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);

    begin_exchange();
    mock_respond(503, NULL, "<html>down</html>");
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_completion()->outcome.http_status == 503);

    begin_exchange();
    mock_respond(200, NULL, "not json");
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);

    begin_exchange();
    mock_respond(200, NULL, "{\"user_id\":1}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_request_count() == 1);

    /* The short-lived token expired before the long-lived exchange. */
    begin_exchange();
    mock_respond(200, NULL, "{\"access_token\":\"" SHORT "\"}");
    mock_respond(400, NULL,
                 "{\"error\":{\"message\":\"Error validating access token: "
                 "Session has expired\",\"type\":\"OAuthException\","
                 "\"code\":190,\"error_subcode\":463}}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_EXPIRED);

    /* A message quoting the short token is withheld. */
    begin_exchange();
    mock_respond(200, NULL, "{\"access_token\":\"" SHORT "\"}");
    mock_respond(400, NULL,
                 "{\"error\":{\"message\":\"bad token " SHORT
                 "\",\"code\":190}}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_ACCESS_LOST);
    CHECK_CONTAINS(mock_completion()->message, "withheld");

    begin_exchange();
    mock_respond(200, NULL, "{\"access_token\":\"" SHORT "\"}");
    mock_respond(200, NULL, "{\"token_type\":\"bearer\"}");
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);

    begin_exchange();
    mock_respond(200, NULL, "{\"access_token\":\"" SHORT "\"}");
    mock_respond(200, NULL, "{\"access_token\":\"" TOKEN "\"}");
    mock_respond(200, NULL, "{\"id\":\"9876\",\"username\":\"b\"}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(!mock_completion()->has_credentials);

    begin_exchange();
    mock_respond(200, NULL, "{\"access_token\":\"" SHORT "\"}");
    mock_respond(200, NULL, "{\"access_token\":\"" TOKEN "\"}");
    mock_fail(HERALD_TRANSPORT_TIMEOUT);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
}

/* ---- identity and the error table ------------------------------------ */

struct error_case {
    const char *what;
    enum herald_transport transport;
    long status;
    const char *headers[3];
    const char *body;
    enum herald_outcome_kind kind;
    int detail;       /* reason (ACCESS_LOST) or scope (RATE_LIMITED) */
    int64_t retry_in; /* expected retry_at - now; -1: not checked */
    const char *message;
};

#define ENV(code, sub, msg)                                                   \
    "{\"error\":{\"message\":\"" msg "\",\"type\":\"OAuthException\","        \
    "\"code\":" #code ",\"error_subcode\":" #sub ",\"fbtrace_id\":\"A1\"}}"

static const struct error_case error_cases[] = {
    {"expired",
     0,
     400,
     {NULL},
     ENV(190, 463,
         "Error validating access token: Session has expired on "
         "Monday, 02-Nov-20 10:00:00 PST."),
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_EXPIRED,
     -1,
     "Session has expired"},
    {"password",
     0,
     400,
     {NULL},
     ENV(190, 460,
         "Error validating access token: The session has been "
         "invalidated because the user changed their password."),
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_PASSWORD_CHANGED,
     -1,
     "changed their password"},
    {"app removed",
     0,
     400,
     {NULL},
     ENV(190, 458,
         "Error validating access token: The user has not "
         "authorized application 875877299126."),
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_APP_REMOVED,
     -1,
     "not authorized application"},
    {"logged out",
     0,
     400,
     {NULL},
     ENV(190, 467,
         "Error validating access token: The session is invalid "
         "because the user logged out."),
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_INVALID,
     -1,
     "logged out"},
    {"garbage",
     0,
     400,
     {NULL},
     "{\"error\":{\"message\":\"Invalid OAuth access token.\",\"type\":"
     "\"OAuthException\",\"code\":190,\"fbtrace_id\":\"A1\"}}",
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_INVALID,
     -1,
     "Invalid OAuth access token."},
    {"permission 10",
     0,
     400,
     {NULL},
     "{\"error\":{\"message\":\"(#10) Application does not have permission "
     "for this action\",\"type\":\"OAuthException\",\"code\":10}}",
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_PERMISSION_MISSING,
     -1,
     "(#10)"},
    {"permission 200 as 403",
     0,
     403,
     {NULL},
     "{\"error\":{\"message\":\"(#200) The user hasn't authorized the "
     "application to perform this action\",\"type\":\"OAuthException\","
     "\"code\":200}}",
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_PERMISSION_MISSING,
     -1,
     "(#200)"},
    {"app rate limit",
     0,
     400,
     {NULL},
     "{\"error\":{\"message\":\"(#4) Application request limit reached\","
     "\"type\":\"OAuthException\",\"is_transient\":true,\"code\":4}}",
     HERALD_OUTCOME_RATE_LIMITED,
     HERALD_RATE_APP,
     0,
     "(#4)"},
    {"user rate limit with BUC header",
     0,
     400,
     {"X-Business-Use-Case-Usage: {\"17841400000000001\":[{\"type\":"
      "\"instagram\",\"call_count\":100,\"total_cputime\":1,"
      "\"total_time\":1,\"estimated_time_to_regain_access\":12}]}",
      NULL},
     "{\"error\":{\"message\":\"(#17) User request limit reached\","
     "\"type\":\"OAuthException\",\"code\":17}}",
     HERALD_OUTCOME_RATE_LIMITED,
     HERALD_RATE_USER,
     12 * 60000,
     "(#17)"},
    {"page rate limit",
     0,
     400,
     {NULL},
     "{\"error\":{\"message\":\"(#32) Page request limit reached\","
     "\"code\":32}}",
     HERALD_OUTCOME_RATE_LIMITED,
     HERALD_RATE_USER,
     0,
     "(#32)"},
    {"613 with Retry-After",
     0,
     400,
     {"Retry-After: 120", NULL},
     "{\"error\":{\"message\":\"Calls to this api have exceeded the rate "
     "limit.\",\"code\":613}}",
     HERALD_OUTCOME_RATE_LIMITED,
     HERALD_RATE_USER,
     120000,
     "exceeded"},
    {"BUC code",
     0,
     400,
     {NULL},
     "{\"error\":{\"message\":\"(#80002) There have been too many calls to "
     "this Instagram account.\",\"code\":80002}}",
     HERALD_OUTCOME_RATE_LIMITED,
     HERALD_RATE_USER,
     0,
     "(#80002)"},
    /* A wait too long to count in milliseconds is cut, not overflowed. */
    {"429 with an absurd Retry-After",
     0,
     429,
     {"Retry-After: 9223372036854775807", NULL},
     "",
     HERALD_OUTCOME_RATE_LIMITED,
     HERALD_RATE_USER,
     SECONDS_MAX_MS,
     "HTTP 429"},
    {"BUC code with an absurd regain time",
     0,
     400,
     {"X-Business-Use-Case-Usage: {\"1\":[{\"type\":\"instagram\","
      "\"estimated_time_to_regain_access\":9223372036854775807}]}",
      NULL},
     "{\"error\":{\"message\":\"(#80002) There have been too many calls to "
     "this Instagram account.\",\"code\":80002}}",
     HERALD_OUTCOME_RATE_LIMITED,
     HERALD_RATE_USER,
     (SECONDS_MAX_MS / 60000) * 60000,
     "(#80002)"},
    {"429 without body",
     0,
     429,
     {"Retry-After: 30", NULL},
     "",
     HERALD_OUTCOME_RATE_LIMITED,
     HERALD_RATE_USER,
     30000,
     "HTTP 429"},
    {"transient 2 as 500",
     0,
     500,
     {NULL},
     "{\"error\":{\"message\":\"An unexpected error has occurred. Please "
     "retry your request later.\",\"type\":\"OAuthException\","
     "\"is_transient\":true,\"code\":2}}",
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "unexpected error"},
    {"transient 2 as 400",
     0,
     400,
     {NULL},
     "{\"error\":{\"code\":2,\"message\":\"(#2) Service temporarily "
     "unavailable\",\"is_transient\":true,\"type\":\"OAuthException\"}}",
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "(#2)"},
    {"unknown 1",
     0,
     500,
     {NULL},
     "{\"error\":{\"message\":\"An unknown error has occurred.\","
     "\"code\":1}}",
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "unknown error"},
    {"transient flag",
     0,
     400,
     {NULL},
     "{\"error\":{\"message\":\"try again\",\"code\":12345,"
     "\"is_transient\":true}}",
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "try again"},
    {"invalid parameter",
     0,
     400,
     {NULL},
     "{\"error\":{\"message\":\"(#100) Tried accessing nonexisting field "
     "(foo)\",\"type\":\"OAuthException\",\"code\":100}}",
     HERALD_OUTCOME_REJECTED,
     0,
     -1,
     "(#100)"},
    {"error body with 200",
     0,
     200,
     {NULL},
     ENV(190, 463, "Error validating access token: Session has expired"),
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_EXPIRED,
     -1,
     "expired"},
    {"html 502",
     0,
     502,
     {NULL},
     "<html>bad gateway</html>",
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "HTTP 502"},
    {"404 without body",
     0,
     404,
     {NULL},
     "",
     HERALD_OUTCOME_REJECTED,
     0,
     -1,
     "HTTP 404"},
    {"unparseable 200",
     0,
     200,
     {NULL},
     "{\"user_id\":",
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "could not be read"},
    {"quoting the token",
     0,
     400,
     {NULL},
     "{\"error\":{\"message\":\"bad token " TOKEN "\",\"code\":190}}",
     HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_INVALID,
     -1,
     "withheld"},
    {"connect",
     HERALD_TRANSPORT_CONNECT,
     0,
     {NULL},
     NULL,
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "connect"},
    {"timeout",
     HERALD_TRANSPORT_TIMEOUT,
     0,
     {NULL},
     NULL,
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "in time"},
    {"broken",
     HERALD_TRANSPORT_BROKEN,
     0,
     {NULL},
     NULL,
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "lost"},
    {"canceled",
     HERALD_TRANSPORT_CANCELED,
     0,
     {NULL},
     NULL,
     HERALD_OUTCOME_RETRY_LATER,
     0,
     -1,
     "canceled"},
};

/* Answers the pending request with case e and checks the outcome. */
static void
answer_and_check(const struct error_case *e)
{
    const struct mock_completion *c;

    if (e->transport != HERALD_TRANSPORT_OK)
        mock_fail(e->transport);
    else
        mock_respond(e->status, e->headers[0] ? e->headers : NULL, e->body);
    c = mock_completion();
    check_completion();
    if (c->outcome.kind != e->kind)
        fprintf(stderr, "case '%s': kind %d, want %d\n", e->what,
                c->outcome.kind, e->kind);
    CHECK(c->outcome.kind == e->kind);
    if (e->kind == HERALD_OUTCOME_ACCESS_LOST)
        CHECK(c->outcome.reason == (enum herald_access_reason)e->detail);
    if (e->kind == HERALD_OUTCOME_RATE_LIMITED)
        CHECK(c->outcome.scope == (enum herald_rate_scope)e->detail);
    if (e->retry_in == 0)
        CHECK(c->outcome.retry_at == 0);
    else if (e->retry_in > 0)
        CHECK(c->outcome.retry_at == mock_now_ms + e->retry_in);
    CHECK(c->outcome.http_status == (int)e->status);
    CHECK_CONTAINS(c->message, e->message);
}

static void
test_identity(void)
{
    const struct herald_account *a = make_account(mock_now_ms, 0);
    const struct mock_completion *c;

    CHECK(plugin->identity(state, mock_op_begin(), a) == 0);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "GET");
    CHECK(strncmp(mock_request(0)->url, API "/me?", strlen(API "/me?")) == 0);
    CHECK_STR(mock_field(0, "fields"), "user_id,username");
    CHECK_STR(mock_field(0, "access_token"), TOKEN);
    mock_respond(200, NULL,
                 "{\"user_id\":\"" UID "\",\"username\":\"acme.shop\","
                 "\"id\":\"9876543210987654\"}");
    c = mock_completion();
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->identity_id, UID);
    CHECK_STR(c->username, "acme.shop");
    CHECK(!c->has_credentials);

    for (size_t i = 0; i < sizeof(error_cases) / sizeof(*error_cases); i++) {
        CHECK(plugin->identity(state, mock_op_begin(), a) == 0);
        answer_and_check(&error_cases[i]);
    }

    /* The published error codes also read the same on a publish. */
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(*error_cases); i++) {
        make_post("hi", NULL, default_media, NULL);
        CHECK(plugin->publish(state, mock_op_begin(), a, &post) == 0);
        answer_and_check(&error_cases[i]);
        CHECK(mock_completion()->checkpoint == NULL);
    }
}

/* ---- refresh --------------------------------------------------------- */

static void
test_refresh(void)
{
    int64_t now = mock_now_ms;
    const struct mock_completion *c;
    const struct herald_account *a;

    /* Younger than a day: no request, retry at the day mark. */
    a = make_account(now - HOUR_MS, now + 59 * DAY_MS);
    CHECK(plugin->refresh(state, mock_op_begin(), a) == 0);
    check_completion();
    CHECK(mock_request_count() == 0);
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_completion()->outcome.retry_at == now - HOUR_MS + DAY_MS);

    /* Expired: no request, a person must log in again. */
    a = make_account(now - 61 * DAY_MS, now - 1);
    CHECK(plugin->refresh(state, mock_op_begin(), a) == 0);
    check_completion();
    CHECK(mock_request_count() == 0);
    CHECK(kind() == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_EXPIRED);

    /* Old enough: extended, issued_at moves, other extra kept. */
    a = make_account(now - 25 * HOUR_MS, now + 59 * DAY_MS);
    CHECK(plugin->refresh(state, mock_op_begin(), a) == 0);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "GET");
    CHECK(strncmp(mock_request(0)->url, GRAPH "/refresh_access_token?",
                  strlen(GRAPH "/refresh_access_token?")) == 0);
    CHECK_STR(mock_field(0, "grant_type"), "ig_refresh_token");
    CHECK_STR(mock_field(0, "access_token"), TOKEN);
    mock_respond(200, NULL,
                 "{\"access_token\":\"IGAA-new\",\"token_type\":\"bearer\","
                 "\"expires_in\":5183944}");
    c = mock_completion();
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->access_token, "IGAA-new");
    CHECK(c->refresh_token == NULL);
    CHECK(c->access_expires_at == now + 5183944LL * 1000);
    CHECK(c->hard_deadline == c->access_expires_at);
    CHECK(json_integer_value(json_object_get(c->extra, "issued_at")) == now);
    CHECK(json_is_true(json_object_get(c->extra, "kept")));

    /* An absurd lifetime is cut, not overflowed into the past. */
    a = make_account(now - 25 * HOUR_MS, now + 59 * DAY_MS);
    CHECK(plugin->refresh(state, mock_op_begin(), a) == 0);
    mock_respond(200, NULL,
                 "{\"access_token\":\"IGAA-new\",\"token_type\":\"bearer\","
                 "\"expires_in\":9223372036854775807}");
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(c->access_expires_at == now + SECONDS_MAX_MS);
    a = make_account(now - 25 * HOUR_MS, now + 59 * DAY_MS);
    CHECK(plugin->refresh(state, mock_op_begin(), a) == 0);
    mock_respond(200, NULL,
                 "{\"access_token\":\"IGAA-new\",\"token_type\":\"bearer\","
                 "\"expires_in\":1e300}");
    check_completion();
    CHECK(c->access_expires_at == now + SECONDS_MAX_MS);

    /* The same string back is fine too. */
    a = make_account(now - 30 * DAY_MS, now + 30 * DAY_MS);
    plugin->refresh(state, mock_op_begin(), a);
    mock_respond(200, NULL, "{\"access_token\":\"" TOKEN "\"}");
    CHECK(kind() == HERALD_OUTCOME_DONE);
    CHECK_STR(mock_completion()->access_token, TOKEN);
    CHECK(mock_completion()->access_expires_at == now + 60 * DAY_MS);

    /* No issued_at stored: the age is read from the expiry. */
    a = make_account(0, now + 59 * DAY_MS);
    plugin->refresh(state, mock_op_begin(), a);
    CHECK(mock_request_count() == 1);
    mock_respond(200, NULL, "{\"access_token\":\"IGAA-new\"}");
    CHECK(kind() == HERALD_OUTCOME_DONE);
    CHECK(json_integer_value(
              json_object_get(mock_completion()->extra, "issued_at")) == now);
    a = make_account(0, now + 60 * DAY_MS - HOUR_MS);
    plugin->refresh(state, mock_op_begin(), a);
    CHECK(mock_request_count() == 0);
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_completion()->outcome.retry_at == now - HOUR_MS + DAY_MS);

    /* No token stored: nothing is sent. */
    creds.access_token = NULL;
    CHECK(plugin->refresh(state, mock_op_begin(), a) == 0);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_INVALID);
    CHECK(plugin->identity(state, mock_op_begin(), a) == 0);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_request_count() == 0);
    make_post("x", NULL, default_media, NULL);
    CHECK(plugin->publish(state, mock_op_begin(), a, &post) == 0);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_INVALID);
    CHECK(mock_request_count() == 0);

    /* Refusals. */
    a = make_account(now - 2 * DAY_MS, now + 58 * DAY_MS);
    plugin->refresh(state, mock_op_begin(), a);
    mock_respond(400, NULL, ENV(190, 463, "Session has expired"));
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_EXPIRED);

    plugin->refresh(state, mock_op_begin(), a);
    mock_respond(400, NULL, ENV(190, 458, "has not authorized application"));
    CHECK(kind() == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_APP_REMOVED);

    plugin->refresh(state, mock_op_begin(), a);
    mock_respond(400, NULL, ENV(190, 460, "changed their password"));
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_PASSWORD_CHANGED);

    plugin->refresh(state, mock_op_begin(), a);
    mock_respond(400, NULL,
                 "{\"error\":{\"message\":\"(#100) The access token is too "
                 "young to be refreshed\",\"code\":100}}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_completion()->outcome.retry_at == now + HOUR_MS);

    plugin->refresh(state, mock_op_begin(), a);
    mock_respond(500, NULL, "");
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);

    plugin->refresh(state, mock_op_begin(), a);
    mock_fail(HERALD_TRANSPORT_BROKEN);
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);

    plugin->refresh(state, mock_op_begin(), a);
    mock_respond(200, NULL, "{\"token_type\":\"bearer\"}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(!mock_completion()->has_credentials);
}

/* ---- publish --------------------------------------------------------- */

static const struct herald_account *
pub_account(void)
{
    return make_account(mock_now_ms - DAY_MS, mock_now_ms + 30 * DAY_MS);
}

/* Checks request i is the container creation. */
static void
check_create(size_t i, const char *caption)
{
    CHECK_STR(mock_request(i)->method, "POST");
    CHECK_STR(mock_request(i)->url, API "/" UID "/media");
    CHECK_STR(mock_header(i, "Content-Type"),
              "application/x-www-form-urlencoded");
    CHECK_STR(mock_field(i, "image_url"), "https://cdn.test/a.jpg");
    if (caption)
        CHECK_STR(mock_field(i, "caption"), caption);
    else
        CHECK(mock_field(i, "caption") == NULL);
    CHECK_STR(mock_field(i, "access_token"), TOKEN);
    CHECK(strstr(mock_request(i)->url, TOKEN) == NULL);
}

static void
check_poll(size_t i, const char *container)
{
    char want[128];

    snprintf(want, sizeof(want), API "/%s?", container);
    CHECK_STR(mock_request(i)->method, "GET");
    CHECK(strncmp(mock_request(i)->url, want, strlen(want)) == 0);
    CHECK_STR(mock_field(i, "fields"), "status_code,status");
    CHECK_STR(mock_field(i, "access_token"), TOKEN);
}

static void
check_publish(size_t i, const char *container)
{
    char want[160];

    snprintf(want, sizeof(want), API "/" UID "/media_publish?creation_id=%s",
             container);
    CHECK_STR(mock_request(i)->method, "POST");
    CHECK_STR(mock_request(i)->url, want);
    CHECK(!mock_request(i)->repeatable); /* a connection of its own */
    CHECK_STR(mock_field(i, "access_token"), TOKEN);
}

#define FINISHED                                                              \
    "{\"status_code\":\"FINISHED\",\"status\":\"Finished: Media container "   \
    "uploaded successfully\",\"id\":\"C1\"}"
#define IN_PROGRESS "{\"status_code\":\"IN_PROGRESS\",\"id\":\"C1\"}"

static void
test_publish(void)
{
    const struct herald_account *a = pub_account();
    const struct mock_completion *c;

    make_post("Hello #herald", "https://example.com/a", default_media, NULL);
    CHECK(plugin->publish(state, mock_op_begin(), a, &post) == 0);
    CHECK(mock_request_count() == 1);
    check_create(0, "Hello #herald\n\nhttps://example.com/a");
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    CHECK_STR(checkpoint_str("container_id"), "C1");
    CHECK(checkpoint_str("media_id") == NULL);
    CHECK(mock_completion()->completed == 0);
    CHECK(mock_request_count() == 2);
    check_poll(1, "C1");
    mock_respond(200, NULL, FINISHED);
    CHECK(mock_request_count() == 3);
    check_publish(2, "C1");
    mock_respond(200, NULL, "{\"id\":\"M1\"}");
    CHECK_STR(checkpoint_str("container_id"), "C1");
    CHECK_STR(checkpoint_str("media_id"), "M1");
    CHECK(mock_request_count() == 4);
    CHECK_STR(mock_request(3)->method, "GET");
    CHECK(strncmp(mock_request(3)->url, API "/M1?", strlen(API "/M1?")) == 0);
    CHECK_STR(mock_field(3, "fields"), "permalink");
    mock_respond(200, NULL,
                 "{\"permalink\":\"https://www.instagram.com/p/Abc123/\","
                 "\"id\":\"M1\"}");
    c = mock_completion();
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->remote_id, "M1");
    CHECK_STR(c->remote_url, "https://www.instagram.com/p/Abc123/");

    /* No text and no link: no caption at all; permalink unreadable. */
    make_post("", NULL, default_media, NULL);
    plugin->publish(state, mock_op_begin(), a, &post);
    check_create(0, NULL);
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    mock_respond(200, NULL, FINISHED);
    mock_respond(200, NULL, "{\"id\":\"M1\"}");
    mock_respond(500, NULL, "");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_DONE);
    CHECK_STR(mock_completion()->remote_id, "M1");
    CHECK_STR(mock_completion()->remote_url, "https://www.instagram.com/");

    /* A link alone is the caption. */
    make_post(NULL, "https://example.com/b", default_media, NULL);
    plugin->publish(state, mock_op_begin(), a, &post);
    check_create(0, "https://example.com/b");
    mock_fail(HERALD_TRANSPORT_CONNECT);
    check_completion();
}

static void
test_publish_polls(void)
{
    const struct herald_account *a = pub_account();

    start(3);
    /* Still processing after the poll limit: retry later, container
     * kept for the next attempt. */
    make_post("x", NULL, default_media, NULL);
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    mock_respond(200, NULL, IN_PROGRESS);
    mock_respond(200, NULL, IN_PROGRESS);
    CHECK(mock_completion()->completed == 0);
    mock_respond(200, NULL, IN_PROGRESS);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_request_count() == 4);
    CHECK_STR(checkpoint_str("container_id"), "C1");

    /* Finished on the second poll. */
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    mock_respond(200, NULL, IN_PROGRESS);
    mock_respond(200, NULL, FINISHED);
    check_publish(3, "C1");
    mock_respond(200, NULL, "{\"id\":\"M1\"}");
    mock_respond(200, NULL,
                 "{\"permalink\":\"https://www.instagram.com/p/"
                 "X/\"}");
    CHECK(kind() == HERALD_OUTCOME_DONE);
    start(10);
}

static void
test_publish_resume(void)
{
    const struct herald_account *a = pub_account();

    /* A recorded container is polled, never created again. */
    make_post("x", NULL, default_media,
              json_pack("{ss}", "container_id", "C9"));
    plugin->publish(state, mock_op_begin(), a, &post);
    CHECK(mock_request_count() == 1);
    check_poll(0, "C9");
    mock_respond(200, NULL, "{\"status_code\":\"FINISHED\"}");
    check_publish(1, "C9");
    mock_respond(200, NULL, "{\"id\":\"M9\"}");
    CHECK_STR(checkpoint_str("media_id"), "M9");
    mock_respond(200, NULL,
                 "{\"permalink\":\"https://www.instagram.com/p/"
                 "Z/\"}");
    CHECK(kind() == HERALD_OUTCOME_DONE);
    CHECK_STR(mock_completion()->remote_id, "M9");

    /* A recorded media id: already done, only the link is read. */
    make_post("x", NULL, default_media,
              json_pack("{ss ss}", "container_id", "C9", "media_id", "M9"));
    plugin->publish(state, mock_op_begin(), a, &post);
    CHECK(mock_request_count() == 1);
    CHECK(strncmp(mock_request(0)->url, API "/M9?", strlen(API "/M9?")) == 0);
    mock_respond(200, NULL,
                 "{\"permalink\":\"https://www.instagram.com/p/"
                 "Z/\"}");
    CHECK(kind() == HERALD_OUTCOME_DONE);
    CHECK_STR(mock_completion()->remote_id, "M9");
    CHECK_STR(mock_completion()->remote_url, "https://www.instagram.com/p/Z/");

    /* The container was published by the interrupted attempt. */
    make_post("x", NULL, default_media,
              json_pack("{ss}", "container_id", "C9"));
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL, "{\"status_code\":\"PUBLISHED\"}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_DUPLICATE);
    CHECK(mock_request_count() == 1);

    /* The container expired: a new one replaces it. */
    make_post("x", NULL, default_media,
              json_pack("{ss}", "container_id", "C9"));
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL, "{\"status_code\":\"EXPIRED\"}");
    CHECK(mock_request_count() == 2);
    check_create(1, "x");
    mock_respond(200, NULL, "{\"id\":\"C10\"}");
    CHECK_STR(checkpoint_str("container_id"), "C10");
    check_poll(2, "C10");
    mock_respond(200, NULL, "{\"status_code\":\"FINISHED\"}");
    check_publish(3, "C10");
    mock_respond(200, NULL, "{\"id\":\"M10\"}");
    mock_respond(200, NULL, "{}");
    CHECK(kind() == HERALD_OUTCOME_DONE);
    CHECK_STR(mock_completion()->remote_id, "M10");

    /* The container failed. */
    make_post("x", NULL, default_media,
              json_pack("{ss}", "container_id", "C9"));
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL,
                 "{\"status_code\":\"ERROR\",\"status\":\"Error: 2207004\"}");
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_REJECTED);
    CHECK_STR(mock_completion()->message, "Error: 2207004");

    /* media_publish says the container expired: one new container, and
     * a second expiry gives up. */
    make_post("x", NULL, default_media, NULL);
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    mock_respond(200, NULL, FINISHED);
    mock_respond(400, NULL, ENV(-2, 2207020, "The media has expired."));
    CHECK(mock_request_count() == 4);
    check_create(3, "x");
    mock_respond(200, NULL, "{\"id\":\"C2\"}");
    CHECK_STR(checkpoint_str("container_id"), "C2");
    mock_respond(200, NULL, FINISHED);
    mock_respond(400, NULL, ENV(-2, 2207020, "The media has expired."));
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_REJECTED);
    CHECK(mock_request_count() == 6);
}

/* Runs create and poll, leaving media_publish pending. */
static void
until_publish(void)
{
    make_post("x", NULL, default_media, NULL);
    plugin->publish(state, mock_op_begin(), pub_account(), &post);
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    mock_respond(200, NULL, FINISHED);
    CHECK(mock_request_count() == 3);
}

static void
test_publish_errors(void)
{
    static const struct error_case publish_cases[] = {
        {"timeout",
         HERALD_TRANSPORT_TIMEOUT,
         0,
         {NULL},
         NULL,
         HERALD_OUTCOME_UNKNOWN,
         0,
         -1,
         "in time"},
        {"broken",
         HERALD_TRANSPORT_BROKEN,
         0,
         {NULL},
         NULL,
         HERALD_OUTCOME_UNKNOWN,
         0,
         -1,
         "lost"},
        {"connect",
         HERALD_TRANSPORT_CONNECT,
         0,
         {NULL},
         NULL,
         HERALD_OUTCOME_RETRY_LATER,
         0,
         -1,
         "connect"},
        {"500",
         0,
         500,
         {NULL},
         "{\"error\":{\"message\":\"An unknown error has occurred.\","
         "\"code\":1,\"is_transient\":true}}",
         HERALD_OUTCOME_UNKNOWN,
         0,
         -1,
         "unknown error"},
        {"unparseable",
         0,
         200,
         {NULL},
         "<html>",
         HERALD_OUTCOME_UNKNOWN,
         0,
         -1,
         "could not be read"},
        {"no id",
         0,
         200,
         {NULL},
         "{}",
         HERALD_OUTCOME_UNKNOWN,
         0,
         -1,
         "no id"},
        {"server error",
         0,
         400,
         {NULL},
         ENV(-1, 2207001, "Instagram server error."),
         HERALD_OUTCOME_RETRY_LATER,
         0,
         -1,
         "server error"},
        {"fetch timeout",
         0,
         400,
         {NULL},
         ENV(-2, 2207003, "It took too long to download the media."),
         HERALD_OUTCOME_RETRY_LATER,
         0,
         -1,
         "too long"},
        {"create failed",
         0,
         400,
         {NULL},
         ENV(-1, 2207032, "Create media has failed."),
         HERALD_OUTCOME_RETRY_LATER,
         0,
         -1,
         "failed"},
        {"upload error",
         0,
         400,
         {NULL},
         ENV(-1, 2207053, "Unknown upload error."),
         HERALD_OUTCOME_RETRY_LATER,
         0,
         -1,
         "upload"},
        {"not ready",
         0,
         400,
         {NULL},
         ENV(9007, 2207027, "The media is not ready for publishing."),
         HERALD_OUTCOME_RETRY_LATER,
         0,
         -1,
         "not ready"},
        {"spam block",
         0,
         400,
         {NULL},
         ENV(4, 2207051, "We restrict certain activity."),
         HERALD_OUTCOME_RATE_LIMITED,
         HERALD_RATE_USER,
         HOUR_MS,
         "restrict"},
        {"thumbnail",
         0,
         400,
         {NULL},
         ENV(1, 2207057, "The thumbnail offset is invalid."),
         HERALD_OUTCOME_REJECTED,
         0,
         -1,
         "thumbnail"},
        {"caption too long",
         0,
         400,
         {NULL},
         ENV(100, 2207010, "The caption is too long."),
         HERALD_OUTCOME_REJECTED,
         0,
         -1,
         "caption"},
        {"image too large",
         0,
         400,
         {NULL},
         "{\"error\":{\"message\":\"The image size is too large.\","
         "\"type\":\"OAuthException\",\"code\":36000,\"error_subcode\":"
         "2207004,\"is_transient\":false,\"error_user_title\":\"t\","
         "\"error_user_msg\":\"m\",\"fbtrace_id\":\"A1b2C3d4E5\"}}",
         HERALD_OUTCOME_REJECTED,
         0,
         -1,
         "The image size is too large."},
        {"duplicate",
         0,
         400,
         {NULL},
         "{\"error\":{\"message\":\"(#506) Duplicate status message\","
         "\"code\":506}}",
         HERALD_OUTCOME_DUPLICATE,
         0,
         -1,
         "(#506)"},
        {"expired token",
         0,
         400,
         {NULL},
         ENV(190, 463, "Error validating access token: Session has expired"),
         HERALD_OUTCOME_ACCESS_LOST,
         HERALD_ACCESS_EXPIRED,
         -1,
         "expired"},
    };
    const struct herald_account *a = pub_account();

    for (size_t i = 0; i < sizeof(publish_cases) / sizeof(*publish_cases);
         i++) {
        until_publish();
        answer_and_check(&publish_cases[i]);
        CHECK_STR(checkpoint_str("container_id"), "C1");
    }

    /* On the container step a lost connection made no post. */
    make_post("x", NULL, default_media, NULL);
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_fail(HERALD_TRANSPORT_TIMEOUT);
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(500, NULL, "");
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL, "{\"status\":\"no id\"}");
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_completion()->checkpoint == NULL);

    /* A failed poll. */
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    mock_fail(HERALD_TRANSPORT_TIMEOUT);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
    plugin->publish(state, mock_op_begin(), a, &post);
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    mock_respond(200, NULL, "{\"id\":\"C1\"}");
    CHECK(kind() == HERALD_OUTCOME_RETRY_LATER);
}

static void
test_publish_validation(void)
{
    const struct herald_account *a = pub_account();
    static const char *two[] = {"https://cdn.test/a.jpg",
                                "https://cdn.test/b.jpg", NULL};
    char text[2200 * 2 + 1];

    make_post("text only", NULL, NULL, NULL);
    CHECK(plugin->publish(state, mock_op_begin(), a, &post) == 0);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_REJECTED);
    CHECK(mock_request_count() == 0);

    make_post("two", NULL, two, NULL);
    plugin->publish(state, mock_op_begin(), a, &post);
    CHECK(kind() == HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(mock_completion()->message, "carousel");
    CHECK(mock_request_count() == 0);

    /* 2200 two-byte code points pass; one more does not. */
    for (size_t i = 0; i < 2200; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2);
    text[4400] = '\0';
    make_post(text, NULL, default_media, NULL);
    plugin->publish(state, mock_op_begin(), a, &post);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_field(0, "caption"), text);
    mock_fail(HERALD_TRANSPORT_CONNECT);
    check_completion();
    make_post(text, "https://e.x", default_media, NULL);
    plugin->publish(state, mock_op_begin(), a, &post);
    CHECK(kind() == HERALD_OUTCOME_REJECTED);
    CHECK(mock_request_count() == 0);

    account.remote_id = NULL;
    make_post("x", NULL, default_media, NULL);
    plugin->publish(state, mock_op_begin(), &account, &post);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_REJECTED);
    account.remote_id = UID;
}

/* ---- the publishing cap ---------------------------------------------- */

/* Answers quota requests as a network whose 50 posts of the last day
 * were made one a minute from first_post_ms on. */
static long
usage_since(int64_t since_s, int64_t first_post_ms)
{
    long n = 0;

    for (int i = 0; i < 50; i++) {
        int64_t t = first_post_ms / 1000 + i * 60;
        if (t >= since_s && t > mock_now_ms / 1000 - 86400)
            n++;
    }
    return n;
}

static void
answer_quota(int64_t first_post_ms)
{
    size_t i = mock_request_count() - 1;
    const char *since = mock_field(i, "since");
    char body[200];

    CHECK_STR(mock_request(i)->method, "GET");
    CHECK(strncmp(mock_request(i)->url,
                  API "/" UID "/content_publishing_limit?",
                  strlen(API "/" UID "/content_publishing_limit?")) == 0);
    CHECK_STR(mock_field(i, "fields"), "quota_usage,config");
    snprintf(body, sizeof(body),
             "{\"data\":[{\"quota_usage\":%ld,\"config\":{\"quota_total\":"
             "50,\"quota_duration\":86400}}]}",
             usage_since(since ? strtoll(since, NULL, 10) : 0, first_post_ms));
    mock_respond(200, NULL, body);
}

#define CAP_BODY                                                              \
    ENV(9, 2207042,                                                           \
        "You reached maximum number of posts that is allowed to be "          \
        "published by Content Publishing API.")

static void
test_publish_cap(void)
{
    int64_t first = mock_now_ms - 23 * HOUR_MS;
    int64_t frees = first + DAY_MS;
    int probes = 0;
    const struct mock_completion *c = mock_completion();

    until_publish();
    mock_respond(400, NULL, CAP_BODY);
    CHECK(mock_request_count() == 4);
    CHECK(mock_field(3, "since") == NULL);
    answer_quota(first);
    while (c->completed == 0 && probes < 20) {
        CHECK(mock_field(mock_request_count() - 1, "since") != NULL);
        answer_quota(first);
        probes++;
    }
    check_completion();
    CHECK(probes == 8);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RATE_LIMITED);
    CHECK(c->outcome.scope == HERALD_RATE_USER);
    CHECK(c->outcome.retry_at >= frees);
    CHECK(c->outcome.retry_at <= frees + 400 * 1000 + 60 * 1000);
    CHECK_CONTAINS(c->message, "maximum number of posts");

    /* The container step can hit the cap too; an unreadable quota falls
     * back to an hour. */
    make_post("x", NULL, default_media, NULL);
    plugin->publish(state, mock_op_begin(), pub_account(), &post);
    mock_respond(400, NULL, CAP_BODY);
    mock_respond(400, NULL, ENV(100, 0, "(#100) unsupported"));
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RATE_LIMITED);
    CHECK(c->outcome.retry_at == mock_now_ms + HOUR_MS);

    /* The quota shows a free slot: try again in a quarter hour. */
    until_publish();
    mock_respond(400, NULL, CAP_BODY);
    mock_respond(200, NULL,
                 "{\"data\":[{\"quota_usage\":49,\"config\":{\"quota_total\":"
                 "50,\"quota_duration\":86400}}]}");
    check_completion();
    CHECK(c->outcome.retry_at == mock_now_ms + 15 * 60 * 1000);

    /* A probe fails: the bound found so far stands. */
    until_publish();
    mock_respond(400, NULL, CAP_BODY);
    answer_quota(first);
    mock_fail(HERALD_TRANSPORT_CONNECT);
    check_completion();
    CHECK(kind() == HERALD_OUTCOME_RATE_LIMITED);
    CHECK(c->outcome.retry_at == mock_now_ms + (86400 + 60) * 1000LL);
}

/* ---- lookup ---------------------------------------------------------- */

static void
lookup_with(json_t *checkpoint)
{
    make_post("x", NULL, default_media, checkpoint);
    CHECK(plugin->lookup(state, mock_op_begin(), pub_account(), &post) == 0);
}

static void
test_lookup(void)
{
    const struct mock_completion *c = mock_completion();

    lookup_with(NULL);
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK(mock_request_count() == 0);

    lookup_with(json_pack("{ss}", "container_id", "C5"));
    check_poll(0, "C5");
    mock_respond(200, NULL, "{\"status_code\":\"PUBLISHED\",\"id\":\"C5\"}");
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(c->remote_id == NULL);
    CHECK(mock_request_count() == 1);

    lookup_with(json_pack("{ss}", "container_id", "C5"));
    mock_respond(200, NULL, FINISHED);
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_STR(c->message, "not published");
    CHECK(mock_request_count() == 1);

    lookup_with(json_pack("{ss}", "container_id", "C5"));
    mock_respond(200, NULL, IN_PROGRESS);
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_STR(c->message, "not published");

    lookup_with(json_pack("{ss}", "container_id", "C5"));
    mock_respond(200, NULL, "{\"status_code\":\"EXPIRED\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);

    lookup_with(json_pack("{ss}", "container_id", "C5"));
    mock_respond(200, NULL, "{\"status_code\":\"ERROR\",\"status\":\"E\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);

    lookup_with(json_pack("{ss}", "container_id", "C5"));
    mock_respond(200, NULL, "{\"status_code\":\"SOMETHING\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_UNKNOWN);

    lookup_with(json_pack("{ss}", "container_id", "C5"));
    mock_respond(503, NULL, "");
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    lookup_with(json_pack("{ss}", "container_id", "C5"));
    mock_respond(400, NULL, ENV(-2, 2207020, "The media has expired."));
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK(mock_request_count() == 1);

    lookup_with(json_pack("{ss ss}", "container_id", "C5", "media_id", "M5"));
    CHECK(strncmp(mock_request(0)->url, API "/M5?", strlen(API "/M5?")) == 0);
    mock_respond(200, NULL,
                 "{\"permalink\":\"https://www.instagram.com/p/"
                 "Q/\"}");
    check_completion();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->remote_id, "M5");
    CHECK_STR(c->remote_url, "https://www.instagram.com/p/Q/");
}

int
main(void)
{
    plugin = herald_plugin_entry();
    test_descriptor();
    start(10);
    test_init();
    test_authorize_url();
    test_exchange("{\"access_token\":\"" SHORT "\",\"user_id\":" UID ","
                  "\"permissions\":\"instagram_business_basic,"
                  "instagram_business_content_publish\"}");
    test_exchange("{\"data\":[{\"access_token\":\"" SHORT "\",\"user_id\":"
                  "\"" UID "\",\"permissions\":\"instagram_business_basic,"
                  "instagram_business_content_publish\"}]}");
    test_exchange_details();
    test_identity();
    test_refresh();
    test_publish();
    test_publish_polls();
    test_publish_resume();
    test_publish_errors();
    test_publish_validation();
    test_publish_cap();
    test_lookup();

    mock_op_begin();
    plugin->fini(state);
    json_decref(config);
    json_decref(creds.extra);
    json_decref(post.checkpoint);
    return check_done();
}
