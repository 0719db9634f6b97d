/*
 * test_linkedin.c - the LinkedIn plugin against the mock host.
 *
 * Every operation is started through the descriptor from
 * herald_plugin_entry(), its requests are checked field by field, and
 * each is answered with LinkedIn's documented bodies, success and
 * failure, to check the typed outcome the plugin reads
 * from it. Tokens, the client secret and the code are planted values
 * containing "PLANTED"; no outcome message may contain one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mockhost.h"

const struct herald_plugin *herald_plugin_entry(void);

#define DAY_MS   86400000LL
#define NOW0     1780000000000LL
#define SUB      "782bbtaQ"
#define AT       "AT-PLANTED-access"
#define RT       "RT-PLANTED-refresh"
#define SECRET   "SECRET-PLANTED-client"
#define CODE     "CODE-PLANTED-auth"
#define TOKEN    "https://www.linkedin.com/oauth/v2/accessToken"
#define USERINFO "https://api.linkedin.com/v2/userinfo"
#define REST     "https://api.linkedin.com/rest"
#define REDIRECT "https://herald.example.com/v1/oauth/callback"

static const struct herald_plugin *plugin;
static void *member_state; /* organizations off */
static void *org_state;    /* organizations on */

static struct herald_credentials creds;
static json_t *account_targets;
static struct herald_account account = {
    .id = 7, .remote_id = SUB, .creds = &creds};

static const char *const json_headers[] = {"Content-Type: application/json",
                                           NULL};

/* ---- helpers ------------------------------------------------------- */

static json_t *
config(int organizations, const char *version)
{
    return json_pack(
        "{s:b, s:s, s:s, s:s, s:[s,s,s], s:s, s:s, s:s, s:s, s:s, s:s, "
        "s:b, s:i, s:i}",
        "enabled", 1, "client_id", "cid-123", "client_secret", SECRET,
        "redirect_uri", REDIRECT, "scopes", "openid", "profile",
        "w_member_social", "authorize_url",
        "https://www.linkedin.com/oauth/v2/authorization", "token_url", TOKEN,
        "userinfo_url", USERINFO, "rest_url", REST, "feed_url",
        "https://www.linkedin.com/feed/update/", "api_version", version,
        "organizations", organizations, "timeout_ms", 0, "upload_timeout_ms",
        120000);
}

/* Checks the operation completed exactly once, with no planted value in
 * its message, and returns the completion. */
static const struct mock_completion *
done(void)
{
    const struct mock_completion *c = mock_completion();
    const char *m = c->outcome.message ? c->outcome.message : "";

    CHECK(c->completed == 1);
    CHECK(strstr(m, "PLANTED") == NULL);
    return c;
}

static void
set_creds(const char *refresh, int64_t deadline)
{
    creds.access_token = AT;
    creds.refresh_token = refresh;
    creds.access_expires_at = NOW0 + 60 * DAY_MS;
    creds.hard_deadline = deadline;
    creds.extra = NULL;
}

/* Returns the request body of request i parsed as JSON (new reference). */
static json_t *
body_json(size_t i)
{
    const struct mock_request *r = mock_request(i);

    return r && r->body ? json_loads(r->body, 0, NULL) : NULL;
}

/* Returns a query field of a URL, decoded (malloc()ed), or NULL. */
static char *
url_field(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    size_t n = strlen(name);

    for (q = q ? q + 1 : ""; *q;) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);

        if (len > n && strncmp(q, name, n) == 0 && q[n] == '=') {
            char *out = malloc(len);
            size_t o = 0;

            for (size_t i = n + 1; i < len; i++) {
                if (q[i] == '%' && i + 2 < len) {
                    char hex[3] = {q[i + 1], q[i + 2], 0};
                    out[o++] = (char)strtol(hex, NULL, 16);
                    i += 2;
                } else {
                    out[o++] = q[i] == '+' ? ' ' : q[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        q += len + (end ? 1 : 0);
    }
    return NULL;
}

/* ---- descriptor and init ------------------------------------------- */

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
    const struct herald_content_rules *r = plugin->content;

    CHECK(plugin->abi_major == HERALD_ABI_MAJOR);
    CHECK(plugin->abi_minor == HERALD_ABI_MINOR);
    CHECK(plugin->size == sizeof(struct herald_plugin));
    CHECK_STR(plugin->signature, HERALD_BUILD_SIGNATURE);
    CHECK_STR(plugin->name, "linkedin");
    CHECK_STR(plugin->display_name, "LinkedIn");
    CHECK(plugin->version != NULL);
    CHECK(plugin->token_model == HERALD_TOKEN_FIXED_DEADLINE_REFRESH);
    CHECK(plugin->reconnect_window == 2592000);
    CHECK(plugin->capabilities ==
          (HERALD_CAP_REFRESH | HERALD_CAP_TARGETS | HERALD_CAP_DEDUPLICATES));
    CHECK(r->max_text == 3000);
    CHECK(r->counting == HERALD_COUNT_CODEPOINTS);
    CHECK(r->media == HERALD_MEDIA_ALLOWED);
    CHECK(r->max_media == 1);
    CHECK(r->text_required);
    CHECK(r->link_allowed);
    CHECK_STR(plugin->default_scopes[0], "openid");
    CHECK_STR(plugin->default_scopes[1], "profile");
    CHECK_STR(plugin->default_scopes[2], "w_member_social");
    CHECK(plugin->default_scopes[3] == NULL);
    CHECK(plugin->lookup == NULL);
    CHECK(plugin->revoke == NULL);

    CHECK_STR(schema_key("authorize_url")->default_json,
              "\"https://www.linkedin.com/oauth/v2/authorization\"");
    CHECK_STR(schema_key("token_url")->default_json, "\"" TOKEN "\"");
    CHECK_STR(schema_key("userinfo_url")->default_json, "\"" USERINFO "\"");
    CHECK_STR(schema_key("rest_url")->default_json, "\"" REST "\"");
    CHECK_STR(schema_key("api_version")->default_json, "\"202601\"");
    CHECK_STR(schema_key("organizations")->default_json, "false");
    CHECK(schema_key("token_url")->type == HERALD_CONF_URL);
    CHECK(schema_key("organizations")->type == HERALD_CONF_BOOLEAN);
    for (const struct herald_config_key *k = plugin->config_schema; k->name;
         k++) {
        json_t *def = json_loads(k->default_json, JSON_DECODE_ANY, NULL);

        CHECK(def != NULL);
        CHECK(!k->secret && !k->required);
        json_decref(def);
        for (size_t i = 0; common[i]; i++)
            CHECK(strcmp(k->name, common[i]) != 0);
    }
}

static void
test_init(void)
{
    json_t *bad = config(0, "2026-01");
    json_t *missing = config(0, "202601");
    void *state = NULL;

    CHECK(plugin->init(mock_host(), bad, &state) == -EINVAL);
    json_object_del(missing, "token_url");
    CHECK(plugin->init(mock_host(), missing, &state) == -EINVAL);
    json_object_set_new(missing, "token_url", json_string(TOKEN));
    json_object_set_new(missing, "timeout_ms", json_integer(-1));
    CHECK(plugin->init(mock_host(), missing, &state) == -EINVAL);
    json_decref(bad);
    json_decref(missing);
}

/* ---- authorization URL ---------------------------------------------- */

static void
test_authorize_url(void)
{
    struct herald_authorize_request req = {.state = "st/ate+1",
                                           .redirect_uri = REDIRECT};
    char *url = NULL;
    char *f;

    CHECK(plugin->authorize_url(member_state, &req, &url) == 0);
    CHECK(url &&
          strncmp(url, "https://www.linkedin.com/oauth/v2/authorization?",
                  48) == 0);
    CHECK_STR(f = url_field(url, "response_type"), "code");
    free(f);
    CHECK_STR(f = url_field(url, "client_id"), "cid-123");
    free(f);
    CHECK_STR(f = url_field(url, "redirect_uri"), REDIRECT);
    free(f);
    CHECK_STR(f = url_field(url, "state"), "st/ate+1");
    free(f);
    CHECK_STR(f = url_field(url, "scope"), "openid profile w_member_social");
    free(f);
    CHECK(strstr(url, "scope=openid%20profile%20w_member_social") != NULL);
    CHECK(strstr(url, "code_challenge") == NULL);
    CHECK(strstr(url, "PLANTED") == NULL);
    free(url);

    CHECK(plugin->authorize_url(org_state, &req, &url) == 0);
    CHECK_STR(f = url_field(url, "scope"),
              "openid profile w_member_social w_organization_social "
              "rw_organization_admin");
    free(f);
    free(url);
}

static void
test_authorize_url_no_duplicate_scope(void)
{
    json_t *c = config(1, "202601");
    struct herald_authorize_request req = {.state = "s",
                                           .redirect_uri = REDIRECT};
    void *state = NULL;
    char *url = NULL;
    char *f;

    json_object_set_new(c, "scopes",
                        json_pack("[s,s]", "openid", "w_organization_social"));
    CHECK(plugin->init(mock_host(), c, &state) == 0);
    CHECK(plugin->authorize_url(state, &req, &url) == 0);
    CHECK_STR(f = url_field(url, "scope"),
              "openid w_organization_social rw_organization_admin");
    free(f);
    free(url);
    plugin->fini(state);
    json_decref(c);
}

/* ---- exchange -------------------------------------------------------- */

static const char *const userinfo_body =
    "{\"sub\":\"" SUB "\",\"name\":\"Jane Doe\",\"given_name\":\"Jane\","
    "\"family_name\":\"Doe\",\"picture\":\"https://media.licdn.com/x\","
    "\"locale\":{\"country\":\"US\",\"language\":\"en\"}}";

static struct herald_exchange_request exchange_req = {
    .code = CODE, .code_verifier = NULL, .redirect_uri = REDIRECT};

/* Starts an exchange and checks its token request. */
static void
start_exchange(void *state)
{
    CHECK(plugin->exchange(state, mock_op_begin(), &exchange_req) == 0);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, TOKEN);
    CHECK_STR(mock_header(0, "Content-Type"),
              "application/x-www-form-urlencoded");
    CHECK(mock_header(0, "Authorization") == NULL);
    CHECK_STR(mock_field(0, "grant_type"), "authorization_code");
    CHECK_STR(mock_field(0, "code"), CODE);
    CHECK_STR(mock_field(0, "client_id"), "cid-123");
    CHECK_STR(mock_field(0, "client_secret"), SECRET);
    CHECK_STR(mock_field(0, "redirect_uri"), REDIRECT);
    CHECK(mock_field(0, "code_verifier") == NULL);
}

static void
check_userinfo_request(size_t i)
{
    CHECK_STR(mock_request(i)->method, "GET");
    CHECK_STR(mock_request(i)->url, USERINFO);
    CHECK_STR(mock_header(i, "Authorization"), "Bearer " AT);
    CHECK(mock_header(i, "LinkedIn-Version") == NULL);
}

static void
test_exchange_without_refresh(void)
{
    const struct mock_completion *c;

    mock_now_ms = NOW0;
    start_exchange(member_state);
    mock_respond(200, json_headers,
                 "{\"access_token\":\"" AT "\",\"expires_in\":5184000,"
                 "\"scope\":\"openid,profile,w_member_social\"}");
    CHECK(mock_request_count() == 2);
    check_userinfo_request(1);
    mock_respond(200, json_headers, userinfo_body);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(c->has_credentials);
    CHECK_STR(c->access_token, AT);
    CHECK(c->refresh_token == NULL);
    CHECK(c->access_expires_at == NOW0 + 5184000000LL);
    /* No refresh token: the member must be back when the token ends. */
    CHECK(c->hard_deadline == NOW0 + 5184000000LL);
    CHECK(c->has_identity);
    CHECK_STR(c->identity_id, SUB);
    CHECK_STR(c->username, "Jane Doe");
    CHECK_STR(c->display_name, "Jane Doe");
    CHECK(c->targets == NULL);
    CHECK(mock_pending() == 0);
}

static void
test_exchange_with_refresh(void)
{
    const struct mock_completion *c;

    mock_now_ms = NOW0;
    start_exchange(member_state);
    mock_respond(200, json_headers,
                 "{\"access_token\":\"" AT "\",\"expires_in\":5184000,"
                 "\"refresh_token\":\"" RT "\","
                 "\"refresh_token_expires_in\":31536000,"
                 "\"scope\":\"openid,profile,w_member_social\","
                 "\"id_token\":\"eyJ.PLANTED.x\"}");
    mock_respond(200, json_headers,
                 "{\"sub\":\"" SUB "\",\"given_name\":\"Jane\","
                 "\"family_name\":\"Doe\"}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->refresh_token, RT);
    CHECK(c->access_expires_at == NOW0 + 5184000000LL);
    CHECK(c->hard_deadline == NOW0 + 31536000000LL);
    CHECK_STR(c->username, "Jane Doe");
}

/* Answers the token request of a new exchange with status and body and
 * returns the completion. */
static const struct mock_completion *
exchange_token_fails(long status, const char *body)
{
    start_exchange(member_state);
    mock_respond(status, json_headers, body);
    CHECK(mock_request_count() == 1);
    return done();
}

static void
test_exchange_token_errors(void)
{
    const struct mock_completion *c;

    c = exchange_token_fails(
        400, "{\"error\":\"invalid_request\",\"error_description\":\"Unable "
             "to retrieve access token: appid/redirect uri/code verifier "
             "does not match authorization code. Or authorization code "
             "expired. Or external member binding exists\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK(c->outcome.http_status == 400);
    CHECK_CONTAINS(c->outcome.message,
                   "invalid_request: Unable to retrieve access token");
    CHECK(!c->has_credentials);

    c = exchange_token_fails(401, "{\"error\":\"invalid_client\","
                                  "\"error_description\":\"Client "
                                  "authentication failed\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(c->outcome.message, "Client authentication failed");

    c = exchange_token_fails(400, "{\"error\":\"invalid_grant\","
                                  "\"error_description\":\"The code "
                                  "was already used\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);

    c = exchange_token_fails(500, "");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    CHECK(c->outcome.http_status == 500);

    c = exchange_token_fails(200, "<html>not json</html>");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    c = exchange_token_fails(200, "{\"expires_in\":5184000}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    c = exchange_token_fails(
        429, "{\"serviceErrorCode\":101,\"message\":\"Resource level "
             "throttle limit for calls to this resource is reached.\","
             "\"status\":429}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RATE_LIMITED);

    start_exchange(member_state);
    mock_fail(HERALD_TRANSPORT_CONNECT);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    start_exchange(member_state);
    mock_fail(HERALD_TRANSPORT_TIMEOUT);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
}

/* Runs an exchange whose userinfo answer is status and body. */
static const struct mock_completion *
exchange_userinfo_fails(long status, const char *body)
{
    start_exchange(member_state);
    mock_respond(200, json_headers,
                 "{\"access_token\":\"" AT "\",\"expires_in\":5184000}");
    mock_respond(status, json_headers, body);
    return done();
}

static void
test_exchange_userinfo_errors(void)
{
    const struct mock_completion *c;

    c = exchange_userinfo_fails(
        401, "{\"serviceErrorCode\":65600,\"message\":\"Invalid access "
             "token\",\"status\":401}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_INVALID);
    CHECK(!c->has_credentials);

    c = exchange_userinfo_fails(
        403, "{\"serviceErrorCode\":100,\"message\":\"Not enough "
             "permissions to access: GET /userinfo\",\"status\":403}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_PERMISSION_MISSING);
    CHECK_STR(c->outcome.message,
              "Not enough permissions to access: GET /userinfo");

    c = exchange_userinfo_fails(200, "{\"name\":\"no sub\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    c = exchange_userinfo_fails(503, "");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    CHECK_STR(c->outcome.message, "LinkedIn answered HTTP 503");
}

/* Runs an exchange with organizations on up to the ACL request. */
static void
start_org_exchange(void)
{
    start_exchange(org_state);
    mock_respond(200, json_headers,
                 "{\"access_token\":\"" AT "\",\"expires_in\":5184000}");
    mock_respond(200, json_headers, userinfo_body);
    CHECK(mock_request_count() == 3);
    CHECK_STR(mock_request(2)->method, "GET");
    CHECK_STR(mock_request(2)->url,
              REST "/organizationAcls?q=roleAssignee&role=ADMINISTRATOR"
                   "&state=APPROVED&count=100");
    CHECK_STR(mock_header(2, "Authorization"), "Bearer " AT);
    CHECK_STR(mock_header(2, "LinkedIn-Version"), "202601");
    CHECK_STR(mock_header(2, "X-Restli-Protocol-Version"), "2.0.0");
}

static const char *const acls_body =
    "{\"paging\":{\"start\":0,\"count\":100,\"links\":[]},\"elements\":["
    "{\"roleAssignee\":\"urn:li:person:" SUB "\",\"state\":\"APPROVED\","
    "\"role\":\"ADMINISTRATOR\",\"organization\":\"urn:li:organization:111\"},"
    "{\"roleAssignee\":\"urn:li:person:" SUB "\",\"state\":\"APPROVED\","
    "\"role\":\"ADMINISTRATOR\",\"organization\":\"urn:li:organization:222\"},"
    "{\"roleAssignee\":\"urn:li:person:" SUB "\",\"state\":\"REQUESTED\","
    "\"role\":\"ADMINISTRATOR\",\"organization\":\"urn:li:organization:333\"},"
    "{\"roleAssignee\":\"urn:li:person:" SUB "\",\"state\":\"APPROVED\","
    "\"role\":\"ANALYST\",\"organization\":\"urn:li:organization:444\"},"
    "{\"roleAssignee\":\"urn:li:person:" SUB "\",\"state\":\"APPROVED\","
    "\"role\":\"ADMINISTRATOR\",\"organization\":\"urn:li:organization:111\"}"
    "]}";

static void
check_target(json_t *targets, size_t i, const char *id, const char *name)
{
    json_t *t = json_array_get(targets, i);

    CHECK_STR(json_string_value(json_object_get(t, "id")), id);
    CHECK_STR(json_string_value(json_object_get(t, "name")), name);
    CHECK_STR(json_string_value(json_object_get(t, "kind")), "organization");
}

static void
test_exchange_organizations(void)
{
    const struct mock_completion *c;

    start_org_exchange();
    mock_respond(200, json_headers, acls_body);
    CHECK(mock_request_count() == 4);
    CHECK_STR(mock_request(3)->url, REST "/organizations?ids=List(111,222)");
    CHECK_STR(mock_header(3, "LinkedIn-Version"), "202601");
    CHECK_STR(mock_header(3, "X-Restli-Protocol-Version"), "2.0.0");
    mock_respond(200, json_headers,
                 "{\"results\":{\"111\":{\"id\":111,\"localizedName\":"
                 "\"Acme\",\"vanityName\":\"acme\"},\"222\":{\"id\":222,"
                 "\"name\":{\"localized\":{\"en_US\":\"Globex\"}}}},"
                 "\"statuses\":{\"111\":200,\"222\":200},\"errors\":{}}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(json_array_size(c->targets) == 2);
    check_target(c->targets, 0, "111", "Acme");
    check_target(c->targets, 1, "222", "Globex");
    CHECK_STR(c->identity_id, SUB);

    /* Names unavailable: the organizations are still targets. */
    start_org_exchange();
    mock_respond(200, json_headers, acls_body);
    mock_respond(500, json_headers, "");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(json_array_size(c->targets) == 2);
    check_target(c->targets, 0, "111", "111");

    /* No organizations at all. */
    start_org_exchange();
    mock_respond(200, json_headers, "{\"elements\":[]}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(json_is_array(c->targets) && json_array_size(c->targets) == 0);
    CHECK(mock_request_count() == 3);

    /* The app lacks the organization scope: the member still connects. */
    start_org_exchange();
    mock_respond(403, json_headers,
                 "{\"serviceErrorCode\":100,\"message\":\"Not enough "
                 "permissions to access: GET /organizationAcls\","
                 "\"status\":403}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->access_token, AT);
    CHECK(json_array_size(c->targets) == 0);

    start_org_exchange();
    mock_fail(HERALD_TRANSPORT_BROKEN);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
}

/* ---- identity -------------------------------------------------------- */

static const struct mock_completion *
identity_answer(long status, const char *const *headers, const char *body)
{
    CHECK(plugin->identity(member_state, mock_op_begin(), &account) == 0);
    CHECK(mock_request_count() == 1);
    check_userinfo_request(0);
    if (body)
        mock_respond(status, headers, body);
    else
        mock_fail((enum herald_transport)status);
    return done();
}

static const char *const invalid_body =
    "{\"serviceErrorCode\":65600,\"message\":\"Invalid access token\","
    "\"status\":401}";
static const char *const revoked_body =
    "{\"status\":401,\"serviceErrorCode\":65601,\"code\":"
    "\"REVOKED_ACCESS_TOKEN\",\"message\":\"The token used in the request "
    "has been revoked by the user\"}";
static const char *const expired_body =
    "{\"status\":401,\"serviceErrorCode\":65602,\"code\":"
    "\"EXPIRED_ACCESS_TOKEN\",\"message\":\"The token used in the request "
    "has expired\"}";
static const char *const expired_v1_body =
    "{\"errorCode\":0,\"message\":\"The token used in the request is "
    "expired.\",\"requestId\":\"5LVAAP7YZ2\",\"status\":401,"
    "\"timestamp\":1392084765723}";
static const char *const permission_body =
    "{\"serviceErrorCode\":100,\"message\":\"Not enough permissions to "
    "access: POST /rest/posts\",\"status\":403}";
static const char *const throttle_body =
    "{\"serviceErrorCode\":101,\"message\":\"Resource level throttle limit "
    "for calls to this resource is reached.\",\"status\":429}";

static void
test_identity(void)
{
    const struct mock_completion *c;
    static const char *const retry_after[] = {"Retry-After: 120", NULL};
    static const char *const huge_retry_after[] = {
        "Retry-After: 9223372036854775807", NULL};

    mock_now_ms = NOW0 + 5 * 3600000LL;
    set_creds(NULL, 0);
    c = identity_answer(200, json_headers, userinfo_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->identity_id, SUB);
    CHECK_STR(c->username, "Jane Doe");
    CHECK(!c->has_credentials);

    c = identity_answer(401, json_headers, invalid_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_INVALID);
    CHECK(c->outcome.http_status == 401);
    CHECK_STR(c->outcome.message, "Invalid access token");

    c = identity_answer(401, json_headers, revoked_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_REVOKED);

    /* Expired without a refresh token: only the member can fix it. */
    c = identity_answer(401, json_headers, expired_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_EXPIRED);
    c = identity_answer(401, json_headers, expired_v1_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_EXPIRED);

    /* With one, a refresh fixes it. */
    set_creds(RT, NOW0 + 365 * DAY_MS);
    c = identity_answer(401, json_headers, expired_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_TOKEN_EXPIRED);
    c = identity_answer(401, json_headers, expired_v1_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_TOKEN_EXPIRED);
    c = identity_answer(401, json_headers, revoked_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_REVOKED);
    c = identity_answer(401, NULL, "");
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_INVALID);
    CHECK_STR(c->outcome.message, "LinkedIn answered HTTP 401");

    c = identity_answer(403, json_headers, permission_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_PERMISSION_MISSING);

    c = identity_answer(429, retry_after, throttle_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RATE_LIMITED);
    CHECK(c->outcome.retry_at == mock_now_ms + 120000);
    /* A wait too long to count in milliseconds is cut to 1e11 s. */
    c = identity_answer(429, huge_retry_after, throttle_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RATE_LIMITED);
    CHECK(c->outcome.retry_at == mock_now_ms + 100000000000000LL);
    CHECK(c->outcome.scope == HERALD_RATE_USER);
    CHECK_CONTAINS(c->outcome.message, "throttle limit");

    /* Without Retry-After: daily limits reset at midnight UTC. */
    c = identity_answer(429, json_headers, throttle_body);
    CHECK(c->outcome.retry_at == (mock_now_ms / DAY_MS + 1) * DAY_MS);
    c = identity_answer(429, json_headers,
                        "{\"serviceErrorCode\":101,\"message\":\"Resource "
                        "level throttle APPLICATION DAY limit for calls to "
                        "this resource is reached.\",\"status\":429}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RATE_LIMITED);
    CHECK(c->outcome.scope == HERALD_RATE_APP);

    c = identity_answer(500, json_headers, "{\"message\":\"Internal\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    c = identity_answer(504, NULL, "<html>gateway</html>");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    CHECK(c->outcome.http_status == 504);
    c = identity_answer(200, json_headers, "{not json");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    c = identity_answer(HERALD_TRANSPORT_BROKEN, NULL, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    c = identity_answer(HERALD_TRANSPORT_TIMEOUT, NULL, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    c = identity_answer(HERALD_TRANSPORT_CANCELED, NULL, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
}

/* ---- refresh --------------------------------------------------------- */

static void
start_refresh(void)
{
    CHECK(plugin->refresh(member_state, mock_op_begin(), &account) == 0);
    CHECK(mock_request_count() == 1);
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, TOKEN);
    CHECK_STR(mock_header(0, "Content-Type"),
              "application/x-www-form-urlencoded");
    CHECK_STR(mock_field(0, "grant_type"), "refresh_token");
    CHECK_STR(mock_field(0, "refresh_token"), creds.refresh_token);
    CHECK_STR(mock_field(0, "client_id"), "cid-123");
    CHECK_STR(mock_field(0, "client_secret"), SECRET);
    CHECK(mock_field(0, "redirect_uri") == NULL);
}

static const struct mock_completion *
refresh_fails(long status, const char *body)
{
    start_refresh();
    if (body)
        mock_respond(status, json_headers, body);
    else
        mock_fail((enum herald_transport)status);
    return done();
}

static void
test_refresh_without_token(void)
{
    const struct mock_completion *c;

    set_creds(NULL, NOW0 + 60 * DAY_MS);
    CHECK(plugin->refresh(member_state, mock_op_begin(), &account) == 0);
    CHECK(mock_request_count() == 0);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_EXPIRED);
    CHECK_CONTAINS(c->outcome.message, "no refresh token");
    CHECK(!c->has_credentials);
}

static void
test_refresh_keeps_deadline(void)
{
    const struct mock_completion *c;
    int64_t consent = NOW0;
    int64_t deadline = consent + 365 * DAY_MS;

    /* Day 59: a new access token for 60 days, 306 days left. */
    mock_now_ms = consent + 59 * DAY_MS;
    set_creds(RT, deadline);
    start_refresh();
    mock_respond(200, json_headers,
                 "{\"access_token\":\"AT-PLANTED-2\",\"expires_in\":5184000,"
                 "\"refresh_token\":\"" RT "\","
                 "\"refresh_token_expires_in\":26438400,"
                 "\"scope\":\"openid,profile,w_member_social\"}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->access_token, "AT-PLANTED-2");
    CHECK_STR(c->refresh_token, RT);
    CHECK(c->access_expires_at == mock_now_ms + 60 * DAY_MS);
    CHECK(c->hard_deadline == deadline);
    CHECK(!c->has_identity);

    /* Day 360: both end in five days, at the same deadline. */
    mock_now_ms = consent + 360 * DAY_MS;
    start_refresh();
    mock_respond(200, json_headers,
                 "{\"access_token\":\"AT-PLANTED-3\",\"expires_in\":432000,"
                 "\"refresh_token\":\"RT-PLANTED-new\","
                 "\"refresh_token_expires_in\":432000}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->refresh_token, "RT-PLANTED-new");
    CHECK(c->hard_deadline == deadline);
    CHECK(c->access_expires_at == deadline);

    /* Absurd lifetimes are cut to 1e11 s, not overflowed into the
     * past. */
    start_refresh();
    mock_respond(200, json_headers,
                 "{\"access_token\":\"AT-PLANTED-4\","
                 "\"expires_in\":9223372036854775807,"
                 "\"refresh_token\":\"RT-PLANTED-new\","
                 "\"refresh_token_expires_in\":9223372036854775807}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(c->hard_deadline == mock_now_ms + 100000000000000LL);
    CHECK(c->access_expires_at == mock_now_ms + 100000000000000LL);

    /* No refresh fields: keep the token and the deadline held. */
    start_refresh();
    mock_respond(200, json_headers,
                 "{\"access_token\":\"AT-PLANTED-4\",\"expires_in\":5184000}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->refresh_token, RT);
    CHECK(c->hard_deadline == deadline);
}

static void
test_refresh_errors(void)
{
    const struct mock_completion *c;
    const char *dead = "{\"error\":\"invalid_grant\",\"error_description\":"
                       "\"Token has been expired or revoked.\"}";
    int64_t deadline = NOW0 + 365 * DAY_MS;

    /* Before the deadline, a dead refresh token was revoked. */
    mock_now_ms = NOW0 + 100 * DAY_MS;
    set_creds(RT, deadline);
    c = refresh_fails(400, dead);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_REVOKED);
    CHECK(c->outcome.http_status == 400);
    CHECK_STR(c->outcome.message,
              "invalid_grant: Token has been expired or revoked.");
    CHECK(!c->has_credentials);

    /* At or past it, it expired. */
    mock_now_ms = deadline;
    c = refresh_fails(400, dead);
    CHECK(c->outcome.reason == HERALD_ACCESS_EXPIRED);

    /* Deadline unknown: the text decides, expiry by default. */
    set_creds(RT, 0);
    c = refresh_fails(400, dead);
    CHECK(c->outcome.reason == HERALD_ACCESS_EXPIRED);
    c = refresh_fails(400, "{\"error\":\"invalid_grant\","
                           "\"error_description\":\"The token was "
                           "revoked\"}");
    CHECK(c->outcome.reason == HERALD_ACCESS_REVOKED);

    c = refresh_fails(400, "{\"error\":\"invalid_request\","
                           "\"error_description\":\"Invalid refresh "
                           "token\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_INVALID);

    c = refresh_fails(401, "{\"error\":\"invalid_client\","
                           "\"error_description\":\"Client authentication "
                           "failed\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);

    c = refresh_fails(429, throttle_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RATE_LIMITED);
    c = refresh_fails(502, "");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    c = refresh_fails(200, "not json");
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    c = refresh_fails(HERALD_TRANSPORT_TIMEOUT, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    c = refresh_fails(HERALD_TRANSPORT_CONNECT, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
}

/* ---- publish --------------------------------------------------------- */

static const char *const created_headers[] = {
    "x-restli-id: urn:li:share:7141138937766391808", NULL};

static void
check_post_request(size_t i)
{
    CHECK_STR(mock_request(i)->method, "POST");
    CHECK_STR(mock_request(i)->url, REST "/posts");
    CHECK(mock_request(i)->repeatable); /* LinkedIn refuses a repeat */
    CHECK_STR(mock_header(i, "Authorization"), "Bearer " AT);
    CHECK_STR(mock_header(i, "LinkedIn-Version"), "202601");
    CHECK_STR(mock_header(i, "X-Restli-Protocol-Version"), "2.0.0");
    CHECK_STR(mock_header(i, "Content-Type"), "application/json");
}

/* Starts publishing post on state and returns the number of requests. */
static size_t
start_publish(void *state, struct herald_post *post)
{
    CHECK(plugin->publish(state, mock_op_begin(), &account, post) == 0);
    return mock_request_count();
}

static void
test_publish_text(void)
{
    struct herald_post post = {.id = 1, .text = "Hello from herald"};
    const struct mock_completion *c;
    json_t *body;
    json_t *dist;

    mock_now_ms = NOW0;
    set_creds(NULL, NOW0 + 60 * DAY_MS);
    CHECK(start_publish(member_state, &post) == 1);
    check_post_request(0);
    body = body_json(0);
    CHECK_STR(json_string_value(json_object_get(body, "author")),
              "urn:li:person:" SUB);
    CHECK_STR(json_string_value(json_object_get(body, "commentary")),
              "Hello from herald");
    CHECK_STR(json_string_value(json_object_get(body, "visibility")),
              "PUBLIC");
    CHECK_STR(json_string_value(json_object_get(body, "lifecycleState")),
              "PUBLISHED");
    CHECK(json_is_false(json_object_get(body, "isReshareDisabledByAuthor")));
    dist = json_object_get(body, "distribution");
    CHECK_STR(json_string_value(json_object_get(dist, "feedDistribution")),
              "MAIN_FEED");
    CHECK(json_is_array(json_object_get(dist, "targetEntities")));
    CHECK(json_is_array(
        json_object_get(dist, "thirdPartyDistributionChannels")));
    CHECK(json_object_get(body, "content") == NULL);
    json_decref(body);

    mock_respond(201, created_headers, "");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK(c->outcome.http_status == 201);
    CHECK_STR(c->remote_id, "urn:li:share:7141138937766391808");
    CHECK_STR(c->remote_url, "https://www.linkedin.com/feed/update/"
                             "urn:li:share:7141138937766391808/");
    CHECK(c->checkpoint == NULL);
}

static void
test_publish_escaping(void)
{
    struct herald_post post = {
        .id = 2,
        .text =
            "a\\b|c{d}e@f[g]h(i)j<k>l#m*n_o~p, caf\xc3\xa9 \xf0\x9f\x8e\x89"
            " & \"q\" 100% ok."};
    json_t *body;

    CHECK(start_publish(member_state, &post) == 1);
    body = body_json(0);
    CHECK_STR(json_string_value(json_object_get(body, "commentary")),
              "a\\\\b\\|c\\{d\\}e\\@f\\[g\\]h\\(i\\)j\\<k\\>l\\#m\\*n\\_o"
              "\\~p, caf\xc3\xa9 \xf0\x9f\x8e\x89 & \"q\" 100% ok.");
    json_decref(body);
    mock_respond(201, created_headers, "");
    CHECK(done()->outcome.kind == HERALD_OUTCOME_DONE);
}

static void
test_publish_link(void)
{
    struct herald_post post = {
        .id = 3, .text = "Read this", .link = "https://example.com/a_b?x=1"};
    json_t *body;
    json_t *article;

    CHECK(start_publish(member_state, &post) == 1);
    body = body_json(0);
    article = json_object_get(json_object_get(body, "content"), "article");
    CHECK_STR(json_string_value(json_object_get(article, "source")),
              "https://example.com/a_b?x=1");
    CHECK_STR(json_string_value(json_object_get(article, "title")),
              "https://example.com/a_b?x=1");
    CHECK_STR(json_string_value(json_object_get(body, "commentary")),
              "Read this");
    json_decref(body);
    mock_respond(201, created_headers, "");
    CHECK(done()->outcome.kind == HERALD_OUTCOME_DONE);
}

static const struct mock_completion *
publish_answer(long status, const char *const *headers, const char *body)
{
    struct herald_post post = {.id = 4, .text = "Hello again"};

    CHECK(start_publish(member_state, &post) == 1);
    if (body)
        mock_respond(status, headers, body);
    else
        mock_fail((enum herald_transport)status);
    return done();
}

static void
test_publish_errors(void)
{
    const struct mock_completion *c;

    c = publish_answer(
        422, json_headers,
        "{\"errorDetailType\":\"com.linkedin.common.error.BadRequest\","
        "\"message\":\"com.linkedin.content.common.exception."
        "BadRequestResponseException: Content is a duplicate of "
        "urn:li:share:7141138937766391808\",\"errorDetails\":{"
        "\"inputErrors\":[{\"description\":\"Duplicate post is detected\","
        "\"input\":{},\"code\":\"DUPLICATE_POST\"}]},\"status\":422}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_DUPLICATE);
    CHECK(c->outcome.http_status == 422);
    CHECK_STR(c->remote_id, "urn:li:share:7141138937766391808");
    CHECK_STR(c->remote_url, "https://www.linkedin.com/feed/update/"
                             "urn:li:share:7141138937766391808/");

    c = publish_answer(
        422, json_headers,
        "{\"errorDetails\":{\"inputErrors\":[{\"code\":\"DUPLICATE_POST\"}]},"
        "\"message\":\"Duplicate\",\"status\":422}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_DUPLICATE);
    CHECK(c->remote_id == NULL);

    c = publish_answer(
        400, json_headers,
        "{\"errorDetailType\":\"com.linkedin.common.error.BadRequest\","
        "\"message\":\"com.linkedin.content.common.exception."
        "BadRequestResponseException: ShareCommentary text length (8694 "
        "characters) exceeded the maximum allowed (3000 characters)\","
        "\"errorDetails\":{\"inputErrors\":[{\"description\":\"Size of "
        "array cannot be higher than the maxLength\",\"input\":{},\"code\":"
        "\"FIELD_ARRAY_SIZE_TOO_HIGH\",\"maxLength\":3000}]},\"status\":400}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(c->outcome.message, "exceeded the maximum allowed (3000");

    c = publish_answer(422, json_headers,
                       "{\"message\":\"ERROR :: /author :: field is "
                       "required but not found and has no default "
                       "value\\n\",\"status\":422}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_STR(c->outcome.message, "ERROR :: /author :: field is required "
                                  "but not found and has no default value");

    c = publish_answer(400, json_headers,
                       "{\"status\":400,\"code\":\"ILLEGAL_ARGUMENT\","
                       "\"message\":\"Request body could not be converted "
                       "to data map\"}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);

    c = publish_answer(401, json_headers, invalid_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_INVALID);
    c = publish_answer(401, json_headers, revoked_body);
    CHECK(c->outcome.reason == HERALD_ACCESS_REVOKED);
    c = publish_answer(401, json_headers, expired_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_EXPIRED);
    set_creds(RT, NOW0 + 365 * DAY_MS);
    c = publish_answer(401, json_headers, expired_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_TOKEN_EXPIRED);
    set_creds(NULL, NOW0 + 60 * DAY_MS);

    c = publish_answer(403, json_headers, permission_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(c->outcome.reason == HERALD_ACCESS_PERMISSION_MISSING);
    CHECK_STR(c->outcome.message,
              "Not enough permissions to access: POST /rest/posts");

    c = publish_answer(429, json_headers, throttle_body);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RATE_LIMITED);
    CHECK(c->outcome.scope == HERALD_RATE_USER);
    CHECK(c->outcome.retry_at > mock_now_ms);

    /* The post may exist: never retried blindly. */
    c = publish_answer(500, json_headers,
                       "{\"message\":\"Internal Server "
                       "Error\",\"status\":500}");
    CHECK(c->outcome.kind == HERALD_OUTCOME_UNKNOWN);
    CHECK(c->outcome.http_status == 500);
    c = publish_answer(503, NULL, "");
    CHECK(c->outcome.kind == HERALD_OUTCOME_UNKNOWN);
    c = publish_answer(HERALD_TRANSPORT_TIMEOUT, NULL, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_UNKNOWN);
    c = publish_answer(HERALD_TRANSPORT_BROKEN, NULL, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_UNKNOWN);
    c = publish_answer(201, json_headers, "");
    CHECK(c->outcome.kind == HERALD_OUTCOME_UNKNOWN);
    CHECK(c->remote_id == NULL);

    /* Nothing was sent. */
    c = publish_answer(HERALD_TRANSPORT_CONNECT, NULL, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    c = publish_answer(HERALD_TRANSPORT_CANCELED, NULL, NULL);
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
}

static void
test_publish_refused_locally(void)
{
    const char *two[] = {"https://cdn.example.com/1.png",
                         "https://cdn.example.com/2.png", NULL};
    struct herald_post empty = {.id = 5, .text = ""};
    struct herald_post many = {.id = 5, .text = "x", .media = two};
    struct herald_post bad = {.id = 5, .text = "bad \xff\xfe text"};
    struct herald_post org = {.id = 5, .text = "x", .target = "111"};
    const struct mock_completion *c;

    CHECK(start_publish(member_state, &empty) == 0);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(c->outcome.message, "needs text");

    CHECK(start_publish(member_state, &many) == 0);
    CHECK(done()->outcome.kind == HERALD_OUTCOME_REJECTED);

    CHECK(start_publish(member_state, &bad) == 0);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(c->outcome.message, "UTF-8");

    CHECK(start_publish(member_state, &org) == 0);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(c->outcome.message, "organizations");
}

static void
test_publish_organization(void)
{
    struct herald_post post = {
        .id = 6, .text = "From the page", .target = "111"};
    struct herald_post urn = {
        .id = 6, .text = "From the page", .target = "urn:li:organization:222"};
    struct herald_post other = {.id = 6, .text = "x", .target = "999"};
    const struct mock_completion *c;
    json_t *body;

    account_targets =
        json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "id", "111", "name",
                  "Acme", "kind", "organization", "id", "222", "name",
                  "Globex", "kind", "organization");
    account.targets = account_targets;

    CHECK(start_publish(org_state, &post) == 1);
    check_post_request(0);
    body = body_json(0);
    CHECK_STR(json_string_value(json_object_get(body, "author")),
              "urn:li:organization:111");
    json_decref(body);
    mock_respond(201, created_headers, "");
    CHECK(done()->outcome.kind == HERALD_OUTCOME_DONE);

    CHECK(start_publish(org_state, &urn) == 1);
    body = body_json(0);
    CHECK_STR(json_string_value(json_object_get(body, "author")),
              "urn:li:organization:222");
    json_decref(body);
    /* A page refusing the member is that page's business, not a lost
     * account. */
    mock_respond(403, json_headers, permission_body);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);

    CHECK(start_publish(org_state, &other) == 0);
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_CONTAINS(c->outcome.message, "not an organization");

    account.targets = NULL;
    json_decref(account_targets);
}

static const char *const image_url = "https://cdn.example.com/pic.png?sig=S";
static const char *const upload_url =
    "https://www.linkedin.com/dms-uploads/C4E10AQ/uploaded-image/0?ca=x";

/* Runs an image post up to the upload request. */
static void
image_until_upload(struct herald_post *post, const char *upload)
{
    char init[512];
    json_t *body;

    snprintf(init, sizeof(init),
             "{\"value\":{\"uploadUrlExpiresAt\":1780003600000,"
             "\"uploadUrl\":\"%s\",\"image\":\"urn:li:image:C4E10AQ\"}}",
             upload);
    CHECK(start_publish(member_state, post) == 1);
    CHECK_STR(mock_request(0)->method, "POST");
    CHECK_STR(mock_request(0)->url, REST "/images?action=initializeUpload");
    CHECK_STR(mock_header(0, "Authorization"), "Bearer " AT);
    CHECK_STR(mock_header(0, "LinkedIn-Version"), "202601");
    CHECK_STR(mock_header(0, "X-Restli-Protocol-Version"), "2.0.0");
    body = body_json(0);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(body, "initializeUploadRequest"), "owner")),
              "urn:li:person:" SUB);
    json_decref(body);
    mock_respond(200, json_headers, init);

    CHECK(mock_request_count() == 2);
    CHECK_STR(mock_request(1)->method, "GET");
    CHECK_STR(mock_request(1)->url, image_url);
    CHECK(mock_header(1, "Authorization") == NULL);
    mock_respond(200, NULL, "\x89PNG-bytes");
    CHECK(mock_request_count() == 3);
    CHECK_STR(mock_request(2)->method, "PUT");
    CHECK_STR(mock_request(2)->url, upload);
    CHECK_STR(mock_request(2)->body, "\x89PNG-bytes");
    CHECK_STR(mock_header(2, "Content-Type"), "application/octet-stream");
}

static void
test_publish_image(void)
{
    const char *media[] = {image_url, NULL};
    struct herald_post post = {.id = 8, .text = "Look", .media = media};
    struct herald_post linked = {.id = 8,
                                 .text = "Look",
                                 .media = media,
                                 .link = "https://example.com/a_b"};
    const struct mock_completion *c;
    json_t *body;
    json_t *checkpoint;

    image_until_upload(&post, upload_url);
    CHECK_STR(mock_header(2, "Authorization"), "Bearer " AT);
    mock_respond(201, NULL, "");
    checkpoint = mock_completion()->checkpoint;
    CHECK_STR(json_string_value(json_object_get(checkpoint, "image")),
              "urn:li:image:C4E10AQ");
    CHECK_STR(json_string_value(json_object_get(checkpoint, "author")),
              "urn:li:person:" SUB);
    CHECK(mock_request_count() == 4);
    check_post_request(3);
    body = body_json(3);
    CHECK_STR(
        json_string_value(json_object_get(
            json_object_get(json_object_get(body, "content"), "media"), "id")),
        "urn:li:image:C4E10AQ");
    json_decref(body);
    mock_respond(201, created_headers, "");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(c->remote_id, "urn:li:share:7141138937766391808");

    /* With a link too, the link goes into the text. */
    image_until_upload(&linked, upload_url);
    mock_respond(201, NULL, "");
    body = body_json(3);
    CHECK_STR(json_string_value(json_object_get(body, "commentary")),
              "Look\n\nhttps://example.com/a\\_b");
    CHECK(json_object_get(json_object_get(body, "content"), "article") ==
          NULL);
    json_decref(body);
    mock_respond(201, created_headers, "");
    CHECK(done()->outcome.kind == HERALD_OUTCOME_DONE);

    /* An upload URL elsewhere never sees the token. */
    image_until_upload(&post, "https://uploads.example.net/put/1");
    CHECK(mock_header(2, "Authorization") == NULL);
    mock_respond(200, NULL, "");
    mock_respond(201, created_headers, "");
    CHECK(done()->outcome.kind == HERALD_OUTCOME_DONE);
}

static void
test_publish_image_errors(void)
{
    const char *media[] = {image_url, NULL};
    struct herald_post post = {.id = 9, .text = "Look", .media = media};
    const struct mock_completion *c;
    json_t *cp = json_pack("{s:s, s:s}", "image", "urn:li:image:OLD", "author",
                           "urn:li:person:" SUB);
    json_t *body;

    /* A step before the create: 5xx is only a retry. */
    CHECK(start_publish(member_state, &post) == 1);
    mock_respond(500, json_headers, "");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    CHECK(start_publish(member_state, &post) == 1);
    mock_fail(HERALD_TRANSPORT_TIMEOUT);
    CHECK(done()->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    set_creds(RT, NOW0 + 365 * DAY_MS);
    CHECK(start_publish(member_state, &post) == 1);
    mock_respond(401, json_headers, expired_body);
    CHECK(done()->outcome.kind == HERALD_OUTCOME_TOKEN_EXPIRED);
    set_creds(NULL, NOW0 + 60 * DAY_MS);

    CHECK(start_publish(member_state, &post) == 1);
    mock_respond(200, json_headers, "{\"value\":{}}");
    CHECK(done()->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    /* The image itself. */
    CHECK(start_publish(member_state, &post) == 1);
    mock_respond(200, json_headers,
                 "{\"value\":{\"uploadUrl\":\"https://www.linkedin.com/u\","
                 "\"image\":\"urn:li:image:X\"}}");
    mock_respond(404, NULL, "not found");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_STR(c->outcome.message, "cannot fetch the post's image: HTTP 404");
    CHECK(strstr(c->outcome.message, "sig=S") == NULL);

    CHECK(start_publish(member_state, &post) == 1);
    mock_respond(200, json_headers,
                 "{\"value\":{\"uploadUrl\":\"https://www.linkedin.com/u\","
                 "\"image\":\"urn:li:image:X\"}}");
    mock_respond(503, NULL, "");
    CHECK(done()->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    CHECK(start_publish(member_state, &post) == 1);
    mock_respond(200, json_headers,
                 "{\"value\":{\"uploadUrl\":\"https://www.linkedin.com/u\","
                 "\"image\":\"urn:li:image:X\"}}");
    mock_fail(HERALD_TRANSPORT_CONNECT);
    CHECK(done()->outcome.kind == HERALD_OUTCOME_RETRY_LATER);

    /* The upload. */
    image_until_upload(&post, upload_url);
    mock_respond(500, NULL, "");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_RETRY_LATER);
    CHECK(c->checkpoint == NULL);

    image_until_upload(&post, upload_url);
    mock_respond(400, json_headers, "{\"message\":\"Bad image\"}");
    c = done();
    CHECK(c->outcome.kind == HERALD_OUTCOME_REJECTED);
    CHECK_STR(c->outcome.message, "Bad image");

    /* The create after an upload. */
    image_until_upload(&post, upload_url);
    mock_respond(201, NULL, "");
    mock_fail(HERALD_TRANSPORT_BROKEN);
    CHECK(done()->outcome.kind == HERALD_OUTCOME_UNKNOWN);

    /* A retried attempt reuses the image it already uploaded. */
    post.checkpoint = cp;
    CHECK(start_publish(member_state, &post) == 1);
    check_post_request(0);
    body = body_json(0);
    CHECK_STR(
        json_string_value(json_object_get(
            json_object_get(json_object_get(body, "content"), "media"), "id")),
        "urn:li:image:OLD");
    json_decref(body);
    mock_respond(201, created_headers, "");
    CHECK(done()->outcome.kind == HERALD_OUTCOME_DONE);

    /* ...but not one uploaded for another author. */
    json_object_set_new(cp, "author", json_string("urn:li:person:other"));
    CHECK(start_publish(member_state, &post) == 1);
    CHECK_STR(mock_request(0)->url, REST "/images?action=initializeUpload");
    mock_respond(500, NULL, "");
    done();
    json_decref(cp);
}

int
main(void)
{
    json_t *member_conf = config(0, "202601");
    json_t *org_conf = config(1, "202601");

    plugin = herald_plugin_entry();
    CHECK(plugin != NULL);
    CHECK(plugin->init(mock_host(), member_conf, &member_state) == 0);
    CHECK(plugin->init(mock_host(), org_conf, &org_state) == 0);

    test_descriptor();
    test_init();
    test_authorize_url();
    test_authorize_url_no_duplicate_scope();
    test_exchange_without_refresh();
    test_exchange_with_refresh();
    test_exchange_token_errors();
    test_exchange_userinfo_errors();
    test_exchange_organizations();
    test_identity();
    test_refresh_without_token();
    test_refresh_keeps_deadline();
    test_refresh_errors();
    test_publish_text();
    test_publish_escaping();
    test_publish_link();
    test_publish_errors();
    test_publish_refused_locally();
    test_publish_organization();
    test_publish_image();
    test_publish_image_errors();

    mock_op_begin();
    plugin->fini(member_state);
    plugin->fini(org_state);
    json_decref(member_conf);
    json_decref(org_conf);
    return check_done();
}
