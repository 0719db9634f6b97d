/*
 * api_events.c - the audit trail through the API: GET /v1/events.
 *
 * Events are listed oldest first and paged by id: "next" is the "after"
 * of the following page.
 */
#include <stdlib.h>

#include "api_private.h"

#define LIST_DEFAULT 100
#define LIST_MAX     1000

static int
parse_time_param(struct herald_request *req, const char *name, int64_t *ms)
{
    const char *v = herald_request_query(req, name);

    *ms = 0;
    if (!v)
        return 0;
    if (herald_api_parse_time(v, ms) == 0)
        return 0;
    herald_request_error(req, 400, "invalid_query",
                         "'%s' must be an RFC 3339 time", name);
    return -1;
}

static int
parse_filter(struct herald_request *req, struct herald_store_event_filter *f,
             size_t *limit)
{
    const char *account = herald_request_query(req, "account");
    const char *after = herald_request_query(req, "after");

    f->type = herald_request_query(req, "type");
    if (account && (f->account_id = herald_api_parse_id(account)) == 0) {
        herald_request_error(req, 400, "invalid_query",
                             "'account' must be an account id");
        return -1;
    }
    if (after && (f->after_id = herald_api_parse_id(after)) == 0) {
        herald_request_error(req, 400, "invalid_query",
                             "'after' must be an event id");
        return -1;
    }
    if (parse_time_param(req, "since", &f->since) ||
        parse_time_param(req, "until", &f->until))
        return -1;
    return herald_api_limit(req, LIST_DEFAULT, LIST_MAX, limit);
}

/* Rewrites the store's millisecond times as RFC 3339. */
static void
format_times(json_t *events)
{
    size_t i;
    json_t *e;

    json_array_foreach(events, i, e)
    {
        json_int_t at = json_integer_value(json_object_get(e, "at"));
        json_object_set_new(e, "at", herald_api_time_json(at));
    }
}

static void
get_events(struct herald_daemon *d, struct herald_request *req,
           const struct api_params *params)
{
    struct herald_store_event_filter f = {0};
    json_t *events = NULL;
    size_t limit;
    size_t n;
    json_t *last;

    (void)params;
    if (parse_filter(req, &f, &limit) != 0)
        return;
    /* One event more than the page: whether a next page exists. */
    if (herald_store_event_list(d->store, &f, limit + 1, &events) != 0) {
        herald_request_error(req, 503, "store_unavailable",
                             "the events could not be read");
        return;
    }
    n = json_array_size(events);
    if (n > limit)
        json_array_remove(events, limit);
    last = n > limit ? json_object_get(json_array_get(events, limit - 1), "id")
                     : NULL;
    format_times(events);
    herald_request_respond_json(req, 200,
                                json_pack("{s:o,s:O}", "events", events,
                                          "next", last ? last : json_null()));
}

const struct api_route herald_api_event_routes[] = {
    {"GET", "/v1/events", 0, get_events},
    {NULL, NULL, 0, NULL},
};
