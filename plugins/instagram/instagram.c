/*
 * instagram.c - the Instagram network plugin (Instagram API with
 * Instagram Login): descriptor, configuration, authorization, identity
 * and refresh.
 *
 * The core loads instagram.so and calls the descriptor's operations on
 * its loop thread. Authorization is Business Login for Instagram: the
 * login page returns a code, the code buys a one-hour token at
 * api.instagram.com, that token buys a 60-day token at
 * graph.instagram.com, and /me names the professional account. The
 * 60-day token extends itself (ig_refresh_token) once it is a day old and
 * before it expires; the time it was obtained is kept in
 * credentials.extra as {"issued_at": ms} because the network does not
 * say. Publishing lives in instagram_publish.c, error reading in
 * instagram_errors.c, request building in instagram_request.c.
 *
 * Invariant: no token, secret or code leaves through a log line or an
 * outcome message; multi-step operations own a heap state freed right
 * after their one host->complete().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "instagram.h"

/* Ends op for an account that has no token to use. */
static void
no_token(const struct ig *ig, struct herald_op *op)
{
    struct ig_outcome o;

    memset(&o, 0, sizeof(o));
    ig_outcome_set(&o, HERALD_OUTCOME_ACCESS_LOST, "no access token stored");
    o.out.reason = HERALD_ACCESS_INVALID;
    ig->host->complete(op, &o.out, NULL);
}

/* Reads expires_in (seconds) into an expiry time in ms. */
static int64_t
expiry_from(const struct ig *ig, json_t *body)
{
    json_t *v = json_object_get(body, "expires_in");
    int64_t s = IG_LONG_LIVED_S;

    if (json_is_integer(v) && json_integer_value(v) > 0)
        s = json_integer_value(v) < IG_SECONDS_MAX ? json_integer_value(v)
                                                   : IG_SECONDS_MAX;
    else if (json_is_real(v) && json_real_value(v) > 0)
        s = json_real_value(v) < IG_SECONDS_MAX ? (int64_t)json_real_value(v)
                                                : IG_SECONDS_MAX;
    return ig->host->now_ms() + s * 1000;
}

/* ---- configuration --------------------------------------------------- */

/* Copies a URL config value without its trailing slashes. */
static char *
config_url(const json_t *config, const char *key)
{
    const char *v = json_string_value(json_object_get(config, key));
    char *s = v ? strdup(v) : NULL;
    size_t n = s ? strlen(s) : 0;

    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

/* Joins the configured scopes with commas, as the login page wants. */
static char *
join_scopes(const json_t *config)
{
    json_t *scopes = json_object_get(config, "scopes");
    size_t len = 1, i;
    json_t *s;
    char *out;

    json_array_foreach(scopes, i, s)
    {
        len += json_string_length(s) + 1;
    }
    out = calloc(1, len);
    if (!out)
        return NULL;
    json_array_foreach(scopes, i, s)
    {
        if (i)
            strcat(out, ",");
        strcat(out, json_string_value(s) ? json_string_value(s) : "");
    }
    return out;
}

static void
ig_fini(void *state)
{
    struct ig *ig = state;

    if (!ig)
        return;
    free(ig->scope);
    free(ig->authorize_url);
    free(ig->token_url);
    free(ig->graph_url);
    free(ig->api_prefix);
    free(ig);
}

static int
ig_init(const struct herald_host *host, const json_t *config, void **state)
{
    struct ig *ig = calloc(1, sizeof(*ig));
    const char *version =
        json_string_value(json_object_get(config, "api_version"));
    json_t *limit = json_object_get(config, "container_poll_limit");
    json_t *min_age = json_object_get(config, "refresh_min_age_s");

    if (!ig)
        return -ENOMEM;
    ig->host = host;
    ig->client_id = json_string_value(json_object_get(config, "client_id"));
    ig->client_secret =
        json_string_value(json_object_get(config, "client_secret"));
    ig->scope = join_scopes(config);
    ig->authorize_url = config_url(config, "authorize_url");
    ig->token_url = config_url(config, "token_url");
    ig->graph_url = config_url(config, "graph_url");
    ig->poll_limit =
        json_is_integer(limit) ? (long)json_integer_value(limit) : 10;
    ig->refresh_min_age_ms = json_is_integer(min_age)
                                 ? (int64_t)json_integer_value(min_age) * 1000
                                 : IG_REFRESH_MIN_AGE_MS;
    if (!ig->scope || !ig->authorize_url || !ig->token_url || !ig->graph_url) {
        host->log(NULL, LOG_ERR, "instagram: incomplete configuration");
        ig_fini(ig);
        return -EINVAL;
    }
    if (ig->refresh_min_age_ms < 0) {
        host->log(NULL, LOG_ERR,
                  "instagram: 'refresh_min_age_s' must not be negative");
        ig_fini(ig);
        return -EINVAL;
    }
    if (ig->poll_limit < 1 || ig->poll_limit > 100) {
        host->log(NULL, LOG_ERR,
                  "instagram: 'container_poll_limit' must be 1 to 100, "
                  "not %ld",
                  ig->poll_limit);
        ig_fini(ig);
        return -EINVAL;
    }
    if (version && *version) {
        if (asprintf(&ig->api_prefix, "%s/%s", ig->graph_url, version) < 0)
            ig->api_prefix = NULL;
    } else {
        ig->api_prefix = strdup(ig->graph_url);
    }
    if (!ig->api_prefix) {
        ig_fini(ig);
        return -ENOMEM;
    }
    *state = ig;
    return 0;
}

/* ---- authorization --------------------------------------------------- */

static int
ig_authorize_url(void *state, const struct herald_authorize_request *req,
                 char **url)
{
    struct ig *ig = state;
    const char *kv[] = {"client_id",
                        ig->client_id,
                        "redirect_uri",
                        req->redirect_uri,
                        "response_type",
                        "code",
                        "scope",
                        ig->scope,
                        "state",
                        req->state,
                        NULL};

    *url = ig_url(ig, ig->authorize_url, NULL, kv);
    return *url ? 0 : -ENOMEM;
}

/*
 * The exchange, as a state machine: CODE (POST the code to token_url for
 * a one-hour token) -> LONG (ig_exchange_token for the 60-day token) ->
 * ME (/me for user_id and username) -> complete.
 */
struct ig_exchange {
    struct ig *ig;
    struct herald_op *op;
    char *short_token;
    char *long_token;
    int64_t expires_at;
    int64_t issued_at;
};

static void
exchange_free(struct ig_exchange *x)
{
    ig_free_secret(x->short_token);
    ig_free_secret(x->long_token);
    free(x);
}

/* Completes the exchange with a failure and frees it. */
static void
exchange_fail(struct ig_exchange *x, const struct ig_outcome *o)
{
    x->ig->host->complete(x->op, &o->out, NULL);
    exchange_free(x);
}

static void
exchange_me_done(struct herald_op *op, const struct herald_http_response *resp,
                 void *udata)
{
    struct ig_exchange *x = udata;
    struct ig_outcome o;
    json_t *body = ig_read(x->ig, resp, IG_READ, x->long_token, &o, NULL);
    char idbuf[64];
    const char *id = ig_json_id(body, "user_id", idbuf, sizeof(idbuf));
    const char *username =
        json_string_value(json_object_get(body, "username"));
    json_t *extra = NULL;
    struct herald_credentials creds = {0};
    struct herald_identity identity = {0};
    struct herald_result result = {.credentials = &creds,
                                   .identity = &identity};

    (void)op;
    if (!body)
        return exchange_fail(x, &o);
    if (!id || !username) {
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "Instagram's /me answer has no user_id or username");
        json_decref(body);
        return exchange_fail(x, &o);
    }
    extra = json_pack("{sI}", "issued_at", (json_int_t)x->issued_at);
    creds.access_token = x->long_token;
    creds.access_expires_at = x->expires_at;
    creds.hard_deadline = x->expires_at;
    creds.extra = extra;
    identity.id = id;
    identity.username = username;
    ig_outcome_set(&o, HERALD_OUTCOME_DONE, NULL);
    x->ig->host->log(x->op, LOG_INFO, "instagram: connected '%s'", username);
    x->ig->host->complete(x->op, &o.out, &result);
    json_decref(extra);
    json_decref(body);
    exchange_free(x);
}

static void
exchange_long_done(struct herald_op *op,
                   const struct herald_http_response *resp, void *udata)
{
    struct ig_exchange *x = udata;
    struct ig *ig = x->ig;
    struct ig_outcome o;
    json_t *body = ig_read(ig, resp, IG_READ, x->short_token, &o, NULL);
    const char *token =
        json_string_value(json_object_get(body, "access_token"));
    const char *kv[] = {"fields", "user_id,username", "access_token", NULL,
                        NULL};
    char *url;

    if (!body)
        return exchange_fail(x, &o);
    if (!token || !*token) {
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "Instagram's long-lived token answer has no token");
        json_decref(body);
        return exchange_fail(x, &o);
    }
    x->long_token = strdup(token);
    x->issued_at = ig->host->now_ms();
    x->expires_at = expiry_from(ig, body);
    json_decref(body);

    kv[3] = x->long_token;
    url = x->long_token ? ig_url(ig, ig->api_prefix, "/me", kv) : NULL;
    if (!url || ig_send(ig, op, "GET", url, NULL, exchange_me_done, x) != 0) {
        ig_free_secret(url);
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "could not send the identity request");
        return exchange_fail(x, &o);
    }
    ig_free_secret(url);
}

/* Finds the token in the code exchange's answer: flat, or the nested
 * {"data": [{...}]} the business-login page shows. */
static const char *
code_answer_token(json_t *body)
{
    json_t *data = json_object_get(body, "data");
    const char *t = json_string_value(json_object_get(body, "access_token"));

    if (!t && json_is_array(data))
        t = json_string_value(
            json_object_get(json_array_get(data, 0), "access_token"));
    return t && *t ? t : NULL;
}

static void
exchange_code_done(struct herald_op *op,
                   const struct herald_http_response *resp, void *udata)
{
    struct ig_exchange *x = udata;
    struct ig *ig = x->ig;
    struct ig_outcome o;
    json_t *body = ig_read(ig, resp, IG_READ, NULL, &o, NULL);
    const char *token = code_answer_token(body);
    const char *kv[] = {"grant_type",
                        "ig_exchange_token",
                        "client_secret",
                        ig->client_secret,
                        "access_token",
                        NULL,
                        NULL};
    char *url;

    if (!body)
        return exchange_fail(x, &o);
    if (!token) {
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "Instagram's code exchange answer has no token");
        json_decref(body);
        return exchange_fail(x, &o);
    }
    x->short_token = strdup(token);
    json_decref(body);

    kv[5] = x->short_token;
    url =
        x->short_token ? ig_url(ig, ig->graph_url, "/access_token", kv) : NULL;
    if (!url ||
        ig_send(ig, op, "GET", url, NULL, exchange_long_done, x) != 0) {
        ig_free_secret(url);
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "could not send the long-lived token request");
        return exchange_fail(x, &o);
    }
    ig_free_secret(url);
}

static int
ig_exchange(void *state, struct herald_op *op,
            const struct herald_exchange_request *req)
{
    struct ig *ig = state;
    struct ig_exchange *x = calloc(1, sizeof(*x));
    const char *kv[] = {"client_id",
                        ig->client_id,
                        "client_secret",
                        ig->client_secret,
                        "grant_type",
                        "authorization_code",
                        "redirect_uri",
                        req->redirect_uri,
                        "code",
                        req->code,
                        NULL};
    char *body;
    int rc;

    if (!x)
        return -ENOMEM;
    x->ig = ig;
    x->op = op;
    body = ig_form(ig, kv);
    if (!body) {
        free(x);
        return -ENOMEM;
    }
    rc = ig_send(ig, op, "POST", ig->token_url, body, exchange_code_done, x);
    ig_free_secret(body);
    if (rc != 0)
        free(x);
    return rc;
}

/* ---- identity -------------------------------------------------------- */

struct ig_call {
    struct ig *ig;
    struct herald_op *op;
    const struct herald_account *account; /* borrowed until complete() */
};

static void
identity_done(struct herald_op *op, const struct herald_http_response *resp,
              void *udata)
{
    struct ig_call *c = udata;
    struct ig_outcome o;
    json_t *body = ig_read(c->ig, resp, IG_READ,
                           c->account->creds->access_token, &o, NULL);
    char idbuf[64];
    struct herald_identity identity = {0};
    struct herald_result result = {.identity = &identity};

    identity.id = ig_json_id(body, "user_id", idbuf, sizeof(idbuf));
    identity.username = json_string_value(json_object_get(body, "username"));
    if (body && identity.id && identity.username)
        ig_outcome_set(&o, HERALD_OUTCOME_DONE, NULL);
    else if (body)
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "Instagram's /me answer has no user_id or username");
    c->ig->host->complete(op, &o.out,
                          o.out.kind == HERALD_OUTCOME_DONE ? &result : NULL);
    json_decref(body);
    free(c);
}

/* Starts a GET on the account's behalf; c is freed by done. */
static int
call_start(struct ig *ig, struct herald_op *op,
           const struct herald_account *account, const char *base,
           const char *path, const char *const *kv, herald_http_done_fn done)
{
    struct ig_call *c = calloc(1, sizeof(*c));
    char *url = ig_url(ig, base, path, kv);
    int rc = -ENOMEM;

    if (c && url) {
        c->ig = ig;
        c->op = op;
        c->account = account;
        rc = ig_send(ig, op, "GET", url, NULL, done, c);
    }
    ig_free_secret(url);
    if (rc != 0)
        free(c);
    return rc;
}

static int
ig_identity(void *state, struct herald_op *op,
            const struct herald_account *account)
{
    struct ig *ig = state;
    const char *kv[] = {"fields", "user_id,username", "access_token", NULL,
                        NULL};

    if (!account->creds || !account->creds->access_token) {
        no_token(ig, op);
        return 0;
    }
    kv[3] = account->creds->access_token;
    return call_start(ig, op, account, ig->api_prefix, "/me", kv,
                      identity_done);
}

/* ---- refresh --------------------------------------------------------- */

/* When the account's long-lived token was obtained, in ms, or 0. */
static int64_t
issued_at(const struct herald_account *account)
{
    json_t *v = json_object_get(account->creds->extra, "issued_at");

    if (json_is_integer(v))
        return json_integer_value(v);
    /* Credentials stored without it: assume a full 60-day lifetime. */
    if (account->creds->access_expires_at > 0)
        return account->creds->access_expires_at - IG_LONG_LIVED_S * 1000;
    return 0;
}

static void
refresh_done(struct herald_op *op, const struct herald_http_response *resp,
             void *udata)
{
    struct ig_call *c = udata;
    struct ig *ig = c->ig;
    const char *old = c->account->creds->access_token;
    struct ig_outcome o;
    struct ig_error e;
    json_t *body = ig_read(ig, resp, IG_READ, old, &o, &e);
    const char *token =
        json_string_value(json_object_get(body, "access_token"));
    json_t *extra = NULL;
    struct herald_credentials creds = {0};
    struct herald_result result = {.credentials = &creds};

    if (!body && e.code == 100) {
        /* The only documented refusals of a live token are "too young"
         * (temporary) and the 190 family; wait rather than give up. */
        o.out.kind = HERALD_OUTCOME_RETRY_LATER;
        o.out.retry_at = ig->host->now_ms() + 3600LL * 1000;
    }
    if (body && (!token || !*token))
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "Instagram's refresh answer has no token");
    if (!body || !token || !*token) {
        ig->host->complete(op, &o.out, NULL);
        json_decref(body);
        free(c);
        return;
    }

    extra = c->account->creds->extra ? json_deep_copy(c->account->creds->extra)
                                     : json_object();
    if (!json_is_object(extra)) {
        json_decref(extra);
        extra = json_object();
    }
    json_object_set_new(extra, "issued_at", json_integer(ig->host->now_ms()));
    creds.access_token = token;
    creds.access_expires_at = expiry_from(ig, body);
    creds.hard_deadline = creds.access_expires_at;
    creds.extra = extra;
    ig_outcome_set(&o, HERALD_OUTCOME_DONE, NULL);
    ig->host->log(op, LOG_INFO, "instagram: token extended");
    ig->host->complete(op, &o.out, &result);
    json_decref(extra);
    json_decref(body);
    free(c);
}

/*
 * Extends the long-lived token. Refuses, without a request, a token that
 * has expired (ACCESS_LOST EXPIRED: nothing but a new login revives it)
 * and one younger than a day (RETRY_LATER at the day mark).
 */
static int
ig_refresh(void *state, struct herald_op *op,
           const struct herald_account *account)
{
    struct ig *ig = state;
    const struct herald_credentials *cr = account->creds;
    int64_t now = ig->host->now_ms();
    int64_t born;
    const char *kv[] = {"grant_type", "ig_refresh_token", "access_token", NULL,
                        NULL};
    struct ig_outcome o;

    memset(&o, 0, sizeof(o));
    if (!cr || !cr->access_token) {
        no_token(ig, op);
        return 0;
    }
    born = issued_at(account);
    kv[3] = cr->access_token;
    if (cr->access_expires_at > 0 && now >= cr->access_expires_at) {
        ig_outcome_set(&o, HERALD_OUTCOME_ACCESS_LOST,
                       "the long-lived token has expired and cannot be "
                       "extended");
        o.out.reason = HERALD_ACCESS_EXPIRED;
        ig->host->complete(op, &o.out, NULL);
        return 0;
    }
    if (born > 0 && now < born + ig->refresh_min_age_ms) {
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "the token is too young to be extended yet");
        o.out.retry_at = born + ig->refresh_min_age_ms;
        ig->host->complete(op, &o.out, NULL);
        return 0;
    }
    return call_start(ig, op, account, ig->graph_url, "/refresh_access_token",
                      kv, refresh_done);
}

/* ---- descriptor ------------------------------------------------------ */

static const struct herald_content_rules ig_rules = {
    .max_text = 2200,
    .counting = HERALD_COUNT_CODEPOINTS,
    .media = HERALD_MEDIA_REQUIRED,
    .max_media = 1,
    .text_required = 0,
    .link_allowed = 1,
    .link_separator = "\n\n",
};

static const struct herald_config_key ig_schema[] = {
    {"authorize_url", HERALD_CONF_URL, 0, 0,
     "\"https://www.instagram.com/oauth/authorize\"",
     "the Business Login for Instagram page"},
    {"token_url", HERALD_CONF_URL, 0, 0,
     "\"https://api.instagram.com/oauth/access_token\"",
     "where an authorization code is exchanged for a short-lived token"},
    {"graph_url", HERALD_CONF_URL, 0, 0, "\"https://graph.instagram.com\"",
     "the Instagram Graph API host (tokens, identity, publishing)"},
    {"api_version", HERALD_CONF_STRING, 0, 0, "\"v25.0\"",
     "the Graph API version in versioned paths; empty for none"},
    {"container_poll_limit", HERALD_CONF_INTEGER, 0, 0, "10",
     "container status polls per publish attempt before retrying later"},
    {"refresh_min_age_s", HERALD_CONF_INTEGER, 0, 0, "86400",
     "how old a token must be before Instagram extends it"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const char *const ig_scopes[] = {
    "instagram_business_basic", "instagram_business_content_publish", NULL};

static const struct herald_plugin ig_plugin = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .size = sizeof(struct herald_plugin),
    .signature = HERALD_BUILD_SIGNATURE,
    .name = "instagram",
    .display_name = "Instagram",
    .version = "1.0.0",
    .capabilities =
        HERALD_CAP_REFRESH | HERALD_CAP_LOOKUP | HERALD_CAP_DEDUPLICATES,
    .token_model = HERALD_TOKEN_SELF_EXTENDING,
    .reconnect_window = 0,
    .content = &ig_rules,
    .config_schema = ig_schema,
    .default_scopes = ig_scopes,
    .init = ig_init,
    .fini = ig_fini,
    .authorize_url = ig_authorize_url,
    .exchange = ig_exchange,
    .identity = ig_identity,
    .refresh = ig_refresh,
    .publish = ig_publish,
    .lookup = ig_lookup,
    .revoke = NULL,
};

HERALD_PLUGIN_ENTRY
{
    return &ig_plugin;
}
