/*
 * api_bulk.c - the API's operations on many posts at once, for one
 * account or a whole network: release the blocked ones now, cancel the
 * blocked ones, retry the failed and unknown ones. Each answers how many
 * posts it moved; each moved post gets its event.
 */
#include <string.h>

#include "api_private.h"
#include "scheduler.h"

/* One bulk operation: which posts move where. */
struct bulk {
    unsigned from;
    enum herald_post_status to;
    int now;           /* schedule the moved posts for now */
    const char *event; /* per moved post */
};

static const struct bulk release = {HERALD_POST_BIT(HERALD_POST_BLOCKED),
                                    HERALD_POST_QUEUED, 0, "post.released"};
static const struct bulk cancel_blocked = {
    HERALD_POST_BIT(HERALD_POST_BLOCKED), HERALD_POST_CANCELED, 0,
    "post.canceled"};
static const struct bulk retry_failed = {
    HERALD_POST_BIT(HERALD_POST_FAILED) | HERALD_POST_BIT(HERALD_POST_UNKNOWN),
    HERALD_POST_SCHEDULED, 1, "post.retried"};

static void
run(struct herald_daemon *d, struct herald_request *req, int64_t account_id,
    const char *network, const struct bulk *b)
{
    int64_t moved = 0;
    int rc = herald_store_posts_bulk_move(
        d->store, account_id, network, b->from, b->to,
        b->now ? herald_api_now_ms() : 0, b->event, &moved);

    if (rc != 0) {
        herald_request_error(req, 503, "store_unavailable",
                             "the posts could not be changed; none moved");
        return;
    }
    herald_request_respond_json(
        req, 200, json_pack("{s:I}", "moved", (json_int_t)moved));
    if (moved > 0)
        herald_scheduler_kick(d);
}

/* Runs b on the account of the path; a release needs it connected. */
static void
on_account(struct herald_daemon *d, struct herald_request *req,
           const struct api_params *params, const struct bulk *b)
{
    struct herald_store_account a = {0};
    int64_t id = herald_api_parse_id(params->value[0]);

    if (id == 0 || herald_store_account_get(d->store, id, &a) != 0) {
        herald_request_error(req, 404, "not_found", "no such account");
        return;
    }
    if (b == &release && a.status != HERALD_ACCOUNT_ACTIVE &&
        a.status != HERALD_ACCOUNT_DEGRADED)
        herald_request_error(req, 409, "not_connected",
                             "the account is %s: reconnect it first, its "
                             "posts are released then by themselves",
                             herald_store_account_status_name(a.status));
    else
        run(d, req, id, NULL, b);
    herald_store_account_clear(&a);
}

/* Runs b on every account of the network of the path. Released posts of
 * accounts still disconnected are blocked again at their turn. */
static void
on_network(struct herald_daemon *d, struct herald_request *req,
           const struct api_params *params, const struct bulk *b)
{
    if (!herald_registry_find(&d->registry, params->value[0])) {
        herald_request_error(req, 404, "not_found", "no such network");
        return;
    }
    run(d, req, 0, params->value[0], b);
}

static void
account_release(struct herald_daemon *d, struct herald_request *req,
                const struct api_params *params)
{
    on_account(d, req, params, &release);
}

static void
account_cancel(struct herald_daemon *d, struct herald_request *req,
               const struct api_params *params)
{
    on_account(d, req, params, &cancel_blocked);
}

static void
account_retry(struct herald_daemon *d, struct herald_request *req,
              const struct api_params *params)
{
    on_account(d, req, params, &retry_failed);
}

static void
network_release(struct herald_daemon *d, struct herald_request *req,
                const struct api_params *params)
{
    on_network(d, req, params, &release);
}

static void
network_cancel(struct herald_daemon *d, struct herald_request *req,
               const struct api_params *params)
{
    on_network(d, req, params, &cancel_blocked);
}

static void
network_retry(struct herald_daemon *d, struct herald_request *req,
              const struct api_params *params)
{
    on_network(d, req, params, &retry_failed);
}

const struct api_route herald_api_bulk_routes[] = {
    {"POST", "/v1/accounts/:id/release", 0, account_release},
    {"POST", "/v1/accounts/:id/cancel-blocked", 0, account_cancel},
    {"POST", "/v1/accounts/:id/retry-failed", 0, account_retry},
    {"POST", "/v1/networks/:name/release", 0, network_release},
    {"POST", "/v1/networks/:name/cancel-blocked", 0, network_cancel},
    {"POST", "/v1/networks/:name/retry-failed", 0, network_retry},
    {NULL, NULL, 0, NULL},
};
