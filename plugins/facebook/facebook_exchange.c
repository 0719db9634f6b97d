/*
 * facebook_exchange.c - connects a Facebook account, and re-exchanges.
 *
 * exchange() is a state machine of four Graph API requests, one at a
 * time, each sent from the callback of the one before:
 *
 *   STEP_CODE   GET /oauth/access_token?client_id&redirect_uri
 *               &client_secret&code          -> short-lived user token
 *   STEP_LONG   GET /oauth/access_token?grant_type=fb_exchange_token
 *               &client_id&client_secret&fb_exchange_token
 *                                            -> long-lived user token
 *   STEP_ME     GET /me?fields=id,name       -> identity
 *   STEP_PAGES  GET /me/accounts?fields=id,name,access_token&limit=N,
 *               then paging.next while present -> Pages and Page tokens
 *
 * and completes DONE with the long-lived user token (its expiry is also
 * the hard deadline), the identity, the Pages as targets and the Page
 * tokens in credentials.extra {"pages": {"<page id>": "<page token>"}};
 * any failing step completes with that step's outcome instead.
 *
 * refresh() runs STEP_LONG alone on the stored long-lived token while it
 * is still valid (Facebook extends a valid token this way), keeping the
 * stored Page tokens; past its expiry it completes ACCESS_LOST EXPIRED
 * without a request.
 *
 * The struct exchange lives on the heap from the start of the operation
 * to its completion; exchange_finish() completes and frees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "facebook.h"

enum step {
    STEP_CODE,
    STEP_LONG,
    STEP_ME,
    STEP_PAGES,
};

static const char *const step_names[] = {
    "GET /oauth/access_token (code)",
    "GET /oauth/access_token (fb_exchange_token)",
    "GET /me",
    "GET /me/accounts",
};

struct exchange {
    struct fb *fb;
    struct herald_op *op;
    enum step step;
    const char *code;                     /* borrowed until complete() */
    const struct herald_account *account; /* refresh only, borrowed */
    char *short_token;
    char *user_token;
    int64_t expires_at;
    char *user_id;
    char *user_name;
    json_t *pages;   /* {"<page id>": "<page token>"} */
    json_t *targets; /* [{"id", "name", "kind": "page"}] */
    long long page_requests;
};

static void
free_secret(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

static void
exchange_free(struct exchange *x)
{
    free_secret(x->short_token);
    free_secret(x->user_token);
    free(x->user_id);
    free(x->user_name);
    json_decref(x->pages);
    json_decref(x->targets);
    free(x);
}

/* Completes the operation with out and result, then frees x. Every
 * token and secret the operation has seen is checked against the
 * message. */
static void
exchange_finish(struct exchange *x, struct fb_outcome *out,
                const struct herald_result *result)
{
    const char *fixed[] = {
        x->code, x->fb->client_secret, x->short_token, x->user_token,
        x->account ? x->account->creds->access_token : NULL};
    size_t nfixed = sizeof(fixed) / sizeof(*fixed);
    const char **all =
        calloc(nfixed + json_object_size(x->pages), sizeof(*all));
    size_t n = 0;
    const char *key;
    json_t *v;

    /* Without memory for the Page tokens, the fixed list still guards. */
    if (all) {
        memcpy(all, fixed, sizeof(fixed));
        n = nfixed;
        json_object_foreach(x->pages, key, v)
        {
            all[n++] = json_string_value(v);
        }
    }
    fb_complete(x->fb, x->op, out, result, all ? all : fixed,
                all ? n : nfixed);
    free(all);
    exchange_free(x);
}

/* Ends x with RETRY_LATER when a follow-up request was not queued. */
static void
check_sent(struct exchange *x, int rc)
{
    struct fb_outcome out;

    if (rc >= 0)
        return;
    fb_unsent(rc, step_names[x->step], &out);
    exchange_finish(x, &out, NULL);
}

static void exchange_done(struct herald_op *op,
                          const struct herald_http_response *resp,
                          void *udata);

/* Sends a token-endpoint request: the parameters go in the query, as
 * the network expects, the client secret among them. */
static int
send_code(struct exchange *x, const char *redirect_uri)
{
    struct fb_buf url = {0};
    int rc;

    x->step = STEP_CODE;
    fb_buf_graph(&url, x->fb, "/oauth/access_token?");
    fb_buf_param(&url, x->fb, "client_id", x->fb->client_id);
    fb_buf_param(&url, x->fb, "redirect_uri", redirect_uri);
    fb_buf_param(&url, x->fb, "client_secret", x->fb->client_secret);
    fb_buf_param(&url, x->fb, "code", x->code);
    rc = url.failed ? -ENOMEM
                    : fb_send(x->fb, x->op, step_names[STEP_CODE], "GET",
                              url.s, NULL, NULL, exchange_done, x);
    fb_buf_free(&url);
    return rc;
}

static int
send_long(struct exchange *x, const char *token)
{
    struct fb_buf url = {0};
    int rc;

    x->step = STEP_LONG;
    fb_buf_graph(&url, x->fb, "/oauth/access_token?");
    fb_buf_param(&url, x->fb, "grant_type", "fb_exchange_token");
    fb_buf_param(&url, x->fb, "client_id", x->fb->client_id);
    fb_buf_param(&url, x->fb, "client_secret", x->fb->client_secret);
    fb_buf_param(&url, x->fb, "fb_exchange_token", token);
    rc = url.failed ? -ENOMEM
                    : fb_send(x->fb, x->op, step_names[STEP_LONG], "GET",
                              url.s, NULL, NULL, exchange_done, x);
    fb_buf_free(&url);
    return rc;
}

static int
send_me(struct exchange *x)
{
    struct fb_buf url = {0};
    int rc;

    x->step = STEP_ME;
    fb_buf_graph(&url, x->fb, "/me?fields=id,name");
    rc = url.failed ? -ENOMEM
                    : fb_send(x->fb, x->op, step_names[STEP_ME], "GET", url.s,
                              x->user_token, NULL, exchange_done, x);
    fb_buf_free(&url);
    return rc;
}

/* Sends GET /me/accounts: the first page when url is NULL, else url as
 * given (a paging.next URL under graph_base_url). */
static int
send_pages(struct exchange *x, const char *next)
{
    struct fb_buf url = {0};
    char limit[24];
    const char *bearer = x->user_token;
    int rc;

    x->step = STEP_PAGES;
    x->page_requests++;
    if (next) {
        fb_buf_add(&url, next);
        /* A next URL that carries the token already needs no header. */
        if (strstr(next, "?access_token=") || strstr(next, "&access_token="))
            bearer = NULL;
    } else {
        snprintf(limit, sizeof(limit), "%lld", x->fb->pages_limit);
        fb_buf_graph(&url, x->fb, "/me/accounts?");
        fb_buf_param(&url, x->fb, "fields", "id,name,access_token");
        fb_buf_param(&url, x->fb, "limit", limit);
    }
    rc = url.failed ? -ENOMEM
                    : fb_send(x->fb, x->op, step_names[STEP_PAGES], "GET",
                              url.s, bearer, NULL, exchange_done, x);
    fb_buf_free(&url);
    return rc;
}

/* Reads access_token and expires_in of a token response. Returns 0, or
 * -1 when there is no token. */
static int
read_token(struct exchange *x, json_t *body, char **token, int64_t *expires_at)
{
    const char *t = json_string_value(json_object_get(body, "access_token"));
    json_t *e = json_object_get(body, "expires_in");
    double secs = 0;

    if (!t || !*t)
        return -1;
    *token = strdup(t);
    if (!*token)
        return -1;
    if (json_is_number(e))
        secs = json_number_value(e);
    else if (json_is_string(e))
        secs = strtod(json_string_value(e), NULL);
    if (secs > FB_SECONDS_MAX)
        secs = FB_SECONDS_MAX;
    if (secs > 0)
        *expires_at = x->fb->host->now_ms() + (int64_t)(secs * 1000.0);
    return 0;
}

/* Completes a refresh with the re-exchanged token, keeping the stored
 * Page tokens. */
static void
refresh_finish(struct exchange *x, struct fb_outcome *out)
{
    const struct herald_credentials *old = x->account->creds;
    struct herald_credentials creds = {
        .access_token = x->user_token,
        .access_expires_at =
            x->expires_at ? x->expires_at : old->access_expires_at,
        .extra = old->extra,
    };
    struct herald_result result = {.credentials = &creds};

    creds.hard_deadline = creds.access_expires_at;
    fb_outcome_set(out, HERALD_OUTCOME_DONE, "%s", "");
    exchange_finish(x, out, &result);
}

/* Completes an exchange with everything gathered. */
static void
exchange_success(struct exchange *x, struct fb_outcome *out)
{
    struct herald_credentials creds = {
        .access_token = x->user_token,
        .access_expires_at = x->expires_at,
        .hard_deadline = x->expires_at,
    };
    struct herald_identity id = {
        .id = x->user_id,
        .username = x->user_name ? x->user_name : x->user_id,
        .display_name = x->user_name,
    };
    struct herald_result result = {
        .credentials = &creds, .identity = &id, .targets = x->targets};

    if (json_array_size(x->targets) == 0) {
        fb_outcome_set(out, HERALD_OUTCOME_REJECTED,
                       "the Facebook account manages no Page this app may "
                       "post to; choose at least one Page in the login "
                       "dialog");
        exchange_finish(x, out, NULL);
        return;
    }
    creds.extra = json_pack("{sO}", "pages", x->pages);
    if (!creds.extra) {
        fb_unsent(-ENOMEM, step_names[STEP_PAGES], out);
        exchange_finish(x, out, NULL);
        return;
    }
    fb_outcome_set(out, HERALD_OUTCOME_DONE, "%s", "");
    exchange_finish(x, out, &result);
    json_decref(creds.extra);
}

/* Adds the Pages of one /me/accounts answer. Pages that come without a
 * Page token (the person has no task that allows posting) are left out. */
static void
add_pages(struct exchange *x, json_t *body)
{
    json_t *page;
    size_t i;
    const char *id;
    const char *name;
    const char *token;
    json_t *target;

    json_array_foreach(json_object_get(body, "data"), i, page)
    {
        id = json_string_value(json_object_get(page, "id"));
        name = json_string_value(json_object_get(page, "name"));
        token = json_string_value(json_object_get(page, "access_token"));
        if (!id || !*id || json_object_get(x->pages, id))
            continue;
        if (!token || !*token) {
            x->fb->host->log(x->op, LOG_NOTICE,
                             "Page '%s' came without a Page token; it is "
                             "not a posting target",
                             id);
            continue;
        }
        target = json_pack("{ssssss}", "id", id, "name", name ? name : id,
                           "kind", "page");
        if (target)
            json_array_append_new(x->targets, target);
        json_object_set_new(x->pages, id, json_string(token));
    }
}

/*
 * Decides where the next page of /me/accounts is: paging.next as given
 * when it is under graph_base_url, else the first page's URL with
 * paging.cursors.after. Returns a malloc()ed URL, or NULL when there is
 * no next page or it cannot be reached.
 */
static char *
next_pages_url(struct exchange *x, json_t *body)
{
    json_t *paging = json_object_get(body, "paging");
    const char *next = json_string_value(json_object_get(paging, "next"));
    const char *after = json_string_value(
        json_object_get(json_object_get(paging, "cursors"), "after"));
    size_t n = strlen(x->fb->graph_base);
    struct fb_buf url = {0};
    char limit[24];

    if (!next)
        return NULL;
    if (strncmp(next, x->fb->graph_base, n) == 0 && next[n] == '/')
        return strdup(next);
    if (!after) {
        x->fb->host->log(x->op, LOG_WARNING,
                         "GET /me/accounts: paging.next points outside "
                         "graph_base_url and has no cursor; later Pages "
                         "are left out");
        return NULL;
    }
    snprintf(limit, sizeof(limit), "%lld", x->fb->pages_limit);
    fb_buf_graph(&url, x->fb, "/me/accounts?");
    fb_buf_param(&url, x->fb, "fields", "id,name,access_token");
    fb_buf_param(&url, x->fb, "limit", limit);
    fb_buf_param(&url, x->fb, "after", after);
    if (url.failed) {
        fb_buf_free(&url);
        return NULL;
    }
    return url.s;
}

/* Handles a successful answer to the current step. */
static void
step_ok(struct exchange *x, const struct herald_http_response *resp,
        json_t *body)
{
    struct fb_outcome out = {0};
    const char *s;
    char *next;

    switch (x->step) {
    case STEP_CODE:
        if (read_token(x, body, &x->short_token, &x->expires_at) < 0)
            break;
        check_sent(x, send_long(x, x->short_token));
        return;
    case STEP_LONG:
        x->expires_at = 0;
        if (read_token(x, body, &x->user_token, &x->expires_at) < 0)
            break;
        if (x->account) {
            refresh_finish(x, &out);
            return;
        }
        if (!x->expires_at)
            x->expires_at = x->fb->host->now_ms() + FB_LONG_LIVED_MS;
        check_sent(x, send_me(x));
        return;
    case STEP_ME:
        s = json_string_value(json_object_get(body, "id"));
        if (!s || !*s || !(x->user_id = strdup(s)))
            break;
        s = json_string_value(json_object_get(body, "name"));
        x->user_name = s ? strdup(s) : NULL;
        check_sent(x, send_pages(x, NULL));
        return;
    case STEP_PAGES:
        if (!json_is_array(json_object_get(body, "data")))
            break;
        add_pages(x, body);
        next = next_pages_url(x, body);
        if (next && x->page_requests >= x->fb->pages_requests) {
            x->fb->host->log(x->op, LOG_WARNING,
                             "GET /me/accounts: stopped after %lld "
                             "requests (pages_max_requests); later Pages "
                             "are left out",
                             x->page_requests);
            free(next);
            next = NULL;
        }
        if (next) {
            check_sent(x, send_pages(x, next));
            free(next);
            return;
        }
        exchange_success(x, &out);
        return;
    }
    fb_unreadable(resp, FB_CALL_READ, step_names[x->step], &out);
    exchange_finish(x, &out, NULL);
}

static void
exchange_done(struct herald_op *op, const struct herald_http_response *resp,
              void *udata)
{
    struct exchange *x = udata;
    struct fb_outcome out;
    json_t *body;

    (void)op;
    body = fb_read(x->fb, resp, FB_CALL_READ, step_names[x->step], &out);
    if (body)
        step_ok(x, resp, body);
    else
        exchange_finish(x, &out, NULL);
    json_decref(body);
}

static struct exchange *
exchange_new(struct fb *fb, struct herald_op *op)
{
    struct exchange *x = calloc(1, sizeof(*x));

    if (!x)
        return NULL;
    x->fb = fb;
    x->op = op;
    x->pages = json_object();
    x->targets = json_array();
    if (!x->pages || !x->targets) {
        exchange_free(x);
        return NULL;
    }
    return x;
}

int
fb_exchange(void *state, struct herald_op *op,
            const struct herald_exchange_request *req)
{
    struct exchange *x = exchange_new(state, op);
    int rc;

    if (!x)
        return -ENOMEM;
    x->code = req->code;
    rc = send_code(x, req->redirect_uri);
    if (rc < 0)
        exchange_free(x);
    return rc;
}

int
fb_refresh(void *state, struct herald_op *op,
           const struct herald_account *account)
{
    struct fb *fb = state;
    const struct herald_credentials *creds = account->creds;
    struct fb_outcome out = {0};
    struct exchange *x;
    int rc;

    if (!creds || !creds->access_token) {
        fb_outcome_set(&out, HERALD_OUTCOME_ACCESS_LOST,
                       "no Facebook user token is stored for the account");
        out.o.reason = HERALD_ACCESS_INVALID;
        fb_complete(fb, op, &out, NULL, NULL, 0);
        return 0;
    }
    if (creds->access_expires_at &&
        fb->host->now_ms() >= creds->access_expires_at) {
        fb_outcome_set(&out, HERALD_OUTCOME_ACCESS_LOST,
                       "the long-lived Facebook user token has expired and "
                       "Facebook has no refresh token: the person must log "
                       "in again");
        out.o.reason = HERALD_ACCESS_EXPIRED;
        fb_complete(fb, op, &out, NULL, NULL, 0);
        return 0;
    }
    x = exchange_new(fb, op);
    if (!x)
        return -ENOMEM;
    x->account = account;
    rc = send_long(x, creds->access_token);
    if (rc < 0)
        exchange_free(x);
    return rc;
}
