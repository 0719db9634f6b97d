/*
 * test_facebook.c - the Facebook plugin against the mock host.
 *
 * Reaches the plugin only through herald_plugin_entry(), as the core
 * does. Each test starts an operation, checks the exact requests the
 * plugin sends, answers them with the network's documented replies
 * (as Meta documents them) and checks the one typed outcome.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mockhost.h"

#define GRAPH  "https://graph.facebook.test/v25.0"
#define SECRET "app-secret-5ecr3t"
#define CODE   "auth-code-c0de"
#define SHORT  "user-token-SHORT"
#define LONG   "user-token-LONG"
#define PAGE1  "page-token-111"
#define PAGE2  "page-token-222"
#define DAY_MS (24LL * 3600 * 1000)

HERALD_EXPORT const struct herald_plugin *herald_plugin_entry(void);

static const struct herald_plugin *plugin;
static void *state;

static int
starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *const planted[] = {SECRET, CODE,  SHORT, LONG,
                                      PAGE1,  PAGE2, NULL};

/* Checks that the completion happened once and quotes no secret. */
static void
check_once(void)
{
    const struct mock_completion *c = mock_completion();

    CHECK(c->completed == 1);
    for (size_t i = 0; planted[i]; i++)
        CHECK(!c->message || !strstr(c->message, planted[i]));
}

static void
check_kind(enum herald_outcome_kind kind)
{
    const struct mock_completion *c = mock_completion();

    check_once();
    CHECK(c->outcome.kind == kind);
    if (c->outcome.kind != kind)
        fprintf(stderr, "  kind %d, want %d (%s)\n", c->outcome.kind, kind,
                c->message ? c->message : "");
}

static json_t *
make_config(const char *version, json_int_t limit, json_int_t requests)
{
    return json_pack("{ss ss ss s[ssss] ss ss ss sI sI}", "client_id", "app-1",
                     "client_secret", SECRET, "redirect_uri",
                     "https://herald.test/cb", "scopes", "pages_show_list",
                     "pages_manage_posts", "pages_read_engagement",
                     "business_management", "api_version", version,
                     "login_base_url", "https://www.facebook.test/",
                     "graph_base_url", "https://graph.facebook.test",
                     "pages_limit", limit, "pages_max_requests", requests);
}

/* The account the tests act on: a long-lived token, two Pages. */
static struct herald_credentials creds;
static struct herald_account account = {
    .id = 7, .remote_id = "10211111111111111", .creds = &creds};

static void
reset_account(void)
{
    json_decref(creds.extra);
    memset(&creds, 0, sizeof(creds));
    creds.access_token = LONG;
    creds.access_expires_at = mock_now_ms + 30 * DAY_MS;
    creds.hard_deadline = creds.access_expires_at;
    creds.extra = json_pack("{s{ssss}}", "pages", "111", PAGE1, "222", PAGE2);
}

static void
test_descriptor(void)
{
    const struct herald_content_rules *r = plugin->content;
    const struct herald_config_key *k;
    int seen = 0;

    CHECK(plugin->abi_major == HERALD_ABI_MAJOR);
    CHECK(plugin->abi_minor == HERALD_ABI_MINOR);
    CHECK(plugin->size == sizeof(struct herald_plugin));
    CHECK_STR(plugin->signature, HERALD_BUILD_SIGNATURE);
    CHECK_STR(plugin->name, "facebook");
    CHECK_STR(plugin->display_name, "Facebook");
    CHECK(plugin->token_model == HERALD_TOKEN_EXCHANGE_ONLY);
    CHECK(plugin->capabilities == (HERALD_CAP_TARGETS | HERALD_CAP_REVOKE));
    CHECK(!(plugin->capabilities & HERALD_CAP_REFRESH));
    CHECK(!(plugin->capabilities & HERALD_CAP_PKCE));
    CHECK(plugin->reconnect_window == 0);
    CHECK(r->max_text == 63206);
    CHECK(r->counting == HERALD_COUNT_CODEPOINTS);
    CHECK(r->media == HERALD_MEDIA_ALLOWED);
    CHECK(r->max_media == 1);
    CHECK(r->text_required == 0);
    CHECK(r->link_allowed == 1);
    CHECK_STR(plugin->default_scopes[0], "pages_show_list");
    CHECK_STR(plugin->default_scopes[1], "pages_manage_posts");
    CHECK_STR(plugin->default_scopes[2], "pages_read_engagement");
    CHECK_STR(plugin->default_scopes[3], "business_management");
    CHECK(plugin->default_scopes[4] == NULL);
    CHECK(plugin->init && plugin->fini && plugin->authorize_url &&
          plugin->exchange && plugin->identity && plugin->refresh &&
          plugin->publish && plugin->revoke);
    CHECK(plugin->lookup == NULL);
    for (k = plugin->config_schema; k->name; k++) {
        CHECK(!k->secret);
        CHECK(strcmp(k->name, "client_id") != 0 &&
              strcmp(k->name, "scopes") != 0 &&
              strcmp(k->name, "redirect_uri") != 0);
        if (strcmp(k->name, "api_version") == 0) {
            CHECK_STR(k->default_json, "\"v25.0\"");
            CHECK(k->type == HERALD_CONF_STRING);
            seen |= 1;
        } else if (strcmp(k->name, "login_base_url") == 0) {
            CHECK_STR(k->default_json, "\"https://www.facebook.com\"");
            CHECK(k->type == HERALD_CONF_URL);
            seen |= 2;
        } else if (strcmp(k->name, "graph_base_url") == 0) {
            CHECK_STR(k->default_json, "\"https://graph.facebook.com\"");
            CHECK(k->type == HERALD_CONF_URL);
            seen |= 4;
        } else if (strcmp(k->name, "pages_limit") == 0) {
            CHECK_STR(k->default_json, "100");
            seen |= 8;
        } else if (strcmp(k->name, "pages_max_requests") == 0) {
            CHECK_STR(k->default_json, "20");
            seen |= 16;
        }
    }
    CHECK(seen == 31);
}

static void
test_init(void)
{
    void *s = NULL;
    json_t *bad;

    bad = make_config("25.0", 2, 3);
    CHECK(plugin->init(mock_host(), bad, &s) < 0);
    json_decref(bad);
    bad = make_config("v25", 2, 3);
    CHECK(plugin->init(mock_host(), bad, &s) < 0);
    json_decref(bad);
    bad = make_config("v25.0", 0, 3);
    CHECK(plugin->init(mock_host(), bad, &s) < 0);
    json_decref(bad);
    bad = make_config("v25.0", 2, 0);
    CHECK(plugin->init(mock_host(), bad, &s) < 0);
    json_decref(bad);
    bad = make_config("v25.0", 2, 3);
    json_object_del(bad, "client_secret");
    CHECK(plugin->init(mock_host(), bad, &s) < 0);
    json_decref(bad);

    /* Keys left out take the schema defaults. */
    bad = json_pack("{ss ss}", "client_id", "a", "client_secret", "b");
    CHECK(plugin->init(mock_host(), bad, &s) == 0);
    plugin->fini(s);
    json_decref(bad);
}

static void
test_authorize_url(void)
{
    struct herald_authorize_request req = {
        .state = "st/ate+1", .redirect_uri = "https://herald.test/cb?n=fb"};
    char *url = NULL;
    json_t *config = make_config("v24.0", 2, 3);
    void *s = NULL;

    CHECK(plugin->authorize_url(state, &req, &url) == 0);
    CHECK_STR(url, "https://www.facebook.test/v25.0/dialog/oauth"
                   "?client_id=app-1"
                   "&redirect_uri=https%3A%2F%2Fherald.test%2Fcb%3Fn%3Dfb"
                   "&state=st%2Fate%2B1&response_type=code"
                   "&scope=pages_show_list%2Cpages_manage_posts"
                   "%2Cpages_read_engagement%2Cbusiness_management");
    free(url);

    /* Configured scopes and version. */
    json_object_set_new(config, "scopes", json_pack("[s]", "pages_show_list"));
    CHECK(plugin->init(mock_host(), config, &s) == 0);
    url = NULL;
    CHECK(plugin->authorize_url(s, &req, &url) == 0);
    CHECK_CONTAINS(url, "https://www.facebook.test/v24.0/dialog/oauth?");
    CHECK_CONTAINS(url, "&scope=pages_show_list");
    CHECK(url && !strstr(url, "manage_posts"));
    CHECK(url && !strstr(url, SECRET));
    free(url);
    plugin->fini(s);
    json_decref(config);
}

/* Runs the code and long-lived steps of an exchange to STEP_ME. */
static void
exchange_to_me(const char *long_body)
{
    struct herald_exchange_request req = {
        .code = CODE, .redirect_uri = "https://herald.test/cb"};

    CHECK(plugin->exchange(state, mock_op_begin(), &req) == 0);
    CHECK(mock_request_count() == 1);
    mock_respond(200, NULL,
                 "{\"access_token\":\"" SHORT "\",\"token_type\":\"bearer\","
                 "\"expires_in\":3600}");
    CHECK(mock_request_count() == 2);
    mock_respond(200, NULL, long_body);
}

static void
test_exchange(void)
{
    const struct mock_request *r;
    const struct mock_completion *c;
    char *dump;

    exchange_to_me("{\"access_token\":\"" LONG "\",\"token_type\":\"bearer\","
                   "\"expires_in\":5183944}");

    /* Step 1: the code, with the client secret in the query. */
    r = mock_request(0);
    CHECK_STR(r->method, "GET");
    CHECK(starts(r->url, GRAPH "/oauth/access_token?"));
    CHECK_STR(mock_field(0, "client_id"), "app-1");
    CHECK_STR(mock_field(0, "redirect_uri"), "https://herald.test/cb");
    CHECK_STR(mock_field(0, "client_secret"), SECRET);
    CHECK_STR(mock_field(0, "code"), CODE);
    CHECK(mock_field(0, "grant_type") == NULL);
    CHECK(mock_header(0, "Authorization") == NULL);
    CHECK(r->body == NULL);

    /* Step 2: short-lived to long-lived. */
    r = mock_request(1);
    CHECK_STR(r->method, "GET");
    CHECK(starts(r->url, GRAPH "/oauth/access_token?"));
    CHECK_STR(mock_field(1, "grant_type"), "fb_exchange_token");
    CHECK_STR(mock_field(1, "client_id"), "app-1");
    CHECK_STR(mock_field(1, "client_secret"), SECRET);
    CHECK_STR(mock_field(1, "fb_exchange_token"), SHORT);
    CHECK(mock_field(1, "code") == NULL);

    /* Step 3: the identity, with the long-lived token. */
    CHECK(mock_request_count() == 3);
    r = mock_request(2);
    CHECK_STR(r->method, "GET");
    CHECK_STR(r->url, GRAPH "/me?fields=id,name");
    CHECK_STR(mock_header(2, "Authorization"), "Bearer " LONG);
    mock_respond(200, NULL,
                 "{\"name\":\"Jane Doe\",\"id\":\"10211111111111111\"}");

    /* Step 4: the Pages, two per request here, then paging.next. */
    CHECK(mock_request_count() == 4);
    r = mock_request(3);
    CHECK_STR(r->url,
              GRAPH "/me/accounts?fields=id%2Cname%2Caccess_token&limit=2");
    CHECK_STR(mock_header(3, "Authorization"), "Bearer " LONG);
    mock_respond(
        200, NULL,
        "{\"data\":[{\"name\":\"Bakery\",\"access_token\":\"" PAGE1
        "\",\"id\":\"111\"},{\"name\":\"Cafe\",\"access_token\":\"" PAGE2
        "\",\"id\":\"222\"}],\"paging\":{\"cursors\":{\"before\":"
        "\"QVFIa\",\"after\":\"QVFIb\"},\"next\":\"" GRAPH
        "/me/accounts?fields=id%2Cname%2Caccess_token&limit=2"
        "&after=QVFIb\"}}");
    CHECK(mock_request_count() == 5);
    r = mock_request(4);
    CHECK_STR(r->url, GRAPH "/me/accounts?fields=id%2Cname%2Caccess_token"
                            "&limit=2&after=QVFIb");
    CHECK_STR(mock_header(4, "Authorization"), "Bearer " LONG);
    CHECK(mock_completion()->completed == 0);
    /* A repeated Page and one without a Page token are left out. */
    mock_respond(200, NULL,
                 "{\"data\":[{\"name\":\"Bakery\",\"access_token\":\"x\","
                 "\"id\":\"111\"},{\"name\":\"Readonly\",\"id\":\"444\"},"
                 "{\"name\":\"Deli\",\"access_token\":\"page-token-333\","
                 "\"id\":\"333\"}],\"paging\":{\"cursors\":{\"before\":"
                 "\"QVFIc\",\"after\":\"QVFId\"}}}");

    c = mock_completion();
    check_kind(HERALD_OUTCOME_DONE);
    CHECK(mock_request_count() == 5);
    CHECK(c->has_credentials);
    CHECK_STR(c->access_token, LONG);
    CHECK(c->refresh_token == NULL);
    CHECK(c->access_expires_at == mock_now_ms + 5183944000LL);
    CHECK(c->hard_deadline == mock_now_ms + 5183944000LL);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(c->extra, "pages"), "111")),
              PAGE1);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(c->extra, "pages"), "333")),
              "page-token-333");
    CHECK(json_object_size(json_object_get(c->extra, "pages")) == 3);
    CHECK(c->has_identity);
    CHECK_STR(c->identity_id, "10211111111111111");
    CHECK_STR(c->username, "Jane Doe");
    CHECK_STR(c->display_name, "Jane Doe");
    CHECK(json_array_size(c->targets) == 3);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(c->targets, 0), "id")),
              "111");
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(c->targets, 1), "name")),
              "Cafe");
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(c->targets, 2), "kind")),
              "page");
    dump = json_dumps(c->targets, 0);
    CHECK(dump && !strstr(dump, "token"));
    free(dump);
}

/* paging.next elsewhere, or carrying the token, and the request cap. */
static void
test_exchange_paging(void)
{
    exchange_to_me("{\"access_token\":\"" LONG "\"}");
    mock_respond(200, NULL, "{\"id\":\"1\",\"name\":\"Jane\"}");
    mock_respond(200, NULL,
                 "{\"data\":[{\"id\":\"111\",\"name\":\"A\",\"access_token\":"
                 "\"" PAGE1 "\"}],\"paging\":{\"cursors\":{\"after\":\"c+1\"},"
                 "\"next\":\"https://elsewhere.test/v25.0/me/accounts?"
                 "after=c1\"}}");
    CHECK(mock_request_count() == 5);
    CHECK_STR(mock_request(4)->url,
              GRAPH "/me/accounts?fields=id%2Cname"
                    "%2Caccess_token&limit=2&after=c%2B1");
    mock_respond(200, NULL,
                 "{\"data\":[{\"id\":\"222\",\"name\":\"B\",\"access_token\":"
                 "\"" PAGE2 "\"}],\"paging\":{\"next\":\"" GRAPH
                 "/me/accounts?access_token=" LONG "&after=c2\"}}");
    CHECK(mock_request_count() == 6);
    CHECK_STR(mock_request(5)->url,
              GRAPH "/me/accounts?access_token=" LONG "&after=c2");
    CHECK(mock_header(5, "Authorization") == NULL);
    /* pages_max_requests is 3: the third request is the last. */
    mock_respond(200, NULL,
                 "{\"data\":[{\"id\":\"333\",\"name\":\"C\",\"access_token\":"
                 "\"t3\"}],\"paging\":{\"next\":\"" GRAPH
                 "/me/accounts?after=c3\"}}");
    CHECK(mock_request_count() == 6);
    check_kind(HERALD_OUTCOME_DONE);
    CHECK(json_array_size(mock_completion()->targets) == 3);
    /* No expires_in: the documented 60 days are assumed. */
    CHECK(mock_completion()->hard_deadline == mock_now_ms + 60 * DAY_MS);

    /* next elsewhere without a cursor: stop with what came. */
    exchange_to_me("{\"access_token\":\"" LONG "\",\"expires_in\":100}");
    mock_respond(200, NULL, "{\"id\":\"1\"}");
    mock_respond(200, NULL,
                 "{\"data\":[{\"id\":\"111\",\"access_token\":\"" PAGE1
                 "\"}],\"paging\":{\"next\":\"https://elsewhere.test/x\"}}");
    check_kind(HERALD_OUTCOME_DONE);
    CHECK(mock_request_count() == 4);
    CHECK_STR(mock_completion()->username, "1");
    CHECK(mock_completion()->display_name == NULL);
    CHECK_STR(json_string_value(json_object_get(
                  json_array_get(mock_completion()->targets, 0), "name")),
              "111");
    CHECK(mock_completion()->hard_deadline == mock_now_ms + 100000);
}

static const char *const ERR_USED =
    "{\"error\":{\"message\":\"This authorization code has been used.\","
    "\"type\":\"OAuthException\",\"code\":100,\"fbtrace_id\":\"A1b2\"}}";
static const char *const ERR_PASSWORD =
    "{\"error\":{\"message\":\"Error validating access token: The session "
    "has been invalidated because the user changed their password or "
    "Facebook has changed the session for security reasons.\",\"type\":"
    "\"OAuthException\",\"code\":190,\"error_subcode\":460,\"fbtrace_id\":"
    "\"x\"}}";

static void
test_exchange_errors(void)
{
    struct herald_exchange_request req = {
        .code = CODE, .redirect_uri = "https://herald.test/cb"};

    /* A used code. */
    CHECK(plugin->exchange(state, mock_op_begin(), &req) == 0);
    mock_respond(400, NULL, ERR_USED);
    check_kind(HERALD_OUTCOME_REJECTED);
    CHECK_STR(mock_completion()->message,
              "This authorization code has been used.");
    CHECK(mock_completion()->outcome.http_status == 400);
    CHECK(mock_request_count() == 1);

    /* A token response without a token. */
    CHECK(plugin->exchange(state, mock_op_begin(), &req) == 0);
    mock_respond(200, NULL, "{\"token_type\":\"bearer\"}");
    check_kind(HERALD_OUTCOME_RETRY_LATER);

    /* The long-lived step cannot connect. */
    CHECK(plugin->exchange(state, mock_op_begin(), &req) == 0);
    mock_respond(200, NULL, "{\"access_token\":\"" SHORT "\"}");
    mock_fail(HERALD_TRANSPORT_CONNECT);
    check_kind(HERALD_OUTCOME_RETRY_LATER);

    /* The long-lived step fails with a 502 page. */
    CHECK(plugin->exchange(state, mock_op_begin(), &req) == 0);
    mock_respond(200, NULL, "{\"access_token\":\"" SHORT "\"}");
    mock_respond(502, NULL, "<html>Bad gateway</html>");
    check_kind(HERALD_OUTCOME_RETRY_LATER);
    CHECK(mock_completion()->outcome.http_status == 502);

    /* The identity says the password changed meanwhile. */
    exchange_to_me("{\"access_token\":\"" LONG "\"}");
    mock_respond(400, NULL, ERR_PASSWORD);
    check_kind(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_PASSWORD_CHANGED);
    CHECK(!mock_completion()->has_credentials);

    /* An unreadable Pages answer. */
    exchange_to_me("{\"access_token\":\"" LONG "\"}");
    mock_respond(200, NULL, "{\"id\":\"1\"}");
    mock_respond(200, NULL, "not json");
    check_kind(HERALD_OUTCOME_RETRY_LATER);

    /* A person without Pages. */
    exchange_to_me("{\"access_token\":\"" LONG "\"}");
    mock_respond(200, NULL, "{\"id\":\"1\"}");
    mock_respond(200, NULL, "{\"data\":[]}");
    check_kind(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(mock_completion()->message, "no Page");

    /* A message that quotes the code or the secret is withheld. */
    CHECK(plugin->exchange(state, mock_op_begin(), &req) == 0);
    mock_respond(400, NULL,
                 "{\"error\":{\"message\":\"Invalid code " CODE
                 "\",\"code\":100}}");
    check_kind(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(mock_completion()->message, "withheld");
    exchange_to_me("{\"access_token\":\"" LONG "\"}");
    mock_respond(400, NULL,
                 "{\"error\":{\"message\":\"bad token " LONG
                 " for secret " SECRET "\",\"code\":190}}");
    check_kind(HERALD_OUTCOME_ACCESS_LOST);
    CHECK_CONTAINS(mock_completion()->message, "withheld");
}

/* One documented reply and the outcome it must give. */
struct reply_case {
    const char *name;
    long status;
    const char *const *headers;
    const char *body;
    enum herald_outcome_kind kind;   /* on a read */
    enum herald_outcome_kind create; /* on a publish */
    int reason;                      /* ACCESS_LOST */
    int scope;                       /* RATE_LIMITED */
    int64_t retry_in;                /* retry_at - now, or 0 */
};

static const char *const buc_5min[] = {
    "X-Business-Use-Case-Usage: {\"111\":[{\"type\":\"pages\","
    "\"call_count\":100,\"total_cputime\":12,\"total_time\":20,"
    "\"estimated_time_to_regain_access\":5}]}",
    NULL};
static const char *const app_usage[] = {
    "X-App-Usage: {\"call_count\":100,\"total_time\":25,"
    "\"total_cputime\":25}",
    NULL};
static const char *const app_usage_eta[] = {
    "X-App-Usage: {\"call_count\":100,\"total_time\":25,"
    "\"total_cputime\":25,\"estimated_time_to_regain_access\":2}",
    "X-Business-Use-Case-Usage: not json", NULL};

#define ENV(code, extra)                                                      \
    "{\"error\":{\"message\":\"m" #code "\",\"type\":\"OAuthException\","     \
    "\"code\":" #code extra ",\"fbtrace_id\":\"t\"}}"

static const struct reply_case cases[] = {
    {"expired", 400, NULL,
     "{\"error\":{\"message\":\"Error validating access token: Session has "
     "expired on Monday, 02-Nov-20 10:00:00 PST. The current time is "
     "Monday, 02-Nov-20 11:02:27 PST.\",\"type\":\"OAuthException\","
     "\"code\":190,\"error_subcode\":463,\"fbtrace_id\":\"x\"}}",
     HERALD_OUTCOME_ACCESS_LOST, HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_EXPIRED, 0, 0},
    {"password", 400, NULL, NULL, HERALD_OUTCOME_ACCESS_LOST,
     HERALD_OUTCOME_ACCESS_LOST, HERALD_ACCESS_PASSWORD_CHANGED, 0, 0},
    {"app removed", 400, NULL,
     "{\"error\":{\"message\":\"Error validating access token: The user has "
     "not authorized application 875877299126xxx.\",\"type\":"
     "\"OAuthException\",\"code\":190,\"error_subcode\":458}}",
     HERALD_OUTCOME_ACCESS_LOST, HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_APP_REMOVED, 0, 0},
    {"logged out", 400, NULL, ENV(190, ",\"error_subcode\":467"),
     HERALD_OUTCOME_ACCESS_LOST, HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_INVALID, 0, 0},
    {"garbage token", 400, NULL,
     "{\"error\":{\"message\":\"Invalid OAuth access token data.\",\"type\":"
     "\"OAuthException\",\"code\":190,\"fbtrace_id\":\"x\"}}",
     HERALD_OUTCOME_ACCESS_LOST, HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_INVALID, 0, 0},
    {"session 102", 400, NULL, ENV(102, ""), HERALD_OUTCOME_ACCESS_LOST,
     HERALD_OUTCOME_ACCESS_LOST, HERALD_ACCESS_INVALID, 0, 0},
    {"permission 200", 400, NULL,
     "{\"error\":{\"message\":\"(#200) If posting to a page, requires both "
     "pages_read_engagement and pages_manage_posts as an admin with "
     "sufficient administrative permission\",\"type\":\"OAuthException\","
     "\"code\":200,\"fbtrace_id\":\"x\"}}",
     HERALD_OUTCOME_ACCESS_LOST, HERALD_OUTCOME_ACCESS_LOST,
     HERALD_ACCESS_PERMISSION_MISSING, 0, 0},
    {"permission 283", 400, NULL, ENV(283, ""), HERALD_OUTCOME_ACCESS_LOST,
     HERALD_OUTCOME_ACCESS_LOST, HERALD_ACCESS_PERMISSION_MISSING, 0, 0},
    {"permission 10 (403)", 403, NULL, ENV(10, ""), HERALD_OUTCOME_ACCESS_LOST,
     HERALD_OUTCOME_ACCESS_LOST, HERALD_ACCESS_PERMISSION_MISSING, 0, 0},
    {"app limit", 400, app_usage,
     "{\"error\":{\"message\":\"(#4) Application request limit reached\","
     "\"type\":\"OAuthException\",\"is_transient\":true,\"code\":4}}",
     HERALD_OUTCOME_RATE_LIMITED, HERALD_OUTCOME_RATE_LIMITED, 0,
     HERALD_RATE_APP, 0},
    {"app limit eta", 400, app_usage_eta, ENV(4, ""),
     HERALD_OUTCOME_RATE_LIMITED, HERALD_OUTCOME_RATE_LIMITED, 0,
     HERALD_RATE_APP, 120000},
    {"user limit", 400, NULL,
     "{\"error\":{\"message\":\"(#17) User request limit reached\","
     "\"code\":17}}",
     HERALD_OUTCOME_RATE_LIMITED, HERALD_OUTCOME_RATE_LIMITED, 0,
     HERALD_RATE_USER, 0},
    {"page limit", 400, buc_5min,
     "{\"error\":{\"message\":\"(#32) Page request limit reached\","
     "\"code\":32}}",
     HERALD_OUTCOME_RATE_LIMITED, HERALD_OUTCOME_RATE_LIMITED, 0,
     HERALD_RATE_USER, 300000},
    {"613", 400, buc_5min, ENV(613, ""), HERALD_OUTCOME_RATE_LIMITED,
     HERALD_OUTCOME_RATE_LIMITED, 0, HERALD_RATE_USER, 300000},
    {"BUC 80001", 400, NULL, ENV(80001, ""), HERALD_OUTCOME_RATE_LIMITED,
     HERALD_OUTCOME_RATE_LIMITED, 0, HERALD_RATE_USER, 0},
    {"duplicate", 400, NULL,
     "{\"error\":{\"message\":\"(#506) Duplicate status message\",\"type\":"
     "\"OAuthException\",\"code\":506}}",
     HERALD_OUTCOME_DUPLICATE, HERALD_OUTCOME_DUPLICATE, 0, 0, 0},
    {"policy block", 400, NULL, ENV(368, ""), HERALD_OUTCOME_REJECTED,
     HERALD_OUTCOME_REJECTED, 0, 0, 0},
    {"invalid parameter", 400, NULL, ENV(100, ",\"error_subcode\":33"),
     HERALD_OUTCOME_REJECTED, HERALD_OUTCOME_REJECTED, 0, 0, 0},
    {"unknown error 1", 500, NULL,
     "{\"error\":{\"message\":\"An unknown error has occurred.\",\"type\":"
     "\"OAuthException\",\"code\":1}}",
     HERALD_OUTCOME_RETRY_LATER, HERALD_OUTCOME_RETRY_LATER, 0, 0, 0},
    {"transient 2 (500)", 500, NULL,
     "{\"error\":{\"message\":\"An unexpected error has occurred. Please "
     "retry your request later.\",\"type\":\"OAuthException\","
     "\"is_transient\":true,\"code\":2}}",
     HERALD_OUTCOME_RETRY_LATER, HERALD_OUTCOME_RETRY_LATER, 0, 0, 0},
    {"transient 2 (400)", 400, NULL,
     "{\"error\":{\"code\":2,\"message\":\"(#2) Service temporarily "
     "unavailable\",\"is_transient\":true,\"type\":\"OAuthException\"}}",
     HERALD_OUTCOME_RETRY_LATER, HERALD_OUTCOME_RETRY_LATER, 0, 0, 0},
    {"is_transient", 400, NULL, ENV(1390008, ",\"is_transient\":true"),
     HERALD_OUTCOME_RETRY_LATER, HERALD_OUTCOME_RETRY_LATER, 0, 0, 0},
    {"other 4xx code", 400, NULL, ENV(1609005, ""), HERALD_OUTCOME_REJECTED,
     HERALD_OUTCOME_REJECTED, 0, 0, 0},
    {"other 5xx code", 500, NULL, ENV(3, ""), HERALD_OUTCOME_RETRY_LATER,
     HERALD_OUTCOME_UNKNOWN, 0, 0, 0},
    {"503 page", 503, NULL, "<html>busy</html>", HERALD_OUTCOME_RETRY_LATER,
     HERALD_OUTCOME_UNKNOWN, 0, 0, 0},
    {"429", 429, NULL, "", HERALD_OUTCOME_RATE_LIMITED,
     HERALD_OUTCOME_RATE_LIMITED, 0, HERALD_RATE_USER, 0},
    {"404 page", 404, NULL, "nope", HERALD_OUTCOME_REJECTED,
     HERALD_OUTCOME_REJECTED, 0, 0, 0},
    {"200 not json", 200, NULL, "<html>", HERALD_OUTCOME_RETRY_LATER,
     HERALD_OUTCOME_UNKNOWN, 0, 0, 0},
    {"200 empty", 200, NULL, "", HERALD_OUTCOME_RETRY_LATER,
     HERALD_OUTCOME_UNKNOWN, 0, 0, 0},
    {"200 without id", 200, NULL, "{}", HERALD_OUTCOME_RETRY_LATER,
     HERALD_OUTCOME_UNKNOWN, 0, 0, 0},
    {"200 array", 200, NULL, "[1]", HERALD_OUTCOME_RETRY_LATER,
     HERALD_OUTCOME_UNKNOWN, 0, 0, 0},
};

static void
check_case(const struct reply_case *rc, int create)
{
    const struct mock_completion *c = mock_completion();
    enum herald_outcome_kind want = create ? rc->create : rc->kind;

    if (c->outcome.kind != want)
        fprintf(stderr, "case '%s' (%s)\n", rc->name,
                create ? "publish" : "identity");
    check_kind(want);
    CHECK(c->outcome.http_status == rc->status);
    if (want == HERALD_OUTCOME_ACCESS_LOST)
        CHECK((int)c->outcome.reason == rc->reason);
    if (want == HERALD_OUTCOME_RATE_LIMITED) {
        CHECK((int)c->outcome.scope == rc->scope);
        CHECK(c->outcome.retry_at ==
              (rc->retry_in ? mock_now_ms + rc->retry_in : 0));
    }
    CHECK(c->message && *c->message);
    CHECK(!c->has_identity && !c->remote_id);
}

static const struct herald_post text_post = {
    .id = 1, .text = "Fresh bread today", .target = "111"};

static void
test_replies(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        const char *body = cases[i].body ? cases[i].body : ERR_PASSWORD;

        CHECK(plugin->identity(state, mock_op_begin(), &account) == 0);
        mock_respond(cases[i].status, cases[i].headers, body);
        check_case(&cases[i], 0);

        CHECK(plugin->publish(state, mock_op_begin(), &account, &text_post) ==
              0);
        mock_respond(cases[i].status, cases[i].headers, body);
        check_case(&cases[i], 1);
    }
    CHECK_STR(mock_completion()->message,
              "POST /111/feed: HTTP 200 with an answer that cannot be read; "
              "the post may have been published");
}

static void
test_transport(void)
{
    static const enum herald_transport t[] = {
        HERALD_TRANSPORT_CONNECT, HERALD_TRANSPORT_TIMEOUT,
        HERALD_TRANSPORT_BROKEN, HERALD_TRANSPORT_CANCELED};
    static const enum herald_outcome_kind on_create[] = {
        HERALD_OUTCOME_RETRY_LATER, HERALD_OUTCOME_UNKNOWN,
        HERALD_OUTCOME_UNKNOWN, HERALD_OUTCOME_RETRY_LATER};

    for (size_t i = 0; i < 4; i++) {
        CHECK(plugin->identity(state, mock_op_begin(), &account) == 0);
        mock_fail(t[i]);
        check_kind(HERALD_OUTCOME_RETRY_LATER);
        CHECK(mock_completion()->outcome.http_status == 0);

        CHECK(plugin->publish(state, mock_op_begin(), &account, &text_post) ==
              0);
        mock_fail(t[i]);
        check_kind(on_create[i]);
    }
}

static void
test_identity(void)
{
    const struct mock_completion *c;

    CHECK(plugin->identity(state, mock_op_begin(), &account) == 0);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "GET");
    CHECK_STR(mock_request(0)->url, GRAPH "/me?fields=id,name");
    CHECK_STR(mock_header(0, "Authorization"), "Bearer " LONG);
    CHECK(!strstr(mock_request(0)->url, LONG));
    mock_respond(200, NULL,
                 "{\"name\":\"Jane Doe\",\"id\":\"10211111111111111\"}");
    c = mock_completion();
    check_kind(HERALD_OUTCOME_DONE);
    CHECK(c->message == NULL);
    CHECK_STR(c->identity_id, "10211111111111111");
    CHECK_STR(c->username, "Jane Doe");
    CHECK(!c->has_credentials);

    /* An empty id is no identity, as in the code exchange. */
    CHECK(plugin->identity(state, mock_op_begin(), &account) == 0);
    mock_respond(200, NULL, "{\"name\":\"Jane Doe\",\"id\":\"\"}");
    check_kind(HERALD_OUTCOME_RETRY_LATER);
    CHECK(!mock_completion()->has_identity);

    /* A long message is cut on a character boundary. */
    {
        char body[2200];
        size_t n = 0;

        n += (size_t)snprintf(body, sizeof(body),
                              "{\"error\":{\"code\":100,\"message\":\"");
        for (int i = 0; i < 600; i++) {
            memcpy(body + n, "\xc3\xa9", 2);
            n += 2;
        }
        snprintf(body + n, sizeof(body) - n, "\"}}");
        CHECK(plugin->identity(state, mock_op_begin(), &account) == 0);
        mock_respond(400, NULL, body);
        check_kind(HERALD_OUTCOME_REJECTED);
        n = strlen(mock_completion()->message);
        CHECK(n > 400 && n < 512 && n % 2 == 0);
    }
}

static void
test_refresh(void)
{
    const struct mock_completion *c;

    /* Still valid: re-exchanged with fb_exchange_token. */
    CHECK(plugin->refresh(state, mock_op_begin(), &account) == 0);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "GET");
    CHECK(starts(mock_request(0)->url, GRAPH "/oauth/access_token?"));
    CHECK_STR(mock_field(0, "grant_type"), "fb_exchange_token");
    CHECK_STR(mock_field(0, "client_id"), "app-1");
    CHECK_STR(mock_field(0, "client_secret"), SECRET);
    CHECK_STR(mock_field(0, "fb_exchange_token"), LONG);
    mock_respond(200, NULL,
                 "{\"access_token\":\"user-token-NEW\",\"token_type\":"
                 "\"bearer\",\"expires_in\":5184000}");
    c = mock_completion();
    check_kind(HERALD_OUTCOME_DONE);
    CHECK(c->has_credentials);
    CHECK_STR(c->access_token, "user-token-NEW");
    CHECK(c->refresh_token == NULL);
    CHECK(c->access_expires_at == mock_now_ms + 5184000000LL);
    CHECK(c->hard_deadline == c->access_expires_at);
    CHECK(json_equal(c->extra, creds.extra));

    /* An absurd lifetime is cut to 1e11 s, not overflowed. */
    CHECK(plugin->refresh(state, mock_op_begin(), &account) == 0);
    mock_respond(200, NULL,
                 "{\"access_token\":\"user-token-NEW\",\"expires_in\":1e300}");
    check_kind(HERALD_OUTCOME_DONE);
    CHECK(mock_completion()->access_expires_at ==
          mock_now_ms + 100000000000000LL);

    /* No expires_in: the old deadline stays. */
    CHECK(plugin->refresh(state, mock_op_begin(), &account) == 0);
    mock_respond(200, NULL, "{\"access_token\":\"user-token-NEW\"}");
    check_kind(HERALD_OUTCOME_DONE);
    CHECK(mock_completion()->hard_deadline == creds.access_expires_at);

    /* Expired meanwhile at Facebook. */
    CHECK(plugin->refresh(state, mock_op_begin(), &account) == 0);
    mock_respond(400, NULL, cases[0].body);
    check_kind(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_EXPIRED);

    /* Past its expiry here: no request, the person must log in. */
    creds.access_expires_at = mock_now_ms - 1;
    CHECK(plugin->refresh(state, mock_op_begin(), &account) == 0);
    CHECK(mock_request_count() == 0);
    check_kind(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_EXPIRED);
    CHECK_CONTAINS(mock_completion()->message, "log in again");
    reset_account();

    /* A transient failure. */
    CHECK(plugin->refresh(state, mock_op_begin(), &account) == 0);
    mock_fail(HERALD_TRANSPORT_TIMEOUT);
    check_kind(HERALD_OUTCOME_RETRY_LATER);
}

static void
test_publish(void)
{
    const char *const one[] = {"https://cdn.test/a.jpg", NULL};
    const char *const two[] = {"https://cdn.test/a.jpg",
                               "https://cdn.test/b.jpg", NULL};
    struct herald_post post = {.id = 2,
                               .text = "Fresh bread today",
                               .link = "https://bakery.test/?a=1&b=2",
                               .target = "111"};
    const struct mock_completion *c;

    /* Text and link to the feed, with the Page token. */
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, GRAPH "/111/feed");
    CHECK(!mock_request(0)->repeatable); /* Facebook may post a repeat */
    CHECK_STR(mock_header(0, "Authorization"), "Bearer " PAGE1);
    CHECK_STR(mock_header(0, "Content-Type"),
              "application/x-www-form-urlencoded");
    CHECK_STR(mock_request(0)->body,
              "message=Fresh%20bread%20today"
              "&link=https%3A%2F%2Fbakery.test%2F%3Fa%3D1%26b%3D2");
    CHECK_STR(mock_field(0, "message"), "Fresh bread today");
    mock_respond(200, NULL, "{\"id\":\"111_123202222222\"}");
    c = mock_completion();
    check_kind(HERALD_OUTCOME_DONE);
    CHECK_STR(c->remote_id, "111_123202222222");
    CHECK_STR(c->remote_url, "https://www.facebook.com/111_123202222222");
    CHECK(c->message == NULL);

    /* A link alone. */
    post.text = "";
    post.target = "222";
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    CHECK_STR(mock_request(0)->url, GRAPH "/222/feed");
    CHECK_STR(mock_header(0, "Authorization"), "Bearer " PAGE2);
    CHECK_STR(mock_request(0)->body,
              "link=https%3A%2F%2Fbakery.test%2F%3Fa%3D1%26b%3D2");
    mock_respond(200, NULL, "{\"id\":\"222_1\"}");
    check_kind(HERALD_OUTCOME_DONE);

    /* An image with text and link: the link ends the caption. */
    post.text = "Rye";
    post.target = "111";
    post.media = one;
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    CHECK_STR(mock_request(0)->url, GRAPH "/111/photos");
    CHECK_STR(mock_field(0, "url"), "https://cdn.test/a.jpg");
    CHECK_STR(mock_field(0, "caption"), "Rye\n\nhttps://bakery.test/?a=1&b=2");
    CHECK(mock_field(0, "message") == NULL);
    CHECK(mock_field(0, "link") == NULL);
    mock_respond(200, NULL,
                 "{\"id\":\"123202299999999\",\"post_id\":\"111_777\"}");
    check_kind(HERALD_OUTCOME_DONE);
    CHECK_STR(mock_completion()->remote_id, "111_777");
    CHECK_STR(mock_completion()->remote_url,
              "https://www.facebook.com/111_777");

    /* An image alone; a photo answer without post_id uses id. */
    post.text = NULL;
    post.link = NULL;
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    CHECK_STR(mock_request(0)->body, "url=https%3A%2F%2Fcdn.test%2Fa.jpg");
    mock_respond(200, NULL, "{\"id\":\"555\"}");
    check_kind(HERALD_OUTCOME_DONE);
    CHECK_STR(mock_completion()->remote_id, "555");

    /* Refused before any request. */
    post.media = two;
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    CHECK(mock_request_count() == 0);
    check_kind(HERALD_OUTCOME_REJECTED);
    post.media = NULL;
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    CHECK(mock_request_count() == 0);
    check_kind(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(mock_completion()->message, "needs text");
    post.text = "hello";
    post.target = "999";
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    CHECK(mock_request_count() == 0);
    check_kind(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(mock_completion()->message, "not one of the account's");
    post.target = NULL;
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    CHECK(mock_request_count() == 0);
    check_kind(HERALD_OUTCOME_REJECTED);

    /* A message that quotes the Page token is withheld. */
    post.target = "111";
    CHECK(plugin->publish(state, mock_op_begin(), &account, &post) == 0);
    mock_respond(400, NULL,
                 "{\"error\":{\"message\":\"bad " PAGE1 "\",\"code\":100}}");
    check_kind(HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(mock_completion()->message, "withheld");
}

static void
test_revoke(void)
{
    CHECK(plugin->revoke(state, mock_op_begin(), &account) == 0);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "DELETE");
    CHECK_STR(mock_request(0)->url, GRAPH "/me/permissions");
    CHECK_STR(mock_header(0, "Authorization"), "Bearer " LONG);
    mock_respond(200, NULL, "{\"success\":true}");
    check_kind(HERALD_OUTCOME_DONE);

    /* Access already gone is what revoking wanted. */
    CHECK(plugin->revoke(state, mock_op_begin(), &account) == 0);
    mock_respond(400, NULL, cases[2].body);
    check_kind(HERALD_OUTCOME_DONE);

    CHECK(plugin->revoke(state, mock_op_begin(), &account) == 0);
    mock_respond(200, NULL, "{\"success\":false}");
    check_kind(HERALD_OUTCOME_RETRY_LATER);

    CHECK(plugin->revoke(state, mock_op_begin(), &account) == 0);
    mock_respond(500, NULL, cases[19].body);
    check_kind(HERALD_OUTCOME_RETRY_LATER);

    /* An account without a token. */
    creds.access_token = NULL;
    CHECK(plugin->identity(state, mock_op_begin(), &account) == 0);
    CHECK(mock_request_count() == 0);
    check_kind(HERALD_OUTCOME_ACCESS_LOST);
    CHECK(mock_completion()->outcome.reason == HERALD_ACCESS_INVALID);
    reset_account();
}

int
main(void)
{
    json_t *config = make_config("v25.0", 2, 3);

    plugin = herald_plugin_entry();
    CHECK(plugin != NULL);
    if (!plugin)
        return check_done();
    test_descriptor();
    test_init();
    CHECK(plugin->init(mock_host(), config, &state) == 0);
    reset_account();
    test_authorize_url();
    test_exchange();
    test_exchange_paging();
    test_exchange_errors();
    test_identity();
    test_replies();
    test_transport();
    test_refresh();
    test_publish();
    test_revoke();
    mock_op_begin();
    plugin->fini(state);
    json_decref(config);
    json_decref(creds.extra);
    return check_done();
}
