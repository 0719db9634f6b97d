/*
 * api_oauth.c - the API's connect, reauthorize and OAuth callback.
 *
 * Connect and reauthorize answer at once with the login URL. The
 * callback is where the person's browser lands coming back from the
 * network: it is open (no API key), answers when the plugin has
 * exchanged the code, and speaks to a person: a short HTML page, JSON
 * when the client asks for it, or a redirect to the return URL the
 * connect named.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "hostapi.h"
#include "log.h"
#include "oauth.h"

static void
answer_start(struct herald_request *req, int rc, char *url,
             const struct herald_error *err)
{
    static const struct {
        int rc;
        unsigned status;
        const char *code;
    } errors[] = {
        {-ENOENT, 404, "unknown_network"},
        {-EINVAL, 400, "invalid_field"},
        {-EPERM, 400, "return_url_not_allowed"},
    };

    if (rc == 0) {
        herald_request_respond_json(
            req, 201,
            json_pack("{s:s,s:o}", "url", url, "expires_at",
                      herald_api_time_json(herald_api_now_ms() +
                                           HERALD_OAUTH_STATE_TTL_MS)));
        free(url);
        return;
    }
    for (size_t i = 0; i < sizeof(errors) / sizeof(*errors); i++) {
        if (errors[i].rc == rc) {
            herald_request_error(req, errors[i].status, errors[i].code, "%s",
                                 err->msg);
            return;
        }
    }
    herald_request_error(req, 503, "unavailable", "%s", err->msg);
}

static void
post_connect(struct herald_daemon *d, struct herald_request *req,
             const struct api_params *params)
{
    struct herald_oauth_request r = {0};
    struct herald_error err = {""};
    json_t *body = herald_api_body_object(req);
    char *url = NULL;
    int rc;

    (void)params;
    if (!body)
        return;
    if (herald_api_opt_string(req, body, "network", &r.network) ||
        herald_api_opt_string(req, body, "owner_id", &r.owner_id) ||
        herald_api_opt_string(req, body, "owner_email", &r.owner_email) ||
        herald_api_opt_string(req, body, "return_url", &r.return_url)) {
        json_decref(body);
        return;
    }
    if (!r.network) {
        herald_request_error(req, 400, "invalid_field",
                             "'network' is required");
        json_decref(body);
        return;
    }
    rc = herald_oauth_start(d, &r, &url, &err);
    answer_start(req, rc, url, &err);
    json_decref(body);
}

static void
post_reauthorize(struct herald_daemon *d, struct herald_request *req,
                 const struct api_params *params)
{
    struct herald_oauth_request r = {0};
    struct herald_store_account a = {0};
    struct herald_error err = {""};
    int64_t id = herald_api_parse_id(params->value[0]);
    size_t len;
    json_t *body = NULL;
    char *url = NULL;
    int rc;

    if (id == 0 || herald_store_account_get(d->store, id, &a) != 0 ||
        a.status == HERALD_ACCOUNT_REMOVED) {
        herald_store_account_clear(&a);
        herald_request_error(req, 404, "not_found", "no such account");
        return;
    }
    herald_request_body(req, &len);
    if (len > 0 && !(body = herald_api_body_object(req))) {
        herald_store_account_clear(&a);
        return;
    }
    if (body &&
        herald_api_opt_string(req, body, "return_url", &r.return_url)) {
        herald_store_account_clear(&a);
        json_decref(body);
        return;
    }
    r.network = a.network;
    r.owner_id = a.owner_id;
    r.owner_email = a.owner_email;
    r.account_id = id;
    rc = herald_oauth_start(d, &r, &url, &err);
    answer_start(req, rc, url, &err);
    herald_store_account_clear(&a);
    json_decref(body);
}

#define PAGE_HEAD                                                             \
    "<!doctype html>\n<html lang=\"en\"><head><meta "                         \
    "charset=\"utf-8\"><title>herald</title></head>"                          \
    "<body style=\"font-family:sans-serif;max-width:"                         \
    "36em;margin:3em auto\">\n<h1>"
#define PAGE_TAIL ".</p>\n<p>You can close this window.</p>\n</body></html>\n"

/* The entity that stands for c in HTML text, or NULL when c stands for
 * itself. */
static const char *
html_entity(char c)
{
    switch (c) {
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '&':
        return "&amp;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    }
    return NULL;
}

/* Writes s at page + at (page NULL: only measures), HTML-escaped when
 * escape is set. Returns the bytes it takes. */
static size_t
put(char *page, size_t at, const char *s, int escape)
{
    size_t n = 0;

    for (; s && *s; s++) {
        const char *rep = escape ? html_entity(*s) : NULL;
        size_t len = rep ? strlen(rep) : 1;

        if (page)
            memcpy(page + at + n, rep ? rep : s, len);
        n += len;
    }
    return n;
}

/* Writes the page of r into page (NULL: only measures). Returns its
 * length. */
static size_t
write_page(char *page, const struct herald_oauth_result *r)
{
    size_t n = put(page, 0, PAGE_HEAD, 0);

    n += put(page, n, r->status == 200 ? "Connected" : "Not connected", 1);
    n += put(page, n, "</h1>\n<p>", 0);
    if (r->status == 200) {
        n += put(page, n, r->network, 1);
        n += put(page, n, " account <strong>", 0);
        n += put(page, n, r->username, 1);
        n += put(page, n, "</strong>: ", 0);
    }
    n += put(page, n, r->message, 1);
    return n + put(page, n, PAGE_TAIL, 0);
}

char *
herald_api_callback_page(const struct herald_oauth_result *r, size_t *len)
{
    size_t n = write_page(NULL, r);
    char *page = malloc(n + 1);

    if (!page)
        return NULL;
    write_page(page, r);
    page[n] = '\0';
    *len = n;
    return page;
}

static void
answer_html(struct herald_request *req, const struct herald_oauth_result *r)
{
    size_t len = 0;
    char *page = herald_api_callback_page(r, &len);

    if (!page) {
        herald_request_error(req, 503, "out_of_memory", "try again");
        return;
    }
    herald_request_respond(req, r->status, "text/html; charset=utf-8", page,
                           len, NULL);
    free(page);
}

char *
herald_api_callback_location(const struct herald_oauth_result *r)
{
    char *code = herald_host_api()->url_encode(r->code);
    char *location = NULL;
    const char *sep = strchr(r->return_url, '?') ? "&" : "?";
    int n;

    if (!code)
        return NULL;
    if (r->status == 200)
        n = asprintf(&location, "Location: %s%sstatus=%s&account_id=%lld",
                     r->return_url, sep, code, (long long)r->account_id);
    else
        n = asprintf(&location, "Location: %s%sstatus=error&error=%s",
                     r->return_url, sep, code);
    free(code);
    return n < 0 ? NULL : location;
}

static void
answer_redirect(struct herald_request *req,
                const struct herald_oauth_result *r)
{
    const char *headers[2] = {NULL, NULL};
    char *location = herald_api_callback_location(r);

    if (!location) {
        answer_html(req, r);
        return;
    }
    headers[0] = location;
    herald_request_respond(req, 302, "text/plain", "", 0, headers);
    free(location);
}

static int
wants_json(struct herald_request *req)
{
    const char *accept = herald_request_header(req, "Accept");

    return accept && strstr(accept, "application/json") &&
           !strstr(accept, "text/html");
}

static void
callback_done(const struct herald_oauth_result *r, void *udata)
{
    struct herald_request *req = udata;

    if (r->return_url && *r->return_url && !wants_json(req)) {
        answer_redirect(req, r);
    } else if (wants_json(req)) {
        json_t *body = json_pack("{s:s,s:s,s:s?,s:s?,s:s?}", "status",
                                 r->status == 200 ? "ok" : "error", "code",
                                 r->code, "message", r->message, "network",
                                 r->network, "username", r->username);

        if (r->account_id > 0)
            json_object_set_new(body, "account_id",
                                json_integer(r->account_id));
        herald_request_respond_json(req, r->status, body);
    } else {
        answer_html(req, r);
    }
}

static void
get_callback(struct herald_daemon *d, struct herald_request *req,
             const struct api_params *params)
{
    struct herald_oauth_callback cb = {
        .state = herald_request_query(req, "state"),
        .code = herald_request_query(req, "code"),
        .error = herald_request_query(req, "error"),
        .error_description = herald_request_query(req, "error_description"),
    };

    herald_oauth_finish(d, params->value[0], &cb, callback_done, req);
}

const struct api_route herald_api_oauth_routes[] = {
    {"POST", "/v1/connect", 0, post_connect},
    {"POST", "/v1/accounts/:id/reauthorize", 0, post_reauthorize},
    {"GET", "/v1/oauth/:network/callback", 1, get_callback},
    {NULL, NULL, 0, NULL},
};
