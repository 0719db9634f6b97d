/*
 * facebook.c - the Facebook (Pages) network plugin: descriptor and setup.
 *
 * A person logs in through Facebook's login dialog; the plugin turns the
 * code into a short-lived user token, that into a long-lived one (about
 * 60 days, the account's hard deadline), reads who the person is and the
 * Pages they manage with a Page token for each. The Pages are the
 * account's posting targets; posts go to one Page with its Page token.
 * There is no refresh token: when the long-lived token ends, the person
 * logs in again (docs/networks/facebook.md).
 *
 * This file owns the descriptor, the configuration, the login URL, the
 * identity check and revocation. The core calls every operation on its
 * loop thread; each ends in exactly one host->complete().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "facebook.h"

#define FB_VERSION         "v25.0"
#define FB_LOGIN_BASE      "https://www.facebook.com"
#define FB_GRAPH_BASE      "https://graph.facebook.com"
#define FB_PAGES_LIMIT     100
#define FB_PAGES_REQUESTS  20
#define FB_PAGES_LIMIT_MAX 1000
#define FB_REQUESTS_MAX    100

#define FB_JSON_STR(s) "\"" s "\""

static const struct herald_config_key fb_schema[] = {
    {"api_version", HERALD_CONF_STRING, 0, 0, FB_JSON_STR(FB_VERSION),
     "Graph API version in every path, such as v25.0"},
    {"login_base_url", HERALD_CONF_URL, 0, 0, FB_JSON_STR(FB_LOGIN_BASE),
     "where the login dialog is: {login_base_url}/{api_version}/dialog/oauth"},
    {"graph_base_url", HERALD_CONF_URL, 0, 0, FB_JSON_STR(FB_GRAPH_BASE),
     "where the Graph API is: {graph_base_url}/{api_version}/..."},
    {"pages_limit", HERALD_CONF_INTEGER, 0, 0, HERALD_STR(FB_PAGES_LIMIT),
     "Pages asked for per /me/accounts request (1..1000)"},
    {"pages_max_requests", HERALD_CONF_INTEGER, 0, 0,
     HERALD_STR(FB_PAGES_REQUESTS),
     "most /me/accounts requests one connection makes (1..100)"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const char *const fb_scopes[] = {
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "business_management",
    NULL,
};

/* Text limit: 63,206 code points, a figure no Meta page states. */
static const struct herald_content_rules fb_rules = {
    .max_text = 63206,
    .counting = HERALD_COUNT_CODEPOINTS,
    .media = HERALD_MEDIA_ALLOWED,
    .max_media = 1,
    .text_required = 0,
    .link_allowed = 1,
    .target_required = 1,
};

static const char *
conf_string(const json_t *config, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(config, key));

    return s ? s : fallback;
}

static long long
conf_int(const json_t *config, const char *key, long long fallback)
{
    json_t *v = json_object_get(config, key);

    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

/* Copies a base URL without its trailing slashes. */
static char *
base_url(const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == '/')
        n--;
    return strndup(s, n);
}

/* Returns 1 when v is "v<digits>.<digits>". */
static int
version_ok(const char *v)
{
    const char *p = v + 1;
    size_t major;
    size_t minor;

    if (v[0] != 'v')
        return 0;
    major = strspn(p, "0123456789");
    if (major == 0 || p[major] != '.')
        return 0;
    minor = strspn(p + major + 1, "0123456789");
    return minor > 0 && p[major + 1 + minor] == '\0';
}

static void
fb_fini(void *state)
{
    struct fb *fb = state;

    if (!fb)
        return;
    free(fb->login_base);
    free(fb->graph_base);
    free(fb);
}

/* Checks what the schema cannot: the version's shape and the ranges. */
static int
check_config(const struct fb *fb)
{
    const struct herald_host *host = fb->host;

    if (!fb->client_id || !fb->client_secret) {
        host->log(NULL, LOG_ERR,
                  "config: 'client_id' and 'client_secret' "
                  "are required");
        return -EINVAL;
    }
    if (!version_ok(fb->version)) {
        host->log(NULL, LOG_ERR,
                  "config key 'api_version': expected v<major>.<minor> "
                  "such as \"v25.0\", got '%s'",
                  fb->version);
        return -EINVAL;
    }
    if (fb->pages_limit < 1 || fb->pages_limit > FB_PAGES_LIMIT_MAX) {
        host->log(NULL, LOG_ERR,
                  "config key 'pages_limit': expected 1..%d, got %lld",
                  FB_PAGES_LIMIT_MAX, fb->pages_limit);
        return -EINVAL;
    }
    if (fb->pages_requests < 1 || fb->pages_requests > FB_REQUESTS_MAX) {
        host->log(NULL, LOG_ERR,
                  "config key 'pages_max_requests': expected 1..%d, got "
                  "%lld",
                  FB_REQUESTS_MAX, fb->pages_requests);
        return -EINVAL;
    }
    return 0;
}

static int
fb_init(const struct herald_host *host, const json_t *config, void **state)
{
    struct fb *fb = calloc(1, sizeof(*fb));
    int rc;

    if (!fb)
        return -ENOMEM;
    fb->host = host;
    fb->client_id = conf_string(config, "client_id", NULL);
    fb->client_secret = conf_string(config, "client_secret", NULL);
    fb->version = conf_string(config, "api_version", FB_VERSION);
    fb->scopes = json_object_get(config, "scopes");
    fb->pages_limit = conf_int(config, "pages_limit", FB_PAGES_LIMIT);
    fb->pages_requests =
        conf_int(config, "pages_max_requests", FB_PAGES_REQUESTS);
    fb->login_base =
        base_url(conf_string(config, "login_base_url", FB_LOGIN_BASE));
    fb->graph_base =
        base_url(conf_string(config, "graph_base_url", FB_GRAPH_BASE));
    rc = fb->login_base && fb->graph_base ? check_config(fb) : -ENOMEM;
    if (rc < 0) {
        fb_fini(fb);
        return rc;
    }
    *state = fb;
    return 0;
}

/* Appends the scopes, comma-separated, as Facebook's dialog wants. */
static void
add_scopes(struct fb_buf *b, const struct fb *fb)
{
    struct fb_buf list = {0};
    size_t i;
    json_t *v;

    if (json_is_array(fb->scopes)) {
        json_array_foreach(fb->scopes, i, v)
        {
            if (!json_is_string(v))
                continue;
            if (list.len)
                fb_buf_add(&list, ",");
            fb_buf_add(&list, json_string_value(v));
        }
    } else {
        for (i = 0; fb_scopes[i]; i++) {
            if (list.len)
                fb_buf_add(&list, ",");
            fb_buf_add(&list, fb_scopes[i]);
        }
    }
    if (list.failed)
        b->failed = 1;
    else if (list.len)
        fb_buf_param(b, fb, "scope", list.s);
    fb_buf_free(&list);
}

static int
fb_authorize_url(void *state, const struct herald_authorize_request *req,
                 char **url)
{
    struct fb *fb = state;
    struct fb_buf b = {0};

    fb_buf_add(&b, fb->login_base);
    fb_buf_add(&b, "/");
    fb_buf_add(&b, fb->version);
    fb_buf_add(&b, "/dialog/oauth?");
    fb_buf_param(&b, fb, "client_id", fb->client_id);
    fb_buf_param(&b, fb, "redirect_uri", req->redirect_uri);
    fb_buf_param(&b, fb, "state", req->state);
    fb_buf_param(&b, fb, "response_type", "code");
    add_scopes(&b, fb);
    if (b.failed) {
        fb_buf_free(&b);
        return -ENOMEM;
    }
    *url = b.s;
    return 0;
}

/* A one-request operation on an account: identity or revoke. */
struct fb_account_call {
    struct fb *fb;
    struct herald_op *op;
    const struct herald_account *account; /* borrowed until complete() */
};

/* Completes a one-request operation and frees it. */
static void
call_finish(struct fb_account_call *call, struct fb_outcome *out,
            const struct herald_result *result)
{
    const char *secrets[] = {call->account->creds->access_token,
                             call->fb->client_secret};

    fb_complete(call->fb, call->op, out, result, secrets, 2);
    free(call);
}

/* Starts a one-request operation with the account's user token. */
static int
call_start(struct fb *fb, struct herald_op *op,
           const struct herald_account *account, const char *what,
           const char *method, const char *path, herald_http_done_fn done)
{
    struct fb_account_call *call;
    struct fb_buf url = {0};
    struct fb_outcome out = {0};
    int rc;

    if (!account->creds || !account->creds->access_token) {
        fb_outcome_set(&out, HERALD_OUTCOME_ACCESS_LOST,
                       "no Facebook user token is stored for the account");
        out.o.reason = HERALD_ACCESS_INVALID;
        fb_complete(fb, op, &out, NULL, NULL, 0);
        return 0;
    }
    call = calloc(1, sizeof(*call));
    if (!call)
        return -ENOMEM;
    call->fb = fb;
    call->op = op;
    call->account = account;
    fb_buf_graph(&url, fb, path);
    rc = url.failed ? -ENOMEM
                    : fb_send(fb, op, what, method, url.s,
                              account->creds->access_token, NULL, done, call);
    fb_buf_free(&url);
    if (rc < 0)
        free(call);
    return rc;
}

static void
identity_done(struct herald_op *op, const struct herald_http_response *resp,
              void *udata)
{
    struct fb_account_call *call = udata;
    struct fb_outcome out;
    struct herald_identity id = {0};
    struct herald_result result = {.identity = &id};
    json_t *body;

    (void)op;
    body = fb_read(call->fb, resp, FB_CALL_READ, "GET /me", &out);
    if (body) {
        id.id = json_string_value(json_object_get(body, "id"));
        id.display_name = json_string_value(json_object_get(body, "name"));
        id.username = id.display_name ? id.display_name : id.id;
        if (id.id && *id.id)
            fb_outcome_set(&out, HERALD_OUTCOME_DONE, "%s", "");
        else
            fb_unreadable(resp, FB_CALL_READ, "GET /me", &out);
    }
    call_finish(call, &out,
                out.o.kind == HERALD_OUTCOME_DONE ? &result : NULL);
    json_decref(body);
}

static int
fb_identity(void *state, struct herald_op *op,
            const struct herald_account *account)
{
    return call_start(state, op, account, "GET /me", "GET",
                      "/me?fields=id,name", identity_done);
}

/*
 * Reads the answer to DELETE /me/permissions. A token Facebook no longer
 * accepts means the app's access is gone already, which is what revoking
 * wanted: that ends DONE too.
 */
static void
revoke_done(struct herald_op *op, const struct herald_http_response *resp,
            void *udata)
{
    struct fb_account_call *call = udata;
    struct fb_outcome out;
    json_t *body;

    (void)op;
    body =
        fb_read(call->fb, resp, FB_CALL_READ, "DELETE /me/permissions", &out);
    if (body && json_is_true(json_object_get(body, "success")))
        fb_outcome_set(&out, HERALD_OUTCOME_DONE, "%s", "");
    else if (body)
        fb_unreadable(resp, FB_CALL_READ, "DELETE /me/permissions", &out);
    else if (out.o.kind == HERALD_OUTCOME_ACCESS_LOST &&
             out.o.reason != HERALD_ACCESS_PERMISSION_MISSING)
        out.o.kind = HERALD_OUTCOME_DONE;
    call_finish(call, &out, NULL);
    json_decref(body);
}

static int
fb_revoke(void *state, struct herald_op *op,
          const struct herald_account *account)
{
    return call_start(state, op, account, "DELETE /me/permissions", "DELETE",
                      "/me/permissions", revoke_done);
}

static const struct herald_plugin fb_plugin = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .size = sizeof(struct herald_plugin),
    .signature = HERALD_BUILD_SIGNATURE,
    .name = "facebook",
    .display_name = "Facebook",
    .version = "1.0.0",
    /*
     * Not HERALD_CAP_DEDUPLICATES: Facebook refuses only a feed post that
     * repeats the Page's previous one (code 506), and never a repeated
     * photo, so a post whose outcome is unknown must not be resent.
     */
    .capabilities = HERALD_CAP_TARGETS | HERALD_CAP_REVOKE,
    .token_model = HERALD_TOKEN_EXCHANGE_ONLY,
    .reconnect_window = 0,
    .content = &fb_rules,
    .config_schema = fb_schema,
    .default_scopes = fb_scopes,
    .init = fb_init,
    .fini = fb_fini,
    .authorize_url = fb_authorize_url,
    .exchange = fb_exchange,
    .identity = fb_identity,
    .refresh = fb_refresh,
    .publish = fb_publish,
    .lookup = NULL,
    .revoke = fb_revoke,
};

HERALD_PLUGIN_ENTRY
{
    return &fb_plugin;
}
