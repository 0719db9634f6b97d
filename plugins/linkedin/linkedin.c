/*
 * linkedin.c - the LinkedIn network plugin: descriptor, configuration,
 * authorization, tokens and identity.
 *
 * The core loads this plugin and calls its descriptor's operations on its
 * loop thread. A member connects through LinkedIn's authorization-code
 * flow (no PKCE, client credentials in the token request's body); the
 * plugin then asks OpenID userinfo who the member is and, when the
 * network file sets "organizations", which organizations the member
 * administers (linkedin_targets.c). Access tokens live 60 days. Apps in
 * LinkedIn's refresh programme also get a refresh token whose end is
 * fixed at the first consent: refreshing renews the access token but
 * never that end, which becomes the account's hard deadline.
 *
 * Invariant: every started operation ends in exactly one host->complete()
 * and frees its state right after; no token, secret or code ever reaches
 * a log line or an outcome message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "linkedin.h"

#define FORM_TYPE "Content-Type: application/x-www-form-urlencoded"

/* Scopes added when the network file sets "organizations": posting as an
 * organization, and finding the organizations the member administers. */
static const char *const org_scopes[] = {"w_organization_social",
                                         "rw_organization_admin", NULL};

/* What a token answer held. */
struct li_tokens {
    const char *access;  /* borrowed from the parsed body */
    const char *refresh; /* NULL when none came back */
    int64_t access_expires_at;
    int64_t refresh_expires_at; /* 0 when the answer gave no lifetime */
};

/* State of an identity or refresh operation. */
struct li_account_op {
    struct linkedin *li;
    struct herald_op *op;
    const struct herald_account *account; /* borrowed until complete() */
    char msg[LI_MSG_MAX];
};

static const char *
conf_string(const json_t *config, const char *key)
{
    return json_string_value(json_object_get(config, key));
}

/* Returns 0 when s is six digits (YYYYMM). */
static int
check_version(const char *s)
{
    size_t n = 0;

    for (; s && s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return -1;
    return n == 6 ? 0 : -1;
}

static int
li_init(const struct herald_host *host, const json_t *config, void **state)
{
    struct linkedin *li = calloc(1, sizeof(*li));
    json_t *timeout = json_object_get(config, "timeout_ms");
    json_t *upload = json_object_get(config, "upload_timeout_ms");

    if (!li)
        return -ENOMEM;
    li->host = host;
    li->client_id = conf_string(config, "client_id");
    li->client_secret = conf_string(config, "client_secret");
    li->scopes = json_object_get(config, "scopes");
    li->authorize_url = conf_string(config, "authorize_url");
    li->token_url = conf_string(config, "token_url");
    li->userinfo_url = conf_string(config, "userinfo_url");
    li->rest_url = conf_string(config, "rest_url");
    li->feed_url = conf_string(config, "feed_url");
    li->api_version = conf_string(config, "api_version");
    li->organizations = json_is_true(json_object_get(config, "organizations"));
    li->timeout_ms = (long)json_integer_value(timeout);
    li->upload_timeout_ms = (long)json_integer_value(upload);

    if (!li->client_id || !li->client_secret || !li->authorize_url ||
        !li->token_url || !li->userinfo_url || !li->rest_url ||
        !li->feed_url || !li->api_version || !json_is_array(li->scopes)) {
        host->log(NULL, LOG_ERR, "configuration lacks a required key");
        free(li);
        return -EINVAL;
    }
    if (check_version(li->api_version) != 0) {
        host->log(NULL, LOG_ERR,
                  "api_version '%s' is not a LinkedIn version (YYYYMM)",
                  li->api_version);
        free(li);
        return -EINVAL;
    }
    if (li->timeout_ms < 0 || li->upload_timeout_ms < 0) {
        host->log(NULL, LOG_ERR, "timeouts must not be negative");
        free(li);
        return -EINVAL;
    }
    *state = li;
    return 0;
}

static void
li_fini(void *state)
{
    free(state);
}

/* Returns non-zero when scope is already in the configured list. */
static int
has_scope(const struct linkedin *li, const char *scope)
{
    size_t i;
    json_t *s;

    json_array_foreach(li->scopes, i, s)
    {
        if (json_is_string(s) && strcmp(json_string_value(s), scope) == 0)
            return 1;
    }
    return 0;
}

/* Returns the scopes to ask for, space-delimited (malloc()ed), or NULL. */
static char *
scope_list(const struct linkedin *li)
{
    size_t len = 1;
    size_t i;
    json_t *s;
    char *out;

    json_array_foreach(li->scopes, i, s)
    {
        len += strlen(json_string_value(s) ? json_string_value(s) : "") + 1;
    }
    for (i = 0; org_scopes[i]; i++)
        len += strlen(org_scopes[i]) + 1;
    out = calloc(1, len);
    if (!out)
        return NULL;
    json_array_foreach(li->scopes, i, s)
    {
        if (!json_string_value(s) || !*json_string_value(s))
            continue;
        if (*out)
            strcat(out, " ");
        strcat(out, json_string_value(s));
    }
    for (i = 0; li->organizations && org_scopes[i]; i++) {
        if (has_scope(li, org_scopes[i]))
            continue;
        if (*out)
            strcat(out, " ");
        strcat(out, org_scopes[i]);
    }
    return out;
}

static int
li_authorize_url(void *state, const struct herald_authorize_request *req,
                 char **url)
{
    struct linkedin *li = state;
    char *scopes = scope_list(li);
    const char *pairs[] = {"response_type",
                           "code",
                           "client_id",
                           li->client_id,
                           "redirect_uri",
                           req->redirect_uri,
                           "state",
                           req->state,
                           "scope",
                           scopes,
                           NULL};
    char *query;
    int n;

    if (!scopes)
        return -ENOMEM;
    query = li_form(li, pairs);
    free(scopes);
    if (!query)
        return -ENOMEM;
    n = asprintf(url, "%s%c%s", li->authorize_url,
                 strchr(li->authorize_url, '?') ? '&' : '?', query);
    free(query);
    if (n < 0) {
        *url = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* A number of seconds from the network, cut to LI_SECONDS_MAX either way
 * so that it converts to milliseconds. */
static json_int_t
seconds(json_int_t s)
{
    if (s > LI_SECONDS_MAX)
        return LI_SECONDS_MAX;
    return s < -LI_SECONDS_MAX ? -LI_SECONDS_MAX : s;
}

/* Reads a successful token answer. Returns the parsed body (a new
 * reference the tokens borrow from), or NULL when it holds no token. */
static json_t *
read_tokens(const struct linkedin *li, const struct herald_http_response *resp,
            struct li_tokens *t)
{
    json_t *body = li->host->json_parse(resp->body, resp->body_len);
    json_t *expires = json_object_get(body, "expires_in");
    json_t *rexpires = json_object_get(body, "refresh_token_expires_in");
    int64_t now = li->host->now_ms();

    memset(t, 0, sizeof(*t));
    t->access = json_string_value(json_object_get(body, "access_token"));
    if (!t->access || !*t->access) {
        json_decref(body);
        return NULL;
    }
    t->refresh = json_string_value(json_object_get(body, "refresh_token"));
    if (t->refresh && !*t->refresh)
        t->refresh = NULL;
    if (json_is_integer(expires))
        t->access_expires_at =
            now + seconds(json_integer_value(expires)) * 1000;
    if (t->refresh && json_is_integer(rexpires))
        t->refresh_expires_at =
            now + seconds(json_integer_value(rexpires)) * 1000;
    return body;
}

/* Completes op with outcome kind RETRY_LATER and message why. */
static void
complete_retry(const struct linkedin *li, struct herald_op *op,
               const char *why)
{
    struct herald_outcome out = {.kind = HERALD_OUTCOME_RETRY_LATER,
                                 .message = why};

    li->host->complete(op, &out, NULL);
}

/* ---- exchange: code -> tokens -> userinfo -> organizations ---------- */

static void
connect_free(struct li_connect *c)
{
    free(c->access_token);
    free(c->refresh_token);
    free(c->id);
    free(c->name);
    json_decref(c->targets);
    json_decref(c->org_ids);
    free(c);
}

/* Ends a connection with an outcome other than DONE and frees c. */
static void
connect_fail(struct li_connect *c, const struct herald_outcome *out)
{
    c->li->host->complete(c->op, out, NULL);
    connect_free(c);
}

void
li_connect_finish(struct li_connect *c)
{
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = 200};
    struct herald_credentials creds = {
        .access_token = c->access_token,
        .refresh_token = c->refresh_token,
        .access_expires_at = c->access_expires_at,
        .hard_deadline = c->hard_deadline,
    };
    struct herald_identity id = {
        .id = c->id, .username = c->name, .display_name = c->name};
    struct herald_result result = {
        .credentials = &creds, .identity = &id, .targets = c->targets};

    c->li->host->complete(c->op, &out, &result);
    connect_free(c);
}

/* Returns the name userinfo gives: name, else given and family name,
 * else the sub (malloc()ed), or NULL when out of memory. */
static char *
userinfo_name(json_t *body, const char *sub)
{
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *given = json_string_value(json_object_get(body, "given_name"));
    const char *family =
        json_string_value(json_object_get(body, "family_name"));
    char *out = NULL;

    if (name && *name)
        return strdup(name);
    if (given && family && asprintf(&out, "%s %s", given, family) >= 0)
        return out;
    return strdup(given ? given : sub);
}

static void
connect_userinfo_done(struct herald_op *op,
                      const struct herald_http_response *resp, void *udata)
{
    struct li_connect *c = udata;
    struct herald_outcome out;
    struct li_call call = {0};
    json_t *body = NULL;
    const char *sub = NULL;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200) {
        body = c->li->host->json_parse(resp->body, resp->body_len);
        sub = json_string_value(json_object_get(body, "sub"));
    }
    if (!sub || !*sub) {
        li_api_outcome(c->li, resp, &call, &out, c->msg, NULL, NULL);
        json_decref(body);
        connect_fail(c, &out);
        return;
    }
    c->id = strdup(sub);
    c->name = userinfo_name(body, sub);
    json_decref(body);
    if (!c->id || !c->name) {
        complete_retry(c->li, c->op, "out of memory");
        connect_free(c);
        return;
    }
    if (c->li->organizations)
        li_targets_fetch(c);
    else
        li_connect_finish(c);
}

static void
connect_token_done(struct herald_op *op,
                   const struct herald_http_response *resp, void *udata)
{
    struct li_connect *c = udata;
    struct herald_outcome out;
    struct li_tokens t;
    struct li_headers h;
    json_t *body = NULL;
    int rc;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200)
        body = read_tokens(c->li, resp, &t);
    if (!body) {
        li_token_outcome(c->li, resp, 0, 0, &out, c->msg);
        connect_fail(c, &out);
        return;
    }
    c->access_token = strdup(t.access);
    c->refresh_token = t.refresh ? strdup(t.refresh) : NULL;
    c->access_expires_at = t.access_expires_at;
    /* Without a refresh token the member must log in again when the
     * access token ends; with one, when the refresh token ends. */
    c->hard_deadline = t.refresh ? t.refresh_expires_at : t.access_expires_at;
    json_decref(body);
    if (!c->access_token || (t.refresh && !c->refresh_token)) {
        complete_retry(c->li, c->op, "out of memory");
        connect_free(c);
        return;
    }

    rc = li_headers_init(&h, c->li, c->access_token, 0, NULL);
    if (rc == 0)
        rc = li_send(c->li, c->op, "GET", c->li->userinfo_url, &h, NULL, 0, 0,
                     connect_userinfo_done, c);
    li_headers_free(&h);
    if (rc != 0) {
        complete_retry(c->li, c->op, "cannot send the userinfo request");
        connect_free(c);
    }
}

static int
li_exchange(void *state, struct herald_op *op,
            const struct herald_exchange_request *req)
{
    struct linkedin *li = state;
    struct li_connect *c = calloc(1, sizeof(*c));
    const char *pairs[] = {"grant_type",
                           "authorization_code",
                           "code",
                           req->code,
                           "client_id",
                           li->client_id,
                           "client_secret",
                           li->client_secret,
                           "redirect_uri",
                           req->redirect_uri,
                           NULL};
    struct li_headers h = {.list = {FORM_TYPE, NULL}};
    char *body;
    int rc;

    if (!c)
        return -ENOMEM;
    c->li = li;
    c->op = op;
    body = li_form(li, pairs);
    if (!body) {
        free(c);
        return -ENOMEM;
    }
    rc = li_send(li, op, "POST", li->token_url, &h, body, strlen(body), 0,
                 connect_token_done, c);
    free(body);
    if (rc != 0)
        free(c);
    return rc;
}

/* ---- identity --------------------------------------------------------- */

static void
identity_done(struct herald_op *op, const struct herald_http_response *resp,
              void *udata)
{
    struct li_account_op *a = udata;
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = 200};
    struct li_call call = {.has_refresh =
                               a->account->creds->refresh_token != NULL};
    struct herald_identity id = {0};
    struct herald_result result = {.identity = &id};
    json_t *body = NULL;
    char *name = NULL;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200) {
        body = a->li->host->json_parse(resp->body, resp->body_len);
        id.id = json_string_value(json_object_get(body, "sub"));
    }
    if (id.id && *id.id) {
        name = userinfo_name(body, id.id);
        id.username = name ? name : id.id;
        id.display_name = id.username;
        a->li->host->complete(a->op, &out, &result);
    } else {
        li_api_outcome(a->li, resp, &call, &out, a->msg, NULL, NULL);
        a->li->host->complete(a->op, &out, NULL);
    }
    free(name);
    json_decref(body);
    free(a);
}

static int
li_identity(void *state, struct herald_op *op,
            const struct herald_account *account)
{
    struct linkedin *li = state;
    struct li_account_op *a = calloc(1, sizeof(*a));
    struct li_headers h;
    int rc;

    if (!a)
        return -ENOMEM;
    a->li = li;
    a->op = op;
    a->account = account;
    rc = li_headers_init(&h, li, account->creds->access_token, 0, NULL);
    if (rc == 0)
        rc = li_send(li, op, "GET", li->userinfo_url, &h, NULL, 0, 0,
                     identity_done, a);
    li_headers_free(&h);
    if (rc != 0)
        free(a);
    return rc;
}

/* ---- refresh ---------------------------------------------------------- */

static void
refresh_done(struct herald_op *op, const struct herald_http_response *resp,
             void *udata)
{
    struct li_account_op *a = udata;
    const struct herald_credentials *old = a->account->creds;
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = 200};
    struct herald_credentials creds = {.extra = old->extra};
    struct herald_result result = {.credentials = &creds};
    struct li_tokens t;
    json_t *body = NULL;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200)
        body = read_tokens(a->li, resp, &t);
    if (!body) {
        li_token_outcome(a->li, resp, 1, old->hard_deadline, &out, a->msg);
        a->li->host->complete(a->op, &out, NULL);
        free(a);
        return;
    }
    creds.access_token = t.access;
    /* Keep whatever refresh token came back, else the one we hold. */
    creds.refresh_token = t.refresh ? t.refresh : old->refresh_token;
    creds.access_expires_at = t.access_expires_at;
    /* refresh_token_expires_in counts down to the end fixed at the first
     * consent, so now + remaining stays that same end. */
    creds.hard_deadline =
        t.refresh_expires_at ? t.refresh_expires_at : old->hard_deadline;
    a->li->host->complete(a->op, &out, &result);
    json_decref(body);
    free(a);
}

static int
li_refresh(void *state, struct herald_op *op,
           const struct herald_account *account)
{
    struct linkedin *li = state;
    struct herald_outcome out = {
        .kind = HERALD_OUTCOME_ACCESS_LOST,
        .reason = HERALD_ACCESS_EXPIRED,
        .message = "LinkedIn gave this account no refresh token (the app "
                   "is not in LinkedIn's refresh programme): the member "
                   "must reauthorize before the access token ends"};
    const char *pairs[] = {"grant_type",
                           "refresh_token",
                           "refresh_token",
                           account->creds->refresh_token,
                           "client_id",
                           li->client_id,
                           "client_secret",
                           li->client_secret,
                           NULL};
    struct li_headers h = {.list = {FORM_TYPE, NULL}};
    struct li_account_op *a;
    char *body;
    int rc;

    if (!account->creds->refresh_token || !*account->creds->refresh_token) {
        li->host->complete(op, &out, NULL);
        return 0;
    }
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->li = li;
    a->op = op;
    a->account = account;
    body = li_form(li, pairs);
    if (!body) {
        free(a);
        return -ENOMEM;
    }
    rc = li_send(li, op, "POST", li->token_url, &h, body, strlen(body), 0,
                 refresh_done, a);
    free(body);
    if (rc != 0)
        free(a);
    return rc;
}

/* ---- descriptor ------------------------------------------------------- */

static const struct herald_content_rules li_rules = {
    .max_text = 3000,
    .counting = HERALD_COUNT_CODEPOINTS,
    .media = HERALD_MEDIA_ALLOWED,
    .max_media = 1,
    .text_required = 1,
    .link_allowed = 1,
};

static const struct herald_config_key li_schema[] = {
    {"authorize_url", HERALD_CONF_URL, 0, 0,
     "\"https://www.linkedin.com/oauth/v2/authorization\"",
     "LinkedIn's login and consent page"},
    {"token_url", HERALD_CONF_URL, 0, 0,
     "\"https://www.linkedin.com/oauth/v2/accessToken\"",
     "the OAuth token endpoint (code and refresh grants)"},
    {"userinfo_url", HERALD_CONF_URL, 0, 0,
     "\"https://api.linkedin.com/v2/userinfo\"",
     "the OpenID userinfo endpoint that names the member"},
    {"rest_url", HERALD_CONF_URL, 0, 0, "\"https://api.linkedin.com/rest\"",
     "base of the versioned REST API (posts, images, organizations)"},
    {"feed_url", HERALD_CONF_URL, 0, 0,
     "\"https://www.linkedin.com/feed/update/\"",
     "prefix of a published post's public URL, before its URN"},
    {"api_version", HERALD_CONF_STRING, 0, 0, "\"202601\"",
     "the LinkedIn-Version header of REST calls (YYYYMM)"},
    {"organizations", HERALD_CONF_BOOLEAN, 0, 0, "false",
     "also post as the organizations the member administers"},
    {"timeout_ms", HERALD_CONF_INTEGER, 0, 0, "0",
     "deadline of one API request in ms; 0: the core's default"},
    {"upload_timeout_ms", HERALD_CONF_INTEGER, 0, 0, "120000",
     "deadline of fetching or uploading one image in ms"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const char *const li_default_scopes[] = {"openid", "profile",
                                                "w_member_social", NULL};

static const struct herald_plugin li_plugin = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .size = sizeof(struct herald_plugin),
    .signature = HERALD_BUILD_SIGNATURE,
    .name = "linkedin",
    .display_name = "LinkedIn",
    .version = "1.0.0",
    .capabilities =
        HERALD_CAP_REFRESH | HERALD_CAP_TARGETS | HERALD_CAP_DEDUPLICATES,
    .token_model = HERALD_TOKEN_FIXED_DEADLINE_REFRESH,
    .reconnect_window = 2592000,
    .content = &li_rules,
    .config_schema = li_schema,
    .default_scopes = li_default_scopes,
    .init = li_init,
    .fini = li_fini,
    .authorize_url = li_authorize_url,
    .exchange = li_exchange,
    .identity = li_identity,
    .refresh = li_refresh,
    .publish = li_publish,
};

HERALD_PLUGIN_ENTRY
{
    return &li_plugin;
}
