/*
 * api_accounts.c - the API's accounts: list, show, remove.
 *
 * An account as the API shows it never carries a credential. Removing an
 * account erases its credentials and marks it removed in one transaction
 * (its audit events stay), then asks the network to revoke the tokens
 * where the plugin can, answering once that attempt is over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "hostapi.h"
#include "keeper.h"
#include "log.h"

#define LIST_DEFAULT 50
#define LIST_MAX     500

json_t *
herald_api_account_json(struct herald_daemon *d,
                        const struct herald_store_account *a)
{
    const struct herald_network *net =
        herald_registry_find(&d->registry, a->network);
    int64_t blocked = 0;
    json_t *o = json_pack(
        "{s:I,s:s,s:s?,s:s?,s:s?,s:{s:s,s:s?},s:s,s:s?}", "id",
        (json_int_t)a->id, "network", a->network, "network_name",
        net ? net->plugin->display_name : NULL, "username", a->username,
        "display_name", a->display_name, "owner", "id", a->owner_id, "email",
        a->owner_email, "status", herald_store_account_status_name(a->status),
        "status_reason", a->status_reason);

    json_object_set_new(o, "status_changed_at",
                        herald_api_time_json(a->status_changed_at));
    json_object_set_new(o, "connected_at",
                        herald_api_time_json(a->connected_at));
    json_object_set_new(o, "access_expires_at",
                        herald_api_time_json(a->access_expires_at));
    json_object_set_new(o, "hard_deadline",
                        herald_api_time_json(a->hard_deadline));
    json_object_set_new(o, "reconnect_deadline",
                        herald_api_time_json(a->reconnect_deadline));
    json_object_set_new(o, "last_ok_at", herald_api_time_json(a->last_ok_at));
    json_object_set_new(o, "targets",
                        a->targets ? json_incref(a->targets) : json_array());
    json_object_set_new(o, "created_at", herald_api_time_json(a->created_at));
    if (herald_store_posts_count(d->store, a->id, HERALD_POST_BLOCKED,
                                 &blocked) == 0)
        json_object_set_new(o, "blocked_posts", json_integer(blocked));
    return o;
}

static int
parse_filter(struct herald_request *req, struct herald_store_account_filter *f,
             size_t *limit)
{
    const char *status = herald_request_query(req, "status");
    const char *after = herald_request_query(req, "after");
    enum herald_account_status s;

    f->owner_id = herald_request_query(req, "owner");
    f->network = herald_request_query(req, "network");
    f->status = -1;
    if (status) {
        if (herald_store_account_status_parse(status, &s) != 0) {
            herald_request_error(req, 400, "invalid_query",
                                 "'status' must be pending, active, "
                                 "degraded, disconnected or removed");
            return -1;
        }
        f->status = (int)s;
    }
    if (after && (f->after_id = herald_api_parse_id(after)) == 0) {
        herald_request_error(req, 400, "invalid_query",
                             "'after' must be an account id");
        return -1;
    }
    return herald_api_limit(req, LIST_DEFAULT, LIST_MAX, limit);
}

static void
get_accounts(struct herald_daemon *d, struct herald_request *req,
             const struct api_params *params)
{
    struct herald_store_account_filter f = {0};
    struct herald_store_account *rows;
    json_t *list = json_array();
    size_t limit, n = 0;
    json_t *body;

    (void)params;
    if (parse_filter(req, &f, &limit) != 0) {
        json_decref(list);
        return;
    }
    /* One row more than the page: whether a next page exists. */
    rows = calloc(limit + 1, sizeof(*rows));
    if (!rows ||
        herald_store_account_list(d->store, &f, rows, limit + 1, &n)) {
        free(rows);
        json_decref(list);
        herald_request_error(req, 503, "store_unavailable",
                             "the accounts could not be read");
        return;
    }
    for (size_t i = 0; i < n && i < limit; i++) {
        json_array_append_new(list, herald_api_account_json(d, &rows[i]));
    }
    body = json_pack("{s:o}", "accounts", list);
    json_object_set_new(body, "next",
                        n > limit ? json_integer(rows[limit - 1].id)
                                  : json_null());
    for (size_t i = 0; i < n; i++)
        herald_store_account_clear(&rows[i]);
    free(rows);
    herald_request_respond_json(req, 200, body);
}

/* Loads the account named by the path, or answers 404. */
static int
load_account(struct herald_daemon *d, struct herald_request *req,
             const struct api_params *params, struct herald_store_account *a)
{
    int64_t id = herald_api_parse_id(params->value[0]);

    if (id > 0 && herald_store_account_get(d->store, id, a) == 0)
        return 0;
    herald_request_error(req, 404, "not_found", "no such account");
    return -1;
}

static void
get_account(struct herald_daemon *d, struct herald_request *req,
            const struct api_params *params)
{
    struct herald_store_account a = {0};

    if (load_account(d, req, params, &a) != 0)
        return;
    herald_request_respond_json(req, 200, herald_api_account_json(d, &a));
    herald_store_account_clear(&a);
}

/* A removal waiting for the network's revocation. */
struct removal {
    struct herald_daemon *d;
    struct herald_request *req;
    int64_t id;
    char *remote_id;
    struct herald_store_credentials creds;
    struct herald_credentials view;
    struct herald_account account;
};

static void
answer_removal(struct herald_request *req, int64_t id, const char *revoked,
               const char *message)
{
    herald_request_respond_json(
        req, 200,
        json_pack("{s:I,s:s,s:s,s:s?}", "id", (json_int_t)id, "status",
                  "removed", "revocation", revoked, "message", message));
}

static void
on_revoked(struct herald_op *op, const struct herald_outcome *o,
           const struct herald_result *result, void *udata)
{
    struct removal *r = udata;
    int ok = o->kind == HERALD_OUTCOME_DONE;

    (void)op;
    (void)result;
    herald_store_event_append(r->d->store,
                              ok ? "account.revoked" : "account.revoke_failed",
                              r->id, 0, NULL);
    answer_removal(r->req, r->id, ok ? "revoked" : "failed", o->message);
    herald_store_credentials_clear(&r->creds);
    free(r->remote_id);
    free(r);
}

static int
start_revoke(struct removal *r, struct herald_network *net,
             const char *remote_id)
{
    struct herald_op *op;

    r->remote_id = strdup(remote_id);
    if (!r->remote_id)
        return -ENOMEM;
    herald_store_credentials_view(&r->creds, &r->view);
    r->account.id = r->id;
    r->account.remote_id = r->remote_id;
    r->account.creds = &r->view;
    op = herald_op_new(net, r->id, 0, 0, on_revoked, r);
    if (!op)
        return -ENOMEM;
    if (net->plugin->revoke(net->state, op, &r->account) != 0) {
        herald_op_abandon(op);
        return -EIO;
    }
    return 0;
}

static void
delete_account(struct herald_daemon *d, struct herald_request *req,
               const struct api_params *params)
{
    struct herald_store_account a = {0};
    struct herald_network *net;
    struct removal *r;
    int can_revoke;

    if (load_account(d, req, params, &a) != 0)
        return;
    if (a.status == HERALD_ACCOUNT_REMOVED) {
        answer_removal(req, a.id, "none", "the account was already removed");
        herald_store_account_clear(&a);
        return;
    }
    net = herald_registry_find(&d->registry, a.network);
    can_revoke =
        net && net->enabled &&
        (net->plugin->capabilities & HERALD_CAP_REVOKE) &&
        herald_plugin_has(net->plugin, offsetof(struct herald_plugin, revoke));
    r = calloc(1, sizeof(*r));
    if (!r) {
        herald_store_account_clear(&a);
        herald_request_error(req, 503, "out_of_memory", "try again");
        return;
    }
    r->d = d;
    r->req = req;
    r->id = a.id;
    if (can_revoke &&
        herald_store_credentials_get(d->store, a.id, &r->creds) != 0)
        can_revoke = 0;

    if (herald_store_account_remove(d->store, a.id) != 0) {
        herald_request_error(req, 503, "store_unavailable",
                             "the account could not be removed");
    } else {
        HLOG_ACCOUNT(LOG_NOTICE, "api", a.id, 0, "account removed");
        herald_keeper_account_changed(d, a.id);
        if (can_revoke && start_revoke(r, net, a.remote_id) == 0) {
            herald_store_account_clear(&a);
            return;
        }
        answer_removal(req, a.id, can_revoke ? "failed" : "not_supported",
                       NULL);
    }
    herald_store_credentials_clear(&r->creds);
    free(r->remote_id);
    free(r);
    herald_store_account_clear(&a);
}

static void
post_check(struct herald_daemon *d, struct herald_request *req,
           const struct api_params *params)
{
    struct herald_store_account a = {0};

    if (load_account(d, req, params, &a) != 0)
        return;
    if (a.status != HERALD_ACCOUNT_ACTIVE &&
        a.status != HERALD_ACCOUNT_DEGRADED) {
        herald_request_error(req, 409, "not_connected",
                             "only an active or degraded account can be "
                             "checked; this one is %s",
                             herald_store_account_status_name(a.status));
    } else if (herald_keeper_check_now(d, a.id) != 0) {
        herald_request_error(req, 503, "unavailable",
                             "the check could not be planned");
    } else {
        herald_request_respond_json(req, 202,
                                    json_pack("{s:I,s:s}", "id",
                                              (json_int_t)a.id, "check",
                                              "planned"));
    }
    herald_store_account_clear(&a);
}

const struct api_route herald_api_account_routes[] = {
    {"POST", "/v1/accounts/:id/check", 0, post_check},
    {"GET", "/v1/accounts", 0, get_accounts},
    {"GET", "/v1/accounts/:id", 0, get_account},
    {"DELETE", "/v1/accounts/:id", 0, delete_account},
    {NULL, NULL, 0, NULL},
};
