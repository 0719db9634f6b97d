/*
 * oauth.c - starts authorizations and completes their callbacks.
 *
 * A callback runs through these steps, each refusing with nothing stored:
 *
 *   network known and enabled -> state present -> state taken (unknown,
 *   expired, used: refused) -> state issued for this network -> the
 *   person did not refuse -> code present -> plugin exchange (async) ->
 *   identity matches the account being reauthorized -> stored.
 *
 * The state is consumed by the first callback that presents it, whatever
 * happens next, so a replayed callback never gets further than the take.
 */
#include "oauth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "hostapi.h"
#include "keeper.h"
#include "scheduler.h"
#include "log.h"

/* A callback waiting for the plugin's exchange. */
struct pending_callback {
    struct herald_daemon *d;
    struct herald_network *net;
    struct herald_store_auth auth;
    /* The plugin keeps a pointer to these until it completes. */
    struct herald_exchange_request req;
    char *code;
    herald_oauth_done_fn done;
    void *udata;
};

static const char *
redirect_uri_of(const struct herald_network *net)
{
    return json_string_value(json_object_get(net->config, "redirect_uri"));
}

static struct herald_network *
enabled_network(struct herald_daemon *d, const char *name)
{
    struct herald_network *net =
        name ? herald_registry_find(&d->registry, name) : NULL;

    return net && net->enabled ? net : NULL;
}

/*
 * Whether url starts with one of the configured return URLs, ending
 * where that one ends or at a boundary ('/', '?', '#'): a prefix written
 * without its final '/' ("https://app.example.com") does not admit
 * another host that merely starts the same ("https://app.example.com.evil
 * .net/").
 */
static int
return_url_allowed(const struct herald_config *cfg, const char *url)
{
    for (size_t i = 0; i < cfg->return_url_count; i++) {
        const char *prefix = cfg->return_urls[i];
        size_t n = strlen(prefix);

        if (n > 0 && strncmp(url, prefix, n) == 0 &&
            (prefix[n - 1] == '/' || strchr("/?#", url[n])))
            return 1;
    }
    return 0;
}

static int
check_request(struct herald_daemon *d, const struct herald_oauth_request *r,
              struct herald_error *err)
{
    if (!r->owner_id || !*r->owner_id || strlen(r->owner_id) > 200) {
        herald_error_set(err, "'owner_id' is required (1 to 200 bytes)");
        return -EINVAL;
    }
    if (r->owner_email &&
        (!strchr(r->owner_email, '@') || strlen(r->owner_email) > 254)) {
        herald_error_set(err, "'owner_email' is not an email address");
        return -EINVAL;
    }
    if (r->return_url && !return_url_allowed(d->cfg, r->return_url)) {
        herald_error_set(err, "'return_url' is not one of the configured "
                              "return_urls");
        return -EPERM;
    }
    return 0;
}

/* Stores the attempt and asks the plugin for its login URL. */
static int
authorize(struct herald_daemon *d, struct herald_network *net,
          const struct herald_oauth_request *r, char **url,
          struct herald_error *err)
{
    int pkce = (net->plugin->capabilities & HERALD_CAP_PKCE) != 0;
    char *verifier = NULL, *challenge = NULL, *state = NULL;
    struct herald_authorize_request areq = {0};
    struct herald_store_auth auth = {0};
    int rc = -ENOMEM;

    state = herald_crypto_token(32);
    if (!state || (pkce && herald_crypto_pkce(&verifier, &challenge) != 0))
        goto out;

    auth.network = net->plugin->name;
    auth.owner_id = r->owner_id;
    auth.owner_email = r->owner_email;
    auth.account_id = r->account_id;
    auth.return_url = r->return_url;
    auth.verifier = verifier;
    auth.created_at = herald_host_api()->now_ms();
    auth.expires_at = auth.created_at + HERALD_OAUTH_STATE_TTL_MS;
    rc = herald_store_auth_put(d->store, state, &auth);
    if (rc != 0) {
        herald_error_set(err, "cannot store the authorization attempt");
        rc = -EIO;
        goto out;
    }

    areq.state = state;
    areq.code_challenge = challenge;
    areq.redirect_uri = redirect_uri_of(net);
    rc = net->plugin->authorize_url(net->state, &areq, url);
    if (rc != 0)
        herald_error_set(err, "network '%s' could not build its login URL",
                         net->plugin->name);
out:
    if (verifier)
        sodium_memzero(verifier, strlen(verifier));
    free(verifier);
    free(challenge);
    free(state);
    return rc;
}

int
herald_oauth_start(struct herald_daemon *d,
                   const struct herald_oauth_request *r, char **url,
                   struct herald_error *err)
{
    struct herald_network *net = enabled_network(d, r->network);
    int rc;

    if (!net) {
        herald_error_set(err, "network '%s' is not loaded or not enabled",
                         r->network ? r->network : "");
        return -ENOENT;
    }
    rc = check_request(d, r, err);
    if (rc == 0)
        rc = authorize(d, net, r, url, err);
    return rc;
}

static void
finish_with(herald_oauth_done_fn done, void *udata, unsigned status,
            const char *code, const char *message)
{
    struct herald_oauth_result r = {
        .status = status,
        .code = code,
        .message = message,
    };

    done(&r, udata);
}

/* Refusals of the state itself, by the take's error. */
static void
refuse_state(int rc, herald_oauth_done_fn done, void *udata)
{
    const char *message;

    switch (rc) {
    case -ESTALE:
        message = "this authorization has expired; please start again";
        break;
    case -EALREADY:
        message = "this authorization was already used; please start again";
        break;
    default:
        message = "this authorization is not known; please start again";
        break;
    }
    finish_with(done, udata, 400, "invalid_state", message);
}

static void
free_pending(struct pending_callback *p)
{
    if (p->code)
        sodium_memzero(p->code, strlen(p->code));
    free(p->code);
    herald_store_auth_clear(&p->auth);
    free(p);
}

/* Maps a failed exchange to an answer for the person. */
static void
exchange_failed(struct pending_callback *p, const struct herald_outcome *o)
{
    char message[400];
    int transient = o->kind == HERALD_OUTCOME_RETRY_LATER ||
                    o->kind == HERALD_OUTCOME_RATE_LIMITED ||
                    o->kind == HERALD_OUTCOME_UNKNOWN;

    snprintf(message, sizeof(message),
             transient ? "%s could not be reached to finish connecting; "
                         "please try again in a moment"
                       : "%s refused to finish connecting: %s",
             p->net->plugin->display_name,
             o->message ? o->message : "no reason given");
    HLOG(LOG_NOTICE, "oauth", "exchange on '%s' failed: %s",
         p->net->plugin->name, message);
    finish_with(p->done, p->udata, transient ? 502 : 400,
                transient ? "network_unavailable" : "exchange_refused",
                message);
}

static json_t *
event_detail(const struct herald_identity *id, const char *owner_id)
{
    return json_pack("{s:s,s:s?,s:s}", "remote_id", id->id, "username",
                     id->username, "owner_id", owner_id);
}

/*
 * Writes the account, its credentials and the event in one transaction.
 * *account_id is the account to update (reconnect) or 0 (create).
 */
static int
store_account(struct pending_callback *p, const struct herald_result *res,
              int64_t *account_id, const char *event)
{
    struct herald_store *st = p->d->store;
    const struct herald_identity *id = res->identity;
    struct herald_store_account a = {0};
    int reconnect = *account_id > 0;
    int64_t released = 0;
    json_t *detail;
    int rc;

    a.network = p->net->plugin->name;
    a.remote_id = id->id;
    a.username = id->username ? id->username : id->id;
    a.display_name = id->display_name;
    a.owner_id = p->auth.owner_id;
    a.owner_email = p->auth.owner_email;
    a.status = HERALD_ACCOUNT_ACTIVE;
    a.targets = res->targets;
    a.connected_at = herald_host_api()->now_ms();
    a.last_ok_at = a.connected_at;

    rc = herald_store_begin(st);
    if (rc != 0)
        return rc;
    if (*account_id > 0)
        rc = herald_store_account_reconnect(st, *account_id, &a);
    else
        rc = herald_store_account_create(st, &a, account_id);
    if (rc == 0)
        rc = herald_store_credentials_put(st, *account_id, res->credentials);
    /* Held posts go out again, in their order, as soon as this commits. */
    if (rc == 0 && reconnect)
        rc = herald_store_posts_bulk_move(
            st, *account_id, NULL, HERALD_POST_BIT(HERALD_POST_BLOCKED),
            HERALD_POST_QUEUED, 0, "post.released", &released);
    detail = event_detail(id, p->auth.owner_id);
    if (reconnect)
        json_object_set_new(detail, "released", json_integer(released));
    if (rc == 0)
        rc = herald_store_event_append(st, event, *account_id, 0, detail);
    json_decref(detail);
    if (rc == 0)
        rc = herald_store_commit(st);
    else
        herald_store_rollback(st);
    return rc;
}

/*
 * Decides which account a successful exchange belongs to. Returns 0 and
 * *account_id (0: a new account), or a refusal already answered.
 */
static int
match_account(struct pending_callback *p, const struct herald_identity *id,
              int64_t *account_id)
{
    struct herald_store_account a = {0};
    char message[400];
    int rc;

    *account_id = p->auth.account_id;
    if (*account_id > 0) {
        rc = herald_store_account_get(p->d->store, *account_id, &a);
        if (rc == 0 && a.status == HERALD_ACCOUNT_REMOVED)
            rc = -ENOENT;
        if (rc == 0 && strcmp(a.remote_id, id->id) != 0) {
            snprintf(message, sizeof(message),
                     "you logged in to %s as '%s', but this account is "
                     "'%s'; log in as '%s' and try again",
                     p->net->plugin->display_name,
                     id->username ? id->username : id->id, a.username,
                     a.username);
            rc = -EXDEV;
        }
        herald_store_account_clear(&a);
        if (rc == -ENOENT)
            finish_with(p->done, p->udata, 410, "account_removed",
                        "the account being reconnected was removed");
        else if (rc == -EXDEV)
            finish_with(p->done, p->udata, 409, "identity_mismatch", message);
        return rc;
    }

    rc = herald_store_account_find(p->d->store, p->net->plugin->name, id->id,
                                   &a);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0 && strcmp(a.owner_id, p->auth.owner_id) != 0) {
        finish_with(p->done, p->udata, 409, "already_connected",
                    "this account is already connected for another owner");
        rc = -EEXIST;
    } else if (rc == 0) {
        /* The same person connecting again: a reconnect of that account. */
        *account_id = a.id;
    }
    herald_store_account_clear(&a);
    return rc;
}

static void
exchange_done(struct pending_callback *p, const struct herald_result *res)
{
    const struct herald_identity *id = res ? res->identity : NULL;
    struct herald_oauth_result r = {0};
    int64_t account_id = 0;
    int reconnect;
    int rc;

    if (!id || !id->id || !res->credentials) {
        finish_with(p->done, p->udata, 502, "exchange_incomplete",
                    "the network answered without an identity or tokens");
        return;
    }
    if (match_account(p, id, &account_id) != 0)
        return;
    reconnect = account_id > 0;
    rc =
        store_account(p, res, &account_id,
                      reconnect ? "account.reconnected" : "account.connected");
    if (rc != 0) {
        finish_with(p->done, p->udata, 503, "store_unavailable",
                    "the account could not be stored; please try again");
        return;
    }
    HLOG_ACCOUNT(LOG_NOTICE, "oauth", account_id, 0, "%s '%s' on '%s'",
                 reconnect ? "reconnected" : "connected",
                 id->username ? id->username : id->id, p->net->plugin->name);
    herald_keeper_account_changed(p->d, account_id);
    herald_scheduler_kick(p->d);

    r.status = 200;
    r.code = reconnect ? "reconnected" : "connected";
    r.message = reconnect ? "the account is connected again"
                          : "the account is connected";
    r.network = p->net->plugin->display_name;
    r.account_id = account_id;
    r.username = id->username ? id->username : id->id;
    r.return_url = p->auth.return_url;
    p->done(&r, p->udata);
}

static void
on_exchange(struct herald_op *op, const struct herald_outcome *outcome,
            const struct herald_result *result, void *udata)
{
    struct pending_callback *p = udata;

    (void)op;
    if (outcome->kind == HERALD_OUTCOME_DONE)
        exchange_done(p, result);
    else
        exchange_failed(p, outcome);
    free_pending(p);
}

static void
start_exchange(struct pending_callback *p, const char *code)
{
    struct herald_op *op = NULL;

    p->code = strdup(code);
    p->req.code = p->code;
    p->req.code_verifier = p->auth.verifier;
    p->req.redirect_uri = redirect_uri_of(p->net);
    if (p->code)
        op = herald_op_new(p->net, p->auth.account_id, 0, 0, on_exchange, p);
    if (!op || p->net->plugin->exchange(p->net->state, op, &p->req) != 0) {
        if (op)
            herald_op_abandon(op);
        finish_with(p->done, p->udata, 503, "exchange_failed",
                    "the code exchange could not start; please try again");
        free_pending(p);
    }
}

/* Answers a refusal by the person, after the state was checked. */
static void
refused_by_person(struct pending_callback *p, const char *error)
{
    char message[300];

    snprintf(message, sizeof(message),
             "access to %s was not granted (%s); nothing was connected",
             p->net->plugin->display_name, error);
    finish_with(p->done, p->udata, 403, "access_denied", message);
    free_pending(p);
}

static struct pending_callback *
take_state(struct herald_daemon *d, struct herald_network *net,
           const char *state, herald_oauth_done_fn done, void *udata)
{
    struct pending_callback *p = calloc(1, sizeof(*p));
    int rc;

    if (!p) {
        finish_with(done, udata, 503, "out_of_memory", "try again");
        return NULL;
    }
    p->d = d;
    p->net = net;
    p->done = done;
    p->udata = udata;
    rc = herald_store_auth_take(d->store, state, &p->auth);
    if (rc == 0 && strcmp(p->auth.network, net->plugin->name) != 0) {
        finish_with(done, udata, 400, "invalid_state",
                    "this authorization was started for another network");
        free_pending(p);
        return NULL;
    }
    if (rc != 0) {
        HLOG(LOG_NOTICE, "oauth", "refused a callback on '%s': %s",
             net->plugin->name, strerror(-rc));
        refuse_state(rc, done, udata);
        free(p);
        return NULL;
    }
    return p;
}

void
herald_oauth_finish(struct herald_daemon *d, const char *network,
                    const struct herald_oauth_callback *cb,
                    herald_oauth_done_fn done, void *udata)
{
    struct herald_network *net = enabled_network(d, network);
    struct pending_callback *p;

    if (!net) {
        finish_with(done, udata, 404, "unknown_network",
                    "this network is not loaded or not enabled");
        return;
    }
    if (!cb->state || !*cb->state) {
        finish_with(done, udata, 400, "invalid_state",
                    "the callback carries no state");
        return;
    }
    p = take_state(d, net, cb->state, done, udata);
    if (!p)
        return;
    if (cb->error) {
        refused_by_person(p, cb->error);
        return;
    }
    if (!cb->code || !*cb->code) {
        finish_with(done, udata, 400, "missing_code",
                    "the callback carries no authorization code");
        free_pending(p);
        return;
    }
    start_exchange(p, cb->code);
}
