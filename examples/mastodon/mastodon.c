/*
 * mastodon.c - a Mastodon network plugin for herald, built outside the
 * herald source tree against the installed SDK (pkg-config herald-plugin).
 *
 * One plugin serves one Mastodon instance (instance_url). Access is
 * OAuth 2.0 authorization code with PKCE (S256); the access token does
 * not expire and there is no refresh token (HERALD_TOKEN_NON_EXPIRING), so
 * a token lasts until the person revokes it.
 *
 *   authorize: {instance}/oauth/authorize?response_type=code&...
 *   exchange:  POST /oauth/token -> GET /api/v1/accounts/verify_credentials
 *   identity:  GET /api/v1/accounts/verify_credentials
 *   publish:   per image: GET the image, POST /api/v2/media (200 ready,
 *              202 processing -> GET /api/v1/media/:id until 200), then
 *              checkpoint, then POST /api/v1/statuses with Idempotency-Key
 *   revoke:    POST /oauth/revoke
 *
 * The Idempotency-Key is drawn once per post and kept in the post's
 * checkpoint, with the uploaded media ids, before the status is sent: a
 * resend within the instance's retention (about an hour) is answered
 * with the status already made, so the plugin declares
 * HERALD_CAP_DEDUPLICATES.
 *
 * Every operation owns one struct mst_call from its start until
 * mst_finish(), which calls host->complete() exactly once. No token,
 * client secret, code or verifier may reach a log line or an outcome
 * message: mst_set_message() scrubs them, and buffers that held one are
 * wiped before they are freed.
 */
#define _GNU_SOURCE /* asprintf, explicit_bzero, timegm */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <herald/plugin.h>

/* Answers of the token endpoint or the API. */
enum mst_context {
    MST_CTX_EXCHANGE, /* POST /oauth/token */
    MST_CTX_REVOKE,   /* POST /oauth/revoke */
    MST_CTX_API,      /* an API call that creates nothing */
    MST_CTX_MEDIA,    /* a media upload: creates nothing visible */
    MST_CTX_CREATE,   /* POST /api/v1/statuses */
};

/* Outcome messages are cut to this many bytes. */
#define MST_MESSAGE_MAX 400
/* Identity requests an exchange sends at most (a code is single-use). */
#define MST_IDENTITY_ATTEMPTS 2
/* Status requests of one publish attempt for media still processing. */
#define MST_MEDIA_POLLS 40
/* When to try again after the media outlived MST_MEDIA_POLLS. */
#define MST_MEDIA_WAIT_MS 5000

/* The plugin's state, read from the configuration at init(). */
struct mastodon {
    const struct herald_host *host;
    const json_t *config; /* borrowed until fini() */
    char *instance;       /* instance_url without a trailing '/' */
    const char *client_id;
    const char *client_secret; /* secret, borrowed from config */
    const char *visibility;
};

/* One running operation. */
struct mst_call {
    struct mastodon *m;
    struct herald_op *op;
    const struct herald_account *account;           /* NULL for exchange */
    const struct herald_exchange_request *exchange; /* exchange only */
    json_t *token; /* exchange: the token answer */
    int attempts;  /* exchange: identity requests sent */
    /* publish */
    const struct herald_post *post;
    size_t nmedia;     /* images in the post */
    json_t *media_ids; /* uploaded media ids, in post order */
    json_t *pending;   /* ids answered 202, not yet ready */
    int polls;         /* media status requests sent */
    char key[48];      /* the Idempotency-Key */
    char message[MST_MESSAGE_MAX + 1];
};

static const struct herald_config_key mst_schema[] = {
    {"instance_url", HERALD_CONF_URL, 1, 0, NULL,
     "the Mastodon instance, such as https://mastodon.social"},
    {"visibility", HERALD_CONF_STRING, 0, 0, "\"public\"",
     "who sees the posts: public, unlisted, private or direct"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const char *const mst_default_scopes[] = {
    "read:accounts", "write:statuses", "write:media", NULL};

/* 500 characters, every URL counting 23, up to four images. */
static const struct herald_content_rules mst_rules = {
    .max_text = 500,
    .counting = HERALD_COUNT_CODEPOINTS,
    .url_weight = 23,
    .media = HERALD_MEDIA_ALLOWED,
    .max_media = 4,
    .text_required = 0,
    .link_allowed = 1,
    .target_required = 0,
    .link_separator = " ",
};

/* ---- small helpers ------------------------------------------------ */

/* Overwrites and frees a string that held a secret. NULL is fine. */
static void
free_secret(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* Returns a non-empty string member of obj, or NULL. */
static const char *
nonempty(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s && s[0] ? s : NULL;
}

/* Returns "{instance}{path}" (malloc()ed) or NULL. */
static char *
api_url(const struct mastodon *m, const char *path)
{
    char *url = NULL;

    return asprintf(&url, "%s%s", m->instance, path) < 0 ? NULL : url;
}

/* Returns "Authorization: Bearer TOKEN" (malloc()ed, secret) or NULL. */
static char *
bearer(const char *token)
{
    char *h = NULL;

    if (!token || asprintf(&h, "Authorization: Bearer %s", token) < 0)
        return NULL;
    return h;
}

/*
 * Appends "&name=value" (no "&" first) to *form, the value encoded with
 * host->url_encode(). Returns 0 or -ENOMEM; on failure *form is freed and
 * set to NULL.
 */
static int
form_add(const struct mastodon *m, char **form, const char *name,
         const char *value)
{
    char *enc = m->host->url_encode(value ? value : "");
    char *next = NULL;
    int n = -1;

    if (enc)
        n = asprintf(&next, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "",
                     name, enc);
    free_secret(enc);
    free_secret(*form);
    *form = n < 0 ? NULL : next;
    return n < 0 ? -ENOMEM : 0;
}

/* Fills out with 2 * len hex digits of random (len < sizeof(out) / 2). */
static void
random_hex(const struct mastodon *m, char *out, size_t len)
{
    unsigned char bytes[32];

    m->host->random(bytes, len);
    for (size_t i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

/* ---- calls and outcomes ------------------------------------------- */

/* Allocates a call for op; NULL when out of memory. */
static struct mst_call *
call_new(struct mastodon *m, struct herald_op *op,
         const struct herald_account *account)
{
    struct mst_call *call = calloc(1, sizeof(*call));

    if (!call)
        return NULL;
    call->m = m;
    call->op = op;
    call->account = account;
    return call;
}

/* Frees a call that never started an operation. */
static void
call_free(struct mst_call *call)
{
    json_decref(call->token);
    json_decref(call->media_ids);
    json_decref(call->pending);
    explicit_bzero(call, sizeof(*call));
    free(call);
}

/* Ends the call's operation with out and result, then frees the call. */
static void
mst_finish(struct mst_call *call, const struct herald_outcome *out,
           const struct herald_result *result)
{
    call->m->host->complete(call->op, out, result);
    call_free(call);
}

/* Ends the call with kind and a fixed message (no secret). */
static void
finish_simple(struct mst_call *call, enum herald_outcome_kind kind,
              const char *message)
{
    struct herald_outcome out = {.kind = kind, .message = message};

    mst_finish(call, &out, NULL);
}

/* Returns whether s contains secret (NULL or empty never matches). */
static int
leaks(const char *s, const char *secret)
{
    return secret && secret[0] && strstr(s, secret);
}

/* Returns whether text holds any secret the call knows. */
static int
holds_secret(const struct mst_call *call, const char *text)
{
    const struct herald_credentials *creds =
        call->account ? call->account->creds : NULL;

    if (leaks(text, call->m->client_secret))
        return 1;
    if (creds && leaks(text, creds->access_token))
        return 1;
    if (call->exchange && (leaks(text, call->exchange->code) ||
                           leaks(text, call->exchange->code_verifier)))
        return 1;
    return leaks(text, nonempty(call->token, "access_token"));
}

/* Copies text into call->message, cut whole-character to
 * MST_MESSAGE_MAX bytes, withheld when it holds a secret. */
static const char *
mst_set_message(struct mst_call *call, const char *text)
{
    size_t n;

    if (holds_secret(call, text))
        text = "the instance's answer repeated a credential; withheld";
    n = strlen(text);
    if (n > MST_MESSAGE_MAX) {
        n = MST_MESSAGE_MAX;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(call->message, text, n);
    call->message[n] = '\0';
    return call->message;
}

/*
 * Reads an ISO 8601 time such as "2026-12-03T16:05:00.123456Z" or
 * "...+01:00" (X-RateLimit-Reset) into milliseconds since the epoch,
 * rounded up. Returns 0 when s is not such a time.
 */
static int64_t
iso8601_ms(const char *s)
{
    struct tm tm = {0};
    int used = 0;
    int oh = 0;
    int om = 0;
    int64_t ms = 0;
    char sign;
    time_t t;

    if (!s ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return 0;
    s += used;
    if (*s == '.') {
        size_t digits = strspn(s + 1, "0123456789");

        /* Milliseconds, rounded up: never try before the reset. */
        for (size_t i = 0; i < 3; i++)
            ms = ms * 10 + (i < digits ? s[1 + i] - '0' : 0);
        if (digits > 3 && strspn(s + 4, "0") < digits - 3)
            ms++;
        s += 1 + digits;
    }
    sign = *s;
    if (sign == 'Z' && s[1] == '\0') {
        oh = 0;
    } else if ((sign == '+' || sign == '-') &&
               sscanf(s + 1, "%2d:%2d%n", &oh, &om, &used) == 2 &&
               s[1 + used] == '\0') {
        oh = (sign == '-' ? -1 : 1) * (oh * 60 + om);
    } else {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return 0;
    return ((int64_t)t - (int64_t)oh * 60) * 1000 + ms;
}

/* The outcome of a request that got no complete answer. */
static void
read_transport(const struct herald_http_response *resp, enum mst_context ctx,
               struct herald_outcome *out)
{
    static const char *const texts[] = {
        [HERALD_TRANSPORT_CONNECT] = "could not connect to the instance",
        [HERALD_TRANSPORT_TIMEOUT] = "the instance did not answer in time",
        [HERALD_TRANSPORT_BROKEN] = "the connection to the instance broke",
        [HERALD_TRANSPORT_CANCELED] = "the request was canceled at shutdown",
    };
    unsigned t = (unsigned)resp->transport;

    out->http_status = 0;
    out->message = t < sizeof(texts) / sizeof(texts[0]) && texts[t]
                       ? texts[t]
                       : "the request to the instance failed";
    /* Anything but a failed connect may have made the status. */
    if (ctx == MST_CTX_CREATE && resp->transport != HERALD_TRANSPORT_CONNECT)
        out->kind = HERALD_OUTCOME_UNKNOWN;
    else
        out->kind = HERALD_OUTCOME_RETRY_LATER;
}

/* Sets out->message from the body's "error" (and description). */
static void
read_reason(struct mst_call *call, const struct herald_http_response *resp,
            const json_t *body, struct herald_outcome *out)
{
    const char *error = nonempty(body, "error");
    const char *desc = nonempty(body, "error_description");
    char text[MST_MESSAGE_MAX + 64];

    if (error && desc)
        snprintf(text, sizeof(text), "%s: %s", error, desc);
    else if (error)
        snprintf(text, sizeof(text), "%s", error);
    else
        snprintf(text, sizeof(text), "HTTP %ld from the instance",
                 resp->status);
    out->message = mst_set_message(call, text);
}

/* The outcome of a 401 or 403 from the API. */
static void
read_refusal(long status, const char *error, struct herald_outcome *out)
{
    const char *e = error ? error : "";

    if (status == 401) {
        /* The token was revoked, or is unknown to the instance. */
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason = strstr(e, "revoked") ? HERALD_ACCESS_REVOKED
                                           : HERALD_ACCESS_INVALID;
    } else if (strstr(e, "scope")) {
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason = HERALD_ACCESS_PERMISSION_MISSING;
    } else {
        /* A suspended or unconfirmed account, a refused action. */
        out->kind = HERALD_OUTCOME_REJECTED;
    }
}

/* Classifies an answer of the token or revocation endpoint. */
static void
read_token_error(struct mst_call *call, long status, const char *error,
                 struct herald_outcome *out)
{
    const char *e = error ? error : "";

    if (status >= 500 || status == 408) {
        out->kind = HERALD_OUTCOME_RETRY_LATER;
    } else if (strcmp(e, "invalid_client") == 0 ||
               strcmp(e, "unauthorized_client") == 0) {
        out->kind = HERALD_OUTCOME_REJECTED;
        call->m->host->log(call->op, LOG_WARNING,
                           "the instance refused the app's credentials "
                           "(HTTP %ld): check 'client_id' and "
                           "'client_secret'",
                           status);
    } else {
        /* invalid_grant: a used, expired or mismatched code. */
        out->kind = HERALD_OUTCOME_REJECTED;
    }
}

/*
 * Reads a response that is not the success the caller expected into
 * *out: kind, reason, retry time, http_status and a scrubbed message.
 */
static void
mst_read_error(struct mst_call *call, const struct herald_http_response *resp,
               enum mst_context ctx, struct herald_outcome *out)
{
    const struct herald_host *host = call->m->host;
    long status = resp->status;
    json_t *body;

    memset(out, 0, sizeof(*out));
    out->http_status = (int)status;
    if (resp->transport != HERALD_TRANSPORT_OK) {
        read_transport(resp, ctx, out);
        return;
    }
    body = host->json_parse(resp->body, resp->body_len);
    read_reason(call, resp, body, out);
    if (status == 429) {
        out->kind = HERALD_OUTCOME_RATE_LIMITED;
        out->scope = HERALD_RATE_USER;
        out->retry_at =
            iso8601_ms(host->response_header(resp, "X-RateLimit-Reset"));
        if (out->retry_at <= host->now_ms())
            out->retry_at = 0;
    } else if (ctx == MST_CTX_EXCHANGE || ctx == MST_CTX_REVOKE) {
        read_token_error(call, status, nonempty(body, "error"), out);
    } else if (status == 401 || status == 403) {
        read_refusal(status, nonempty(body, "error"), out);
    } else if (status == 408) {
        out->kind = HERALD_OUTCOME_RETRY_LATER;
    } else if (status >= 400 && status < 500) {
        /* 422: validation (too long, bad media), 404: gone. */
        out->kind = HERALD_OUTCOME_REJECTED;
    } else {
        /* 5xx, or a success the caller could not read. */
        out->kind = ctx == MST_CTX_CREATE ? HERALD_OUTCOME_UNKNOWN
                                          : HERALD_OUTCOME_RETRY_LATER;
    }
    host->log(call->op, LOG_DEBUG, "the instance answered HTTP %ld: %s",
              status, out->message);
    json_decref(body);
}

/* ---- requests ----------------------------------------------------- */

/* Sends a form POST (the client's credentials may be in it). */
static int
post_form(struct mst_call *call, const char *url, const char *form,
          herald_http_done_fn done)
{
    const char *headers[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json",
        NULL,
    };
    struct herald_http_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = form,
        .body_len = strlen(form),
    };

    return call->m->host->http(call->op, &req, done, call);
}

/* Sends an authorized GET of {instance}{path}; host->http()'s return. */
static int
get_api(struct mst_call *call, const char *token, const char *path,
        herald_http_done_fn done)
{
    char *url = api_url(call->m, path);
    char *auth = bearer(token);
    const char *headers[] = {auth, "Accept: application/json", NULL};
    struct herald_http_request req = {
        .method = "GET", .url = url, .headers = headers};
    int rc = -ENOMEM;

    if (url && auth)
        rc = call->m->host->http(call->op, &req, done, call);
    free_secret(auth);
    free(url);
    return rc;
}

/*
 * Reads a 200 answer of verify_credentials into *id (strings borrowed
 * from *body, a new reference the caller releases). Returns 0, or -1
 * with *body NULL when the answer is not an account.
 */
static int
read_identity(const struct mastodon *m,
              const struct herald_http_response *resp, json_t **body,
              struct herald_identity *id)
{
    *body = m->host->json_parse(resp->body, resp->body_len);
    id->id = nonempty(*body, "id");
    id->username = nonempty(*body, "acct");
    if (!id->username)
        id->username = nonempty(*body, "username");
    id->display_name = nonempty(*body, "display_name");
    if (id->id && id->username)
        return 0;
    json_decref(*body);
    *body = NULL;
    return -1;
}

/* ---- init, fini, authorize_url ------------------------------------ */

/* Whether v is a visibility Mastodon knows. */
static int
known_visibility(const char *v)
{
    static const char *const known[] = {"public", "unlisted", "private",
                                        "direct"};

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(v, known[i]) == 0)
            return 1;
    return 0;
}

static int
mst_init(const struct herald_host *host, const json_t *config, void **state)
{
    const char *instance = nonempty(config, "instance_url");
    const char *visibility = nonempty(config, "visibility");
    struct mastodon *m;
    size_t n;

    if (!instance || !nonempty(config, "client_id") ||
        !nonempty(config, "client_secret")) {
        host->log(NULL, LOG_ERR,
                  "configuration lacks 'instance_url', "
                  "'client_id' or 'client_secret'");
        return -EINVAL;
    }
    if (!visibility || !known_visibility(visibility)) {
        host->log(NULL, LOG_ERR,
                  "'visibility' must be public, unlisted, private or "
                  "direct");
        return -EINVAL;
    }
    m = calloc(1, sizeof(*m));
    if (!m || !(m->instance = strdup(instance))) {
        free(m);
        return -ENOMEM;
    }
    n = strlen(m->instance);
    while (n > 0 && m->instance[n - 1] == '/')
        m->instance[--n] = '\0';
    m->host = host;
    m->config = config;
    m->client_id = nonempty(config, "client_id");
    m->client_secret = nonempty(config, "client_secret");
    m->visibility = visibility;
    *state = m;
    return 0;
}

static void
mst_fini(void *state)
{
    struct mastodon *m = state;

    if (!m)
        return;
    free(m->instance);
    free(m);
}

/* Joins the configured scopes (or the defaults) with spaces. */
static char *
scope_list(const struct mastodon *m)
{
    const json_t *scopes = json_object_get(m->config, "scopes");
    size_t n = json_is_array(scopes) ? json_array_size(scopes) : 0;
    char *out = strdup("");

    for (size_t i = 0; out && (n ? i < n : mst_default_scopes[i] != NULL);
         i++) {
        const char *s = n ? json_string_value(json_array_get(scopes, i))
                          : mst_default_scopes[i];
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

/* Builds {instance}/oauth/authorize?...: the code flow with S256. */
static int
mst_authorize_url(void *state, const struct herald_authorize_request *req,
                  char **url)
{
    struct mastodon *m = state;
    char *scope;
    char *query = NULL;
    int rc;

    if (!req->code_challenge || !req->state || !req->redirect_uri)
        return -EINVAL;
    scope = scope_list(m);
    if (!scope)
        return -ENOMEM;
    rc = form_add(m, &query, "response_type", "code");
    if (rc == 0)
        rc = form_add(m, &query, "client_id", m->client_id);
    if (rc == 0)
        rc = form_add(m, &query, "redirect_uri", req->redirect_uri);
    if (rc == 0)
        rc = form_add(m, &query, "scope", scope);
    if (rc == 0)
        rc = form_add(m, &query, "state", req->state);
    if (rc == 0)
        rc = form_add(m, &query, "code_challenge", req->code_challenge);
    if (rc == 0)
        rc = form_add(m, &query, "code_challenge_method", "S256");
    free(scope);
    if (rc < 0)
        return rc;
    rc = asprintf(url, "%s/oauth/authorize?%s", m->instance, query);
    free(query);
    return rc < 0 ? -ENOMEM : 0;
}

/* ---- exchange ----------------------------------------------------- */

static void exchange_identity_done(struct herald_op *op,
                                   const struct herald_http_response *resp,
                                   void *udata);

/* Sends verify_credentials with the token just issued. */
static int
exchange_identity(struct mst_call *call)
{
    call->attempts++;
    return get_api(call, nonempty(call->token, "access_token"),
                   "/api/v1/accounts/verify_credentials",
                   exchange_identity_done);
}

static void
exchange_identity_done(struct herald_op *op,
                       const struct herald_http_response *resp, void *udata)
{
    struct mst_call *call = udata;
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = 200};
    struct herald_identity id = {0};
    struct herald_credentials creds = {0};
    struct herald_result result = {.credentials = &creds, .identity = &id};
    int ok = resp->transport == HERALD_TRANSPORT_OK && resp->status == 200;
    json_t *body = NULL;

    (void)op;
    if (!ok &&
        (resp->transport != HERALD_TRANSPORT_OK || resp->status >= 500) &&
        call->attempts < MST_IDENTITY_ATTEMPTS && exchange_identity(call) == 0)
        return;
    if (!ok) {
        mst_read_error(call, resp, MST_CTX_API, &out);
        /* A brand-new token refused is a grant gone wrong. */
        if (out.kind == HERALD_OUTCOME_ACCESS_LOST)
            out.reason = HERALD_ACCESS_INVALID;
        mst_finish(call, &out, NULL);
        return;
    }
    if (read_identity(call->m, resp, &body, &id) < 0) {
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "verify_credentials answered without id and acct");
        return;
    }
    creds.access_token = nonempty(call->token, "access_token");
    mst_finish(call, &out, &result);
    json_decref(body);
}

static void
exchange_token_done(struct herald_op *op,
                    const struct herald_http_response *resp, void *udata)
{
    struct mst_call *call = udata;
    struct herald_outcome out;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status != 200) {
        mst_read_error(call, resp, MST_CTX_EXCHANGE, &out);
        mst_finish(call, &out, NULL);
        return;
    }
    call->token = call->m->host->json_parse(resp->body, resp->body_len);
    if (!nonempty(call->token, "access_token")) {
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "the token answer has no access_token");
        return;
    }
    if (exchange_identity(call) < 0)
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "could not send the identity request");
}

/* Exchanges the code at POST /oauth/token with the PKCE verifier. */
static int
mst_exchange(void *state, struct herald_op *op,
             const struct herald_exchange_request *req)
{
    struct mastodon *m = state;
    struct mst_call *call;
    char *url;
    char *form = NULL;
    int rc;

    if (!req->code || !req->code_verifier || !req->redirect_uri)
        return -EINVAL;
    call = call_new(m, op, NULL);
    url = api_url(m, "/oauth/token");
    if (!call || !url) {
        free(call);
        free(url);
        return -ENOMEM;
    }
    call->exchange = req;
    rc = form_add(m, &form, "grant_type", "authorization_code");
    if (rc == 0)
        rc = form_add(m, &form, "code", req->code);
    if (rc == 0)
        rc = form_add(m, &form, "client_id", m->client_id);
    if (rc == 0)
        rc = form_add(m, &form, "client_secret", m->client_secret);
    if (rc == 0)
        rc = form_add(m, &form, "redirect_uri", req->redirect_uri);
    if (rc == 0)
        rc = form_add(m, &form, "code_verifier", req->code_verifier);
    if (rc == 0)
        rc = post_form(call, url, form, exchange_token_done);
    free_secret(form);
    free(url);
    if (rc < 0)
        call_free(call);
    return rc;
}

/* ---- identity, refresh, revoke ------------------------------------ */

static void
identity_done(struct herald_op *op, const struct herald_http_response *resp,
              void *udata)
{
    struct mst_call *call = udata;
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = 200};
    struct herald_identity id = {0};
    struct herald_result result = {.identity = &id};
    json_t *body = NULL;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status != 200) {
        mst_read_error(call, resp, MST_CTX_API, &out);
        mst_finish(call, &out, NULL);
        return;
    }
    if (read_identity(call->m, resp, &body, &id) < 0) {
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "verify_credentials answered without id and acct");
        return;
    }
    mst_finish(call, &out, &result);
    json_decref(body);
}

/* Proves the token still works: GET verify_credentials. */
static int
mst_identity(void *state, struct herald_op *op,
             const struct herald_account *account)
{
    struct mst_call *call;
    int rc;

    if (!account->creds || !account->creds->access_token)
        return -EINVAL;
    call = call_new(state, op, account);
    if (!call)
        return -ENOMEM;
    rc = get_api(call, account->creds->access_token,
                 "/api/v1/accounts/verify_credentials", identity_done);
    if (rc < 0)
        call_free(call);
    return rc;
}

/* Mastodon tokens do not expire and come without a refresh token. */
static int
mst_refresh(void *state, struct herald_op *op,
            const struct herald_account *account)
{
    struct mst_call *call = call_new(state, op, account);

    if (!call)
        return -ENOMEM;
    finish_simple(call, HERALD_OUTCOME_REJECTED,
                  "Mastodon tokens do not expire: there is nothing to "
                  "renew");
    return 0;
}

static void
revoke_done(struct herald_op *op, const struct herald_http_response *resp,
            void *udata)
{
    struct mst_call *call = udata;
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = (int)resp->status};

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status < 200 ||
        resp->status > 299)
        mst_read_error(call, resp, MST_CTX_REVOKE, &out);
    mst_finish(call, &out, NULL);
}

/* Revokes the account's token: POST /oauth/revoke. */
static int
mst_revoke(void *state, struct herald_op *op,
           const struct herald_account *account)
{
    struct mastodon *m = state;
    const char *token = account->creds ? account->creds->access_token : NULL;
    struct mst_call *call = call_new(m, op, account);
    char *url = api_url(m, "/oauth/revoke");
    char *form = NULL;
    int rc;

    if (!call || !url) {
        free(call);
        free(url);
        return -ENOMEM;
    }
    if (!token || !token[0]) {
        free(url);
        finish_simple(call, HERALD_OUTCOME_DONE, NULL);
        return 0;
    }
    rc = form_add(m, &form, "client_id", m->client_id);
    if (rc == 0)
        rc = form_add(m, &form, "client_secret", m->client_secret);
    if (rc == 0)
        rc = form_add(m, &form, "token", token);
    if (rc == 0)
        rc = post_form(call, url, form, revoke_done);
    free_secret(form);
    free(url);
    if (rc < 0)
        call_free(call);
    return rc;
}

/* ---- publish ------------------------------------------------------ */

static void fetch_next(struct mst_call *call);
static void poll_next(struct mst_call *call);

/* Builds the status form: status, visibility, media_ids[]. */
static char *
status_form(const struct mst_call *call)
{
    const struct herald_post *post = call->post;
    const char *text = post->text ? post->text : "";
    int link = post->link && post->link[0];
    char *joined = NULL;
    char *form = NULL;
    size_t i;
    json_t *id;
    int rc;

    if (asprintf(&joined, "%s%s%s", text, link && text[0] ? " " : "",
                 link ? post->link : "") < 0)
        return NULL;
    rc = form_add(call->m, &form, "status", joined);
    if (rc == 0)
        rc = form_add(call->m, &form, "visibility", call->m->visibility);
    json_array_foreach(call->media_ids, i, id)
    {
        if (rc == 0)
            rc =
                form_add(call->m, &form, "media_ids[]", json_string_value(id));
    }
    free(joined);
    return rc == 0 ? form : NULL;
}

static void
status_done(struct herald_op *op, const struct herald_http_response *resp,
            void *udata)
{
    struct mst_call *call = udata;
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = (int)resp->status};
    json_t *body;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status != 200) {
        mst_read_error(call, resp, MST_CTX_CREATE, &out);
        mst_finish(call, &out, NULL);
        return;
    }
    body = call->m->host->json_parse(resp->body, resp->body_len);
    out.remote_id = nonempty(body, "id");
    out.remote_url = nonempty(body, "url");
    if (!out.remote_url)
        out.remote_url = nonempty(body, "uri");
    if (!out.remote_id) {
        /* Accepted, but not said as what: it may well exist. */
        out.kind = HERALD_OUTCOME_UNKNOWN;
        out.message = "the instance accepted the status without an id";
    } else {
        call->m->host->log(call->op, LOG_DEBUG, "published as status %s",
                           out.remote_id);
    }
    mst_finish(call, &out, NULL);
    json_decref(body);
}

/* Sends POST /api/v1/statuses with the call's Idempotency-Key. */
static void
send_status(struct mst_call *call)
{
    char *url = api_url(call->m, "/api/v1/statuses");
    char *auth = bearer(call->account->creds->access_token);
    char *form = status_form(call);
    char key[sizeof(call->key) + 32];
    const char *headers[] = {auth, key,
                             "Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", NULL};
    struct herald_http_request req = {
        .method = "POST", .url = url, .headers = headers, .body = form};
    int rc = -ENOMEM;

    snprintf(key, sizeof(key), "Idempotency-Key: %s", call->key);
    if (url && auth && form) {
        req.body_len = strlen(form);
        /* The Idempotency-Key makes a repeat harmless, so the status may
         * share a connection (on a herald that offers it). */
        rc = HERALD_HOST_HAS(call->m->host, http_repeatable)
                 ? call->m->host->http_repeatable(call->op, &req, status_done,
                                                  call)
                 : call->m->host->http(call->op, &req, status_done, call);
    }
    free(form);
    free_secret(auth);
    free(url);
    if (rc < 0)
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "could not send the status request");
}

/* Records the key and media ids before the status may be created. */
static int
save_checkpoint(struct mst_call *call)
{
    json_t *cp = json_pack("{s:s, s:O}", "idempotency_key", call->key,
                           "media_ids", call->media_ids);
    int rc = cp ? call->m->host->checkpoint(call->op, cp) : -ENOMEM;

    json_decref(cp);
    if (rc < 0)
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "cannot record the attempt before posting");
    return rc;
}

static void
media_status_done(struct herald_op *op,
                  const struct herald_http_response *resp, void *udata)
{
    struct mst_call *call = udata;
    struct herald_outcome out;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200) {
        json_array_remove(call->pending, 0);
        poll_next(call);
    } else if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 206) {
        poll_next(call);
    } else {
        mst_read_error(call, resp, MST_CTX_API, &out);
        mst_finish(call, &out, NULL);
    }
}

/* Waits for every pending image, then sends the status. */
static void
poll_next(struct mst_call *call)
{
    char path[128];
    const char *id = json_string_value(json_array_get(call->pending, 0));
    struct herald_outcome out = {
        .kind = HERALD_OUTCOME_RETRY_LATER,
        .message = "the instance is still processing the post's images",
    };

    if (!id) {
        send_status(call);
        return;
    }
    if (call->polls++ >= MST_MEDIA_POLLS) {
        out.retry_at = call->m->host->now_ms() + MST_MEDIA_WAIT_MS;
        mst_finish(call, &out, NULL);
        return;
    }
    snprintf(path, sizeof(path), "/api/v1/media/%s", id);
    if (get_api(call, call->account->creds->access_token, path,
                media_status_done) < 0)
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "could not ask about the post's images");
}

static void
upload_done(struct herald_op *op, const struct herald_http_response *resp,
            void *udata)
{
    struct mst_call *call = udata;
    struct herald_outcome out;
    json_t *body;
    const char *id;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK ||
        (resp->status != 200 && resp->status != 202)) {
        mst_read_error(call, resp, MST_CTX_MEDIA, &out);
        mst_finish(call, &out, NULL);
        return;
    }
    body = call->m->host->json_parse(resp->body, resp->body_len);
    id = nonempty(body, "id");
    if (!id || strlen(id) > 64) {
        json_decref(body);
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "the instance answered the upload without an id");
        return;
    }
    json_array_append_new(call->media_ids, json_string(id));
    if (resp->status == 202)
        json_array_append_new(call->pending, json_string(id));
    json_decref(body);
    fetch_next(call);
}

/* Builds a multipart/form-data body with one part "file": len bytes. */
static char *
multipart(const char *boundary, const char *ctype, const char *data,
          size_t len, size_t *out_len)
{
    char *head = NULL;
    char *tail = NULL;
    char *body = NULL;
    int hn = asprintf(&head,
                      "--%s\r\nContent-Disposition: form-data; "
                      "name=\"file\"; filename=\"image\"\r\n"
                      "Content-Type: %s\r\n\r\n",
                      boundary, ctype);
    int tn = asprintf(&tail, "\r\n--%s--\r\n", boundary);

    if (hn >= 0 && tn >= 0)
        body = malloc((size_t)hn + len + (size_t)tn);
    if (body) {
        memcpy(body, head, (size_t)hn);
        memcpy(body + hn, data, len);
        memcpy(body + hn + len, tail, (size_t)tn);
        *out_len = (size_t)hn + len + (size_t)tn;
    }
    if (hn >= 0)
        free(head);
    if (tn >= 0)
        free(tail);
    return body;
}

/* Returns the image's type from its Content-Type, if it is one. */
static const char *
image_type(const struct mastodon *m, const struct herald_http_response *resp)
{
    const char *t = m->host->response_header(resp, "Content-Type");

    if (t && strncmp(t, "image/", 6) == 0 && strlen(t) < 100 &&
        !strpbrk(t, "\r\n"))
        return t;
    return "application/octet-stream";
}

/* Sends the fetched image to POST /api/v2/media. */
static void
upload(struct mst_call *call, const struct herald_http_response *image)
{
    char boundary[40] = "herald-";
    char ctype[96];
    char *url = api_url(call->m, "/api/v2/media");
    char *auth = bearer(call->account->creds->access_token);
    size_t len = 0;
    char *body;
    const char *headers[] = {auth, ctype, "Accept: application/json", NULL};
    struct herald_http_request req = {
        .method = "POST", .url = url, .headers = headers};
    int rc = -ENOMEM;

    random_hex(call->m, boundary + 7, 16);
    snprintf(ctype, sizeof(ctype),
             "Content-Type: multipart/form-data; boundary=%s", boundary);
    body = multipart(boundary, image_type(call->m, image), image->body,
                     image->body_len, &len);
    if (url && auth && body) {
        req.body = body;
        req.body_len = len;
        rc = call->m->host->http(call->op, &req, upload_done, call);
    }
    free(body);
    free_secret(auth);
    free(url);
    if (rc < 0)
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "could not send the image to the instance");
}

static void
image_done(struct herald_op *op, const struct herald_http_response *resp,
           void *udata)
{
    struct mst_call *call = udata;
    struct herald_outcome out = {.http_status = (int)resp->status};

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200 &&
        resp->body_len > 0) {
        upload(call, resp);
        return;
    }
    /* The image host, not the instance: a 4xx or an empty image will
     * not mend itself. */
    out.kind = resp->transport == HERALD_TRANSPORT_OK && resp->status >= 200 &&
                       resp->status < 500
                   ? HERALD_OUTCOME_REJECTED
                   : HERALD_OUTCOME_RETRY_LATER;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200)
        snprintf(call->message, sizeof(call->message),
                 "the post's image is empty");
    else
        snprintf(call->message, sizeof(call->message),
                 "cannot fetch the post's image (HTTP %ld)", resp->status);
    out.message = call->message;
    mst_finish(call, &out, NULL);
}

/* Fetches the next image to upload, or checkpoints and moves on. */
static void
fetch_next(struct mst_call *call)
{
    size_t i = json_array_size(call->media_ids);
    struct herald_http_request req = {.method = "GET"};

    if (i >= call->nmedia) {
        if (save_checkpoint(call) == 0)
            poll_next(call);
        return;
    }
    req.url = call->post->media[i];
    if (call->m->host->http(call->op, &req, image_done, call) < 0)
        finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                      "could not fetch the post's image");
}

/*
 * Takes up what an earlier attempt recorded: its key and, when every
 * image was uploaded, their ids (to be checked again before posting).
 */
static void
resume(struct mst_call *call, const json_t *cp)
{
    const char *key = nonempty(cp, "idempotency_key");
    const json_t *ids = json_object_get(cp, "media_ids");
    size_t i;
    json_t *id;

    if (!key || strlen(key) >= sizeof(call->key))
        return;
    snprintf(call->key, sizeof(call->key), "%s", key);
    if (json_array_size(ids) != call->nmedia)
        return;
    json_array_foreach(ids, i, id)
    {
        if (!json_string_value(id))
            return;
    }
    json_array_extend(call->media_ids, (json_t *)ids);
    json_array_extend(call->pending, (json_t *)ids);
}

/* Publishes a status with up to four images. */
static int
mst_publish(void *state, struct herald_op *op,
            const struct herald_account *account,
            const struct herald_post *post)
{
    struct mastodon *m = state;
    struct mst_call *call;

    if (!account->creds || !account->creds->access_token)
        return -EINVAL;
    call = call_new(m, op, account);
    if (!call)
        return -ENOMEM;
    call->post = post;
    call->media_ids = json_array();
    call->pending = json_array();
    if (!call->media_ids || !call->pending) {
        call_free(call);
        return -ENOMEM;
    }
    while (post->media && post->media[call->nmedia])
        call->nmedia++;
    if (call->nmedia > mst_rules.max_media) {
        finish_simple(call, HERALD_OUTCOME_REJECTED,
                      "a Mastodon status holds at most four images");
        return 0;
    }
    if ((!post->text || !post->text[0]) && (!post->link || !post->link[0]) &&
        call->nmedia == 0) {
        finish_simple(call, HERALD_OUTCOME_REJECTED,
                      "a Mastodon status needs text or an image");
        return 0;
    }
    resume(call, post->checkpoint);
    if (!call->key[0]) {
        memcpy(call->key, "herald-", 7);
        random_hex(m, call->key + 7, 16);
    }
    if (json_array_size(call->media_ids) == call->nmedia && call->nmedia > 0)
        poll_next(call);
    else
        fetch_next(call);
    return 0;
}

static const struct herald_plugin mst_plugin = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .size = sizeof(struct herald_plugin),
    .signature = HERALD_BUILD_SIGNATURE,
    .name = "mastodon",
    .display_name = "Mastodon",
    .version = "1.0.0",
    .capabilities =
        HERALD_CAP_PKCE | HERALD_CAP_REVOKE | HERALD_CAP_DEDUPLICATES,
    .token_model = HERALD_TOKEN_NON_EXPIRING,
    .reconnect_window = 0,
    .content = &mst_rules,
    .config_schema = mst_schema,
    .default_scopes = mst_default_scopes,
    .init = mst_init,
    .fini = mst_fini,
    .authorize_url = mst_authorize_url,
    .exchange = mst_exchange,
    .identity = mst_identity,
    .refresh = mst_refresh,
    .publish = mst_publish,
    .lookup = NULL,
    .revoke = mst_revoke,
};

HERALD_PLUGIN_ENTRY
{
    return &mst_plugin;
}
