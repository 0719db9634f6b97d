/*
 * twitter.c - the X network plugin: descriptor, configuration, login URL,
 * identity, and the request helpers the other files use.
 *
 * X grants access with OAuth 2.0 authorization code and PKCE (S256). An
 * access token lives two hours; with the offline.access scope a refresh
 * token comes with it, and every refresh returns a new refresh token and
 * kills the old one (HERALD_TOKEN_ROTATING_REFRESH). The core calls the
 * operations below on its loop thread; each one sends its requests
 * through host->http() and ends in exactly one host->complete().
 *
 * The invariant to keep: no token, client secret, code or verifier ever
 * reaches a log line or an outcome message (tw_set_message() scrubs
 * them), and buffers that held one are wiped before they are freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "twitter.h"

#define TW_AUTHORIZE_URL "https://x.com/i/oauth2/authorize"
#define TW_TOKEN_URL     "https://api.x.com/2/oauth2/token"
#define TW_REVOKE_URL    "https://api.x.com/2/oauth2/revoke"
#define TW_API_BASE      "https://api.x.com"
#define TW_API_VERSION   "2"
#define TW_WEB_BASE      "https://x.com"

#define TW_JSON_STRING(s) "\"" s "\""

static const struct herald_config_key tw_schema[] = {
    {"authorize_url", HERALD_CONF_URL, 0, 0, TW_JSON_STRING(TW_AUTHORIZE_URL),
     "the login page people are sent to"},
    {"token_url", HERALD_CONF_URL, 0, 0, TW_JSON_STRING(TW_TOKEN_URL),
     "the OAuth 2.0 token endpoint (code exchange and refresh)"},
    {"revoke_url", HERALD_CONF_URL, 0, 0, TW_JSON_STRING(TW_REVOKE_URL),
     "the OAuth 2.0 token revocation endpoint"},
    {"api_base", HERALD_CONF_URL, 0, 0, TW_JSON_STRING(TW_API_BASE),
     "the API host; requests go to {api_base}/{api_version}/..."},
    {"api_version", HERALD_CONF_STRING, 0, 0, TW_JSON_STRING(TW_API_VERSION),
     "the API version in request paths"},
    {"web_base", HERALD_CONF_URL, 0, 0, TW_JSON_STRING(TW_WEB_BASE),
     "where published posts are shown, for their URLs"},
    {"confidential_client", HERALD_CONF_BOOLEAN, 0, 0, "true",
     "true: authenticate with HTTP Basic client_id:client_secret (Web App); "
     "false: public client, client_id in the body only"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const char *const tw_default_scopes[] = {
    "tweet.read", "tweet.write", "users.read", "offline.access", NULL};

/* X counts every URL as 23 characters and most others as 1 or 2. */
static const struct herald_content_rules tw_rules = {
    .max_text = 280,
    .counting = HERALD_COUNT_WEIGHTED,
    .url_weight = 23,
    .media = HERALD_MEDIA_NONE,
    .max_media = 0,
    .text_required = 1,
    .link_allowed = 1,
    .link_separator = " ",
};

/* ---- small helpers ------------------------------------------------ */

/* Returns the string at key of config, or def when absent. */
static const char *
conf_str(const json_t *config, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(config, key));

    return v ? v : def;
}

void
tw_free_secret(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* Encodes len bytes of in as base64 into a new string, or NULL. */
static char *
base64(const unsigned char *in, size_t len)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    char *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;

        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *o++ = abc[(v >> 18) & 63];
        *o++ = abc[(v >> 12) & 63];
        *o++ = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? abc[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Makes "Authorization: Basic base64(id:secret)" (new string) or NULL. */
static char *
basic_header(const char *id, const char *secret)
{
    char *pair = NULL;
    char *encoded = NULL;
    char *header = NULL;

    if (asprintf(&pair, "%s:%s", id, secret) < 0)
        return NULL;
    encoded = base64((const unsigned char *)pair, strlen(pair));
    if (encoded && asprintf(&header, "Authorization: Basic %s", encoded) < 0)
        header = NULL;
    tw_free_secret(encoded);
    tw_free_secret(pair);
    return header;
}

int
tw_form_add(const struct twitter *tw, char **form, const char *name,
            const char *value)
{
    char *enc;
    char *next = NULL;
    int n;

    if (!value)
        return 0;
    enc = tw->host->url_encode(value);
    if (!enc) {
        tw_free_secret(*form);
        *form = NULL;
        return -ENOMEM;
    }
    n = asprintf(&next, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "",
                 name, enc);
    tw_free_secret(enc);
    tw_free_secret(*form);
    *form = n < 0 ? NULL : next;
    return n < 0 ? -ENOMEM : 0;
}

char *
tw_api_url(const struct twitter *tw, const char *path)
{
    char *url = NULL;

    if (asprintf(&url, "%s/%s/%s", tw->api_base, tw->api_version, path) < 0)
        return NULL;
    return url;
}

char *
tw_bearer_header(const char *token)
{
    char *h = NULL;

    if (!token || asprintf(&h, "Authorization: Bearer %s", token) < 0)
        return NULL;
    return h;
}

/* ---- calls -------------------------------------------------------- */

struct tw_call *
tw_call_new(struct twitter *tw, struct herald_op *op,
            const struct herald_account *account)
{
    struct tw_call *call = calloc(1, sizeof(*call));

    if (!call)
        return NULL;
    call->tw = tw;
    call->op = op;
    call->account = account;
    return call;
}

void
tw_finish(struct tw_call *call, const struct herald_outcome *out,
          const struct herald_result *result)
{
    call->tw->host->complete(call->op, out, result);
    json_decref(call->token);
    explicit_bzero(call, sizeof(*call));
    free(call);
}

void
tw_finish_simple(struct tw_call *call, enum herald_outcome_kind kind,
                 const char *message)
{
    struct herald_outcome out = {.kind = kind, .message = message};

    tw_finish(call, &out, NULL);
}

int
tw_post_form(struct tw_call *call, const char *url, const char *form,
             herald_http_done_fn done)
{
    const struct twitter *tw = call->tw;
    const char *headers[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json",
        tw->confidential ? tw->basic_header : NULL,
        NULL,
    };
    struct herald_http_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = form,
        .body_len = strlen(form),
    };

    return tw->host->http(call->op, &req, done, call);
}

int
tw_get_me(struct tw_call *call, const char *token, herald_http_done_fn done)
{
    const struct twitter *tw = call->tw;
    char *url = tw_api_url(tw, "users/me");
    char *auth = tw_bearer_header(token);
    const char *headers[] = {auth, "Accept: application/json", NULL};
    struct herald_http_request req = {
        .method = "GET", .url = url, .headers = headers};
    int rc = -ENOMEM;

    if (url && auth)
        rc = tw->host->http(call->op, &req, done, call);
    tw_free_secret(auth);
    free(url);
    return rc;
}

int
tw_read_identity(const struct twitter *tw,
                 const struct herald_http_response *resp, json_t **body,
                 struct herald_identity *id)
{
    json_t *data;

    *body = tw->host->json_parse(resp->body, resp->body_len);
    data = json_object_get(*body, "data");
    id->id = json_string_value(json_object_get(data, "id"));
    id->username = json_string_value(json_object_get(data, "username"));
    id->display_name = json_string_value(json_object_get(data, "name"));
    if (id->id && id->id[0] && id->username && id->username[0])
        return 0;
    json_decref(*body);
    *body = NULL;
    return -1;
}

/* ---- descriptor operations ---------------------------------------- */

static int
tw_init(const struct herald_host *host, const json_t *config, void **state)
{
    struct twitter *tw;
    const char *secret = conf_str(config, "client_secret", NULL);
    const json_t *conf = json_object_get(config, "confidential_client");

    tw = calloc(1, sizeof(*tw));
    if (!tw)
        return -ENOMEM;
    tw->host = host;
    tw->config = config;
    tw->client_id = conf_str(config, "client_id", NULL);
    tw->authorize_url = conf_str(config, "authorize_url", TW_AUTHORIZE_URL);
    tw->token_url = conf_str(config, "token_url", TW_TOKEN_URL);
    tw->revoke_url = conf_str(config, "revoke_url", TW_REVOKE_URL);
    tw->api_base = conf_str(config, "api_base", TW_API_BASE);
    tw->api_version = conf_str(config, "api_version", TW_API_VERSION);
    tw->web_base = conf_str(config, "web_base", TW_WEB_BASE);
    tw->confidential = conf ? json_is_true(conf) : 1;

    if (!tw->client_id || !tw->client_id[0] ||
        (tw->confidential && (!secret || !secret[0]))) {
        host->log(NULL, LOG_ERR,
                  "configuration lacks 'client_id' or, for a confidential "
                  "client, 'client_secret'");
        free(tw);
        return -EINVAL;
    }
    if (tw->confidential) {
        tw->basic_header = basic_header(tw->client_id, secret);
        if (!tw->basic_header) {
            free(tw);
            return -ENOMEM;
        }
    }
    *state = tw;
    return 0;
}

static void
tw_fini(void *state)
{
    struct twitter *tw = state;

    if (!tw)
        return;
    tw_free_secret(tw->basic_header);
    free(tw);
}

/* Joins the configured scopes (or the defaults) with spaces: new string. */
static char *
scope_list(const struct twitter *tw)
{
    const json_t *scopes = json_object_get(tw->config, "scopes");
    size_t n = json_is_array(scopes) ? json_array_size(scopes) : 0;
    char *out = strdup("");

    for (size_t i = 0; out && (n ? i < n : tw_default_scopes[i] != NULL);
         i++) {
        const char *s = n ? json_string_value(json_array_get(scopes, i))
                          : tw_default_scopes[i];
        char *next = NULL;

        if (!s)
            continue;
        if (asprintf(&next, "%s%s%s", out, out[0] ? " " : "", s) < 0)
            next = NULL;
        free(out);
        out = next;
    }
    return out;
}

/*
 * Builds the login URL: response_type=code, client_id, redirect_uri, the
 * space-separated scope, state and the S256 code challenge. X refuses an
 * authorization without PKCE, so a request without a challenge is EINVAL.
 */
static int
tw_authorize_url(void *state, const struct herald_authorize_request *req,
                 char **url)
{
    struct twitter *tw = state;
    char *scope;
    char *query = NULL;
    int rc;

    if (!req->code_challenge || !req->state || !req->redirect_uri)
        return -EINVAL;
    scope = scope_list(tw);
    if (!scope)
        return -ENOMEM;

    rc = tw_form_add(tw, &query, "response_type", "code");
    if (rc == 0)
        rc = tw_form_add(tw, &query, "client_id", tw->client_id);
    if (rc == 0)
        rc = tw_form_add(tw, &query, "redirect_uri", req->redirect_uri);
    if (rc == 0)
        rc = tw_form_add(tw, &query, "scope", scope);
    if (rc == 0)
        rc = tw_form_add(tw, &query, "state", req->state);
    if (rc == 0)
        rc = tw_form_add(tw, &query, "code_challenge", req->code_challenge);
    if (rc == 0)
        rc = tw_form_add(tw, &query, "code_challenge_method", "S256");
    free(scope);
    if (rc < 0)
        return rc;

    rc = asprintf(url, "%s%c%s", tw->authorize_url,
                  strchr(tw->authorize_url, '?') ? '&' : '?', query);
    free(query);
    return rc < 0 ? -ENOMEM : 0;
}

/* Reads the answer of GET /users/me for identity(). */
static void
identity_done(struct herald_op *op, const struct herald_http_response *resp,
              void *udata)
{
    struct tw_call *call = udata;
    struct herald_outcome out = {.http_status = (int)resp->status};
    struct herald_identity id = {0};
    struct herald_result result = {.identity = &id};
    json_t *body = NULL;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status != 200) {
        tw_read_error(call, resp, TW_CTX_API, &out);
        tw_finish(call, &out, NULL);
        return;
    }
    if (tw_read_identity(call->tw, resp, &body, &id) < 0) {
        out.kind = HERALD_OUTCOME_RETRY_LATER;
        out.message = "X answered /users/me without an id and username";
        tw_finish(call, &out, NULL);
        return;
    }
    out.kind = HERALD_OUTCOME_DONE;
    tw_finish(call, &out, &result);
    json_decref(body);
}

/* Fetches the account's identity with GET /2/users/me. */
static int
tw_identity(void *state, struct herald_op *op,
            const struct herald_account *account)
{
    struct tw_call *call;
    int rc;

    if (!account->creds || !account->creds->access_token)
        return -EINVAL;
    call = tw_call_new(state, op, account);
    if (!call)
        return -ENOMEM;
    rc = tw_get_me(call, account->creds->access_token, identity_done);
    if (rc < 0)
        free(call);
    return rc;
}

static const struct herald_plugin tw_plugin = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .size = sizeof(struct herald_plugin),
    .signature = HERALD_BUILD_SIGNATURE,
    .name = "twitter",
    .display_name = "X",
    .version = "1.0.0",
    .capabilities = HERALD_CAP_PKCE | HERALD_CAP_REFRESH | HERALD_CAP_REVOKE |
                    HERALD_CAP_DEDUPLICATES,
    .token_model = HERALD_TOKEN_ROTATING_REFRESH,
    .reconnect_window = 0,
    .content = &tw_rules,
    .config_schema = tw_schema,
    .default_scopes = tw_default_scopes,
    .init = tw_init,
    .fini = tw_fini,
    .authorize_url = tw_authorize_url,
    .exchange = tw_exchange,
    .identity = tw_identity,
    .refresh = tw_refresh,
    .publish = tw_publish,
    .lookup = NULL,
    .revoke = tw_revoke,
};

HERALD_PLUGIN_ENTRY
{
    return &tw_plugin;
}
