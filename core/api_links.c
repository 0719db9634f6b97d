/*
 * api_links.c - what the notifier shows through the API: the one-time
 * reauthorization links of its emails (GET /v1/r/{token}, open, for a
 * person's browser) and the notices it delivers (GET /v1/notices and
 * GET /v1/notices/{id}, for the calling app).
 *
 * A link is taken and the authorization started in one transaction, so
 * a link is spent only when the person is really sent on to the
 * network's login; whatever goes wrong, the person gets a short page
 * saying what to do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "log.h"
#include "oauth.h"

#define LIST_DEFAULT 100
#define LIST_MAX     1000

/* Appends s to page (len bytes) with HTML's special characters escaped. */
static void
append_escaped(char *page, size_t len, const char *s)
{
    size_t n = strlen(page);

    for (; *s && n + 7 < len; s++) {
        const char *rep = *s == '<'    ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '&'  ? "&amp;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&#39;"
                                       : NULL;

        if (rep) {
            memcpy(page + n, rep, strlen(rep));
            n += strlen(rep);
        } else {
            page[n++] = *s;
        }
    }
    page[n] = '\0';
}

/* Answers a person with a small page: a title and one sentence. */
static void
answer_page(struct herald_request *req, unsigned status, const char *title,
            const char *message)
{
    static const char *const headers[] = {
        "Cache-Control: no-store", "Referrer-Policy: no-referrer", NULL};
    char page[2048] = "<!doctype html>\n<html lang=\"en\"><head><meta "
                      "charset=\"utf-8\"><title>herald</title></head>"
                      "<body style=\"font-family:sans-serif;max-width:"
                      "36em;margin:3em auto\">\n<h1>";

    append_escaped(page, sizeof(page), title);
    strcat(page, "</h1>\n<p>");
    append_escaped(page, sizeof(page), message);
    strcat(page, "</p>\n</body></html>\n");
    herald_request_respond(req, status, "text/html; charset=utf-8", page,
                           strlen(page), headers);
}

/* Answers a link that cannot be used, by the reason the store gave. */
static void
refuse_link(struct herald_request *req, int rc)
{
    if (rc == -EALREADY)
        answer_page(req, 410, "This link was already used",
                    "Each reconnection link works once. If your account "
                    "still needs reconnecting, please ask for a new link.");
    else if (rc == -ESTALE)
        answer_page(req, 410, "This link has expired",
                    "Please ask for a new link to reconnect your account.");
    else if (rc == -ENOENT)
        answer_page(req, 404, "This link is not known",
                    "Please check that the whole link was copied, or ask "
                    "for a new one.");
    else
        answer_page(req, 503, "Please try again in a moment",
                    "The reconnection could not start just now; the link "
                    "still works.");
}

/*
 * Takes the link and starts a reauthorization of its account, in the
 * caller's transaction. Returns 0 and *url, or a negative errno value
 * after answering.
 */
static int
start_reauthorization(struct herald_daemon *d, struct herald_request *req,
                      const char *token, char **url)
{
    struct herald_store_account a = {0};
    struct herald_oauth_request r = {0};
    struct herald_error err = {""};
    int64_t account_id = 0;
    int rc;

    rc = herald_store_link_take(d->store, token, herald_api_now_ms(),
                                &account_id);
    if (rc != 0) {
        refuse_link(req, rc);
        return rc;
    }
    rc = herald_store_account_get(d->store, account_id, &a);
    if (rc != 0) {
        refuse_link(req, -EIO);
    } else if (a.status == HERALD_ACCOUNT_REMOVED) {
        answer_page(req, 410, "This account was removed",
                    "There is nothing left to reconnect.");
        rc = -ENODEV;
    } else {
        r.network = a.network;
        r.owner_id = a.owner_id;
        r.owner_email = a.owner_email;
        r.account_id = account_id;
        rc = herald_oauth_start(d, &r, url, &err);
        if (rc != 0) {
            HLOG_ACCOUNT(LOG_WARNING, "api", account_id, 0,
                         "a reauthorization link could not start: %s",
                         err.msg);
            refuse_link(req, -EIO);
        }
    }
    if (rc == 0)
        HLOG_ACCOUNT(LOG_NOTICE, "api", account_id, 0,
                     "reauthorization link followed");
    herald_store_account_clear(&a);
    return rc;
}

static void
get_link(struct herald_daemon *d, struct herald_request *req,
         const struct api_params *params)
{
    const char *token = params->value[0];
    char *location = NULL;
    char *url = NULL;
    int rc;

    if (strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-_") != strlen(token)) {
        refuse_link(req, -ENOENT);
        return;
    }
    rc = herald_store_begin(d->store);
    if (rc != 0) {
        refuse_link(req, rc);
        return;
    }
    rc = start_reauthorization(d, req, token, &url);
    if (rc == 0) {
        rc = herald_store_commit(d->store);
        if (rc != 0)
            refuse_link(req, -EIO);
    } else {
        herald_store_rollback(d->store);
    }
    if (rc == 0 && asprintf(&location, "Location: %s", url) >= 0) {
        const char *headers[] = {location, "Cache-Control: no-store",
                                 "Referrer-Policy: no-referrer", NULL};

        herald_request_respond(req, 302, "text/plain", "", 0, headers);
    } else if (rc == 0) {
        refuse_link(req, -ENOMEM);
    }
    free(location);
    free(url);
}

/* A notice as the API shows it (never its body). New reference. */
static json_t *
notice_json(const struct herald_store_notice *n)
{
    char event_id[24];
    json_t *o;

    /* A string, as in the webhooks' "id". */
    snprintf(event_id, sizeof(event_id), "%lld", (long long)n->event_id);
    o = json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:s?}", "id", (json_int_t)n->id,
        "channel", herald_store_notice_channel_name(n->channel), "status",
        herald_store_notice_status_name(n->status), "event_id", event_id,
        "event_type", n->event_type, "events", (json_int_t)n->events,
        "attempts", (json_int_t)n->attempts, "last_error", n->last_error);
    json_object_set_new(o, "account_id",
                        n->account_id ? json_integer(n->account_id)
                                      : json_null());
    json_object_set_new(o, "post_id",
                        n->post_id ? json_integer(n->post_id) : json_null());
    json_object_set_new(o, "recipient",
                        n->recipient ? json_string(n->recipient)
                                     : json_null());
    json_object_set_new(o, "created_at", herald_api_time_json(n->created_at));
    json_object_set_new(o, "updated_at", herald_api_time_json(n->updated_at));
    json_object_set_new(o, "next_attempt_at",
                        herald_api_time_json(n->status == HERALD_NOTICE_PENDING
                                                 ? n->next_attempt_at
                                                 : 0));
    json_object_set_new(o, "delivered_at",
                        herald_api_time_json(n->delivered_at));
    return o;
}

static int
parse_filter(struct herald_request *req, struct herald_store_notice_filter *f,
             size_t *limit)
{
    const char *account = herald_request_query(req, "account");
    const char *status = herald_request_query(req, "status");
    const char *channel = herald_request_query(req, "channel");
    const char *after = herald_request_query(req, "after");
    enum herald_notice_status s;
    enum herald_notice_channel c;

    f->status = -1;
    f->channel = -1;
    f->event_type = herald_request_query(req, "type");
    if (account && (f->account_id = herald_api_parse_id(account)) == 0) {
        herald_request_error(req, 400, "invalid_query",
                             "'account' must be an account id");
        return -1;
    }
    if (status && herald_store_notice_status_parse(status, &s) != 0) {
        herald_request_error(req, 400, "invalid_query",
                             "'status' must be pending, delivered or "
                             "failed");
        return -1;
    }
    if (channel && herald_store_notice_channel_parse(channel, &c) != 0) {
        herald_request_error(req, 400, "invalid_query",
                             "'channel' must be email or webhook");
        return -1;
    }
    if (after && (f->after_id = herald_api_parse_id(after)) == 0) {
        herald_request_error(req, 400, "invalid_query",
                             "'after' must be a notice id");
        return -1;
    }
    f->status = status ? (int)s : -1;
    f->channel = channel ? (int)c : -1;
    return herald_api_limit(req, LIST_DEFAULT, LIST_MAX, limit);
}

static void
get_notices(struct herald_daemon *d, struct herald_request *req,
            const struct api_params *params)
{
    struct herald_store_notice_filter f = {0};
    struct herald_store_notice *rows;
    json_t *list;
    size_t limit, n = 0;

    (void)params;
    if (parse_filter(req, &f, &limit) != 0)
        return;
    /* One row more than the page: whether a next page exists. */
    rows = calloc(limit + 1, sizeof(*rows));
    if (!rows || herald_store_notice_list(d->store, &f, rows, limit + 1, &n)) {
        free(rows);
        herald_request_error(req, 503, "store_unavailable",
                             "the notices could not be read");
        return;
    }
    list = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(list, notice_json(&rows[i]));
    herald_request_respond_json(
        req, 200,
        json_pack("{s:o,s:o}", "notices", list, "next",
                  n > limit ? json_integer(rows[limit - 1].id) : json_null()));
    for (size_t i = 0; i < n; i++)
        herald_store_notice_clear(&rows[i]);
    free(rows);
}

/* Rewrites the store's millisecond times of attempts as RFC 3339. */
static void
format_attempts(json_t *attempts)
{
    static const char *const keys[] = {"started_at", "ended_at"};
    size_t i;
    json_t *a;

    json_array_foreach(attempts, i, a)
    {
        for (size_t k = 0; k < 2; k++) {
            json_int_t ms = json_integer_value(json_object_get(a, keys[k]));
            json_object_set_new(a, keys[k], herald_api_time_json(ms));
        }
    }
}

static void
get_notice(struct herald_daemon *d, struct herald_request *req,
           const struct api_params *params)
{
    struct herald_store_notice n = {0};
    int64_t id = herald_api_parse_id(params->value[0]);
    json_t *attempts = NULL;
    json_t *body;

    if (id == 0 || herald_store_notice_get(d->store, id, &n) != 0) {
        herald_request_error(req, 404, "not_found", "no such notice");
        return;
    }
    if (herald_store_notice_attempts(d->store, id, &attempts) != 0) {
        herald_store_notice_clear(&n);
        herald_request_error(req, 503, "store_unavailable",
                             "the notice could not be read");
        return;
    }
    format_attempts(attempts);
    body = notice_json(&n);
    json_object_set_new(body, "attempt_log", attempts);
    herald_store_notice_clear(&n);
    herald_request_respond_json(req, 200, body);
}

const struct api_route herald_api_link_routes[] = {
    {"GET", "/v1/r/:token", 1, get_link},
    {"GET", "/v1/notices", 0, get_notices},
    {"GET", "/v1/notices/:id", 0, get_notice},
    {NULL, NULL, 0, NULL},
};
