/*
 * keeper.c - plans and runs renewals and access checks, and moves
 * accounts between active, degraded and disconnected.
 *
 * The plan lives in the store (accounts.next_action_at), so it survives
 * restarts and costs no memory per account. The timer is armed for the
 * earliest planned action; when it fires, a small batch of due accounts
 * is claimed (their next action pushed past the action's own deadline so
 * nothing claims them twice) and their operations start. Each completion
 * stores its result and re-plans the account.
 */
#include "keeper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "daemon.h"
#include "hostapi.h"
#include "log.h"
#include "metrics.h"
#include "scheduler.h"

/* Most actions in flight at once, and claimed per wake-up. */
#define MAX_IN_FLIGHT 16
#define BATCH         8

/* A claimed account is not claimed again for this long. */
#define CLAIM_MS (5 * 60 * 1000LL)

/* Renew when a quarter of the lifetime is left, at least 1 min ahead. */
#define RENEW_MARGIN_MIN_MS (60 * 1000LL)

enum action_kind { ACTION_RENEW, ACTION_CHECK };

struct herald_keeper {
    struct herald_daemon *d;
    ev_timer timer;
    unsigned in_flight;
    int64_t busy[MAX_IN_FLIGHT];      /* accounts with an action in flight */
    int64_t renew_now[MAX_IN_FLIGHT]; /* told their token expired */
    int64_t check_now[MAX_IN_FLIGHT]; /* asked to be checked now */
    int stopping;                     /* completions store nothing */
};

/* One running action. */
struct action {
    struct herald_keeper *k;
    struct herald_network *net;
    enum action_kind kind;
    struct herald_store_account account;
    struct herald_store_credentials creds;
    struct herald_credentials view;
    struct herald_account plugin_account;
};

static void arm(struct herald_keeper *k);

static int64_t
now_ms(void)
{
    return herald_host_api()->now_ms();
}

static int
in_set(const int64_t *set, int64_t id)
{
    for (size_t i = 0; i < MAX_IN_FLIGHT; i++)
        if (set[i] == id)
            return 1;
    return 0;
}

static void
set_put(int64_t *set, int64_t id)
{
    for (size_t i = 0; i < MAX_IN_FLIGHT; i++) {
        if (set[i] == 0 || set[i] == id) {
            set[i] = id;
            return;
        }
    }
}

static void
set_drop(int64_t *set, int64_t id)
{
    for (size_t i = 0; i < MAX_IN_FLIGHT; i++)
        if (set[i] == id)
            set[i] = 0;
}

int64_t
herald_keeper_renew_at(enum herald_token_model model,
                       const struct herald_credentials *creds,
                       int64_t obtained_at)
{
    int64_t expires = creds->access_expires_at;
    int64_t lifetime = expires - obtained_at;
    int64_t margin;

    if (expires <= 0)
        return 0;
    switch (model) {
    case HERALD_TOKEN_ROTATING_REFRESH:
    case HERALD_TOKEN_FIXED_DEADLINE_REFRESH:
        if (!creds->refresh_token)
            return 0;
        /* A quarter of the lifetime, at least a minute, at most half. */
        margin = lifetime / 4;
        if (margin < RENEW_MARGIN_MIN_MS)
            margin = RENEW_MARGIN_MIN_MS;
        if (margin > lifetime / 2)
            margin = lifetime / 2;
        return expires - margin;
    case HERALD_TOKEN_SELF_EXTENDING:
        /*
         * Halfway through its life: well after any minimum age a network
         * sets (Instagram: a day of sixty), which the plugin enforces.
         */
        return obtained_at + lifetime / 2;
    case HERALD_TOKEN_EXCHANGE_ONLY:
    case HERALD_TOKEN_NON_EXPIRING:
        return 0;
    }
    return 0;
}

static int64_t
jitter(int64_t span)
{
    uint32_t r;

    if (span <= 0)
        return 0;
    herald_crypto_random(&r, sizeof(r));
    return (int64_t)(r % (uint64_t)span);
}

/* The next identity check: an interval after the last success, spread. */
static int64_t
check_at(const struct herald_daemon *d, const struct herald_store_account *a)
{
    int64_t interval = (int64_t)d->cfg->account_check_interval_s * 1000;
    int64_t base = a->last_ok_at > 0 ? a->last_ok_at : now_ms();

    return base + interval + jitter(interval / 10);
}

/*
 * The time to retry after the failures-th transient failure in a row:
 * the configured floor doubling up to the ceiling, +/- 20 %, and never
 * before a time the network asked for.
 */
static int64_t
backoff(const struct herald_config *cfg, int failures, int64_t retry_at)
{
    uint32_t r;
    int64_t at;

    herald_crypto_random(&r, sizeof(r));
    at = herald_config_retry_at(cfg, failures, now_ms(), r);
    return retry_at > at ? retry_at : at;
}

static void
record(struct herald_daemon *d, const char *type, int64_t id, json_t *detail)
{
    herald_store_event_append(d->store, type, id, 0, detail);
    json_decref(detail);
}

#define DAY_MS (24 * 60 * 60 * 1000LL)

/* A reminder before a deadline. */
struct reminder {
    const char *kind; /* "expiring" or "reconnect" */
    int64_t deadline;
    int days;
    int64_t at; /* deadline - days */
};

/*
 * Finds the next reminder of account a not sent yet: before its hard
 * deadline while it is connected, before its reconnect deadline while it
 * is disconnected. Returns 1 and *r, or 0 when none is left.
 */
static int
next_reminder(struct herald_daemon *d, const struct herald_store_account *a,
              struct reminder *r)
{
    const int *days = d->cfg->reminder_days;
    size_t count = d->cfg->reminder_count;

    r->kind = "expiring";
    r->deadline = a->hard_deadline;
    if (a->status == HERALD_ACCOUNT_DISCONNECTED) {
        r->kind = "reconnect";
        r->deadline = a->reconnect_deadline;
        days = d->cfg->reconnect_reminder_days;
        count = d->cfg->reconnect_reminder_count;
    } else if (a->status != HERALD_ACCOUNT_ACTIVE &&
               a->status != HERALD_ACCOUNT_DEGRADED) {
        return 0;
    }
    if (r->deadline <= now_ms())
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (herald_store_reminder_sent(d->store, a->id, r->kind, r->deadline,
                                       days[i]) == 0) {
            r->days = days[i];
            r->at = r->deadline - days[i] * DAY_MS;
            return 1;
        }
    }
    return 0;
}

/*
 * Sends the reminders of account a that are due: an event each (the
 * notifier turns it into notices), recorded so none goes twice. When
 * several are due at once (an account connected 5 days before its
 * deadline), only the closest is sent; the others are recorded as
 * passed.
 */
static void
send_reminders(struct herald_daemon *d, const struct herald_store_account *a)
{
    struct reminder r, later;
    int64_t now = now_ms();

    while (next_reminder(d, a, &r) && r.at <= now) {
        herald_store_begin(d->store);
        herald_store_reminder_put(d->store, a->id, r.kind, r.deadline, r.days,
                                  now);
        /* Passed over when a closer one is due too. */
        if (!(next_reminder(d, a, &later) && later.at <= now &&
              later.deadline == r.deadline)) {
            record(d,
                   strcmp(r.kind, "expiring") == 0
                       ? "account.expiring"
                       : "account.reconnect_deadline",
                   a->id,
                   json_pack("{s:I,s:i,s:s,s:s?}", "deadline",
                             (json_int_t)r.deadline, "days", r.days, "network",
                             a->network, "username", a->username));
            HLOG_ACCOUNT(LOG_INFO, "keeper", a->id, 0,
                         "reminder: %d day(s) before the %s deadline", r.days,
                         r.kind);
        }
        herald_store_commit(d->store);
    }
}

/* Computes and stores the next action of account id. */
static void
plan(struct herald_keeper *k, int64_t id)
{
    struct herald_daemon *d = k->d;
    struct herald_store_account a = {0};
    struct herald_store_credentials c = {0};
    struct herald_credentials view;
    struct herald_network *net;
    struct reminder r;
    int64_t next = 0, renew;

    if (herald_store_account_get(d->store, id, &a) != 0)
        return;
    net = herald_registry_find(&d->registry, a.network);
    if (net && net->enabled &&
        (a.status == HERALD_ACCOUNT_ACTIVE ||
         a.status == HERALD_ACCOUNT_DEGRADED)) {
        next = check_at(d, &a);
        if (herald_store_credentials_get(d->store, id, &c) == 0) {
            herald_store_credentials_view(&c, &view);
            renew = herald_keeper_renew_at(net->plugin->token_model, &view,
                                           c.updated_at);
            if (renew > 0 && renew < next)
                next = renew;
            herald_store_credentials_clear(&c);
        }
    }
    if (next_reminder(d, &a, &r) && (next == 0 || r.at < next))
        next = r.at;
    herald_store_account_plan(d->store, id, next);
    herald_store_account_clear(&a);
}

static const char *
reason_words(enum herald_access_reason r)
{
    switch (r) {
    case HERALD_ACCESS_EXPIRED:
        return "the access expired";
    case HERALD_ACCESS_PASSWORD_CHANGED:
        return "the password was changed";
    case HERALD_ACCESS_REVOKED:
        return "access was revoked";
    case HERALD_ACCESS_APP_REMOVED:
        return "the app was removed from the account";
    case HERALD_ACCESS_PERMISSION_MISSING:
        return "a permission is missing";
    case HERALD_ACCESS_INVALID:
        return "the access is no longer valid";
    }
    return "access was lost";
}

static const char *
reason_code(enum herald_access_reason r)
{
    switch (r) {
    case HERALD_ACCESS_EXPIRED:
        return "expired";
    case HERALD_ACCESS_PASSWORD_CHANGED:
        return "password_changed";
    case HERALD_ACCESS_REVOKED:
        return "revoked";
    case HERALD_ACCESS_APP_REMOVED:
        return "app_removed";
    case HERALD_ACCESS_PERMISSION_MISSING:
        return "permission_missing";
    case HERALD_ACCESS_INVALID:
        return "invalid";
    }
    return "lost";
}

/* active|degraded -> disconnected, with the reason and the time. */
static void
disconnect(struct herald_daemon *d, int64_t id, const char *network,
           enum herald_access_reason reason, const char *message)
{
    struct herald_network *net = herald_registry_find(&d->registry, network);
    int64_t now = now_ms();
    int64_t window = net ? net->plugin->reconnect_window : 0;
    int64_t reconnect_by = window > 0 ? now + window * 1000 : 0;

    herald_store_begin(d->store);
    herald_store_account_set_status(d->store, id, HERALD_ACCOUNT_DISCONNECTED,
                                    reason_words(reason), now, reconnect_by);
    herald_store_account_renewing(d->store, id, 0);
    record(d, "account.disconnected", id,
           json_pack("{s:s,s:s,s:s?}", "reason", reason_code(reason),
                     "reason_text", reason_words(reason), "message", message));
    herald_store_commit(d->store);
    HLOG_ACCOUNT(LOG_NOTICE, "keeper", id, 0, "disconnected: %s",
                 reason_words(reason));
    /* Only reminders of its reconnect window are planned from now on. */
    if (d->keeper)
        plan(d->keeper, id);
    /* Its queued posts are blocked at the scheduler's next pass. */
    herald_scheduler_kick(d);
}

/* The action worked: active, failures forgotten, recovered if degraded. */
static void
action_ok(struct action *x)
{
    struct herald_daemon *d = x->k->d;
    int64_t id = x->account.id;

    herald_store_begin(d->store);
    herald_store_account_ok(d->store, id, now_ms());
    if (x->account.status == HERALD_ACCOUNT_DEGRADED) {
        herald_store_account_set_status(d->store, id, HERALD_ACCOUNT_ACTIVE,
                                        NULL, now_ms(), 0);
        record(d, "account.recovered", id, NULL);
        HLOG_ACCOUNT(LOG_NOTICE, "keeper", id, 0, "recovered");
    }
    herald_store_commit(d->store);
}

/* A transient failure: degraded, retried with backoff. */
static void
action_transient(struct action *x, const struct herald_outcome *o)
{
    struct herald_daemon *d = x->k->d;
    int64_t id = x->account.id;
    int failures = 0;
    const char *why = o->message ? o->message : "the network did not answer";

    herald_store_begin(d->store);
    herald_store_account_failed(d->store, id, &failures);
    if (x->account.status == HERALD_ACCOUNT_ACTIVE) {
        herald_store_account_set_status(d->store, id, HERALD_ACCOUNT_DEGRADED,
                                        why, now_ms(), 0);
        record(d, "account.degraded", id,
               json_pack("{s:s,s:i}", "message", why, "http_status",
                         o->http_status));
        HLOG_ACCOUNT(LOG_NOTICE, "keeper", id, 0, "degraded: %s", why);
    }
    herald_store_account_plan(d->store, id,
                              backoff(d->cfg, failures, o->retry_at));
    herald_store_commit(d->store);
}

static void
action_free(struct action *x)
{
    herald_store_credentials_clear(&x->creds);
    herald_store_account_clear(&x->account);
    free(x);
}

static void
finish(struct action *x)
{
    struct herald_keeper *k = x->k;

    set_drop(k->busy, x->account.id);
    k->in_flight--;
    action_free(x);
    if (!k->stopping)
        arm(k);
}

/* Stores renewed credentials unless a reauthorization replaced them. */
static int
store_renewed(struct action *x, const struct herald_credentials *fresh)
{
    struct herald_daemon *d = x->k->d;
    int rc;

    herald_store_begin(d->store);
    rc = herald_store_credentials_put_if(d->store, x->account.id,
                                         x->creds.version, fresh);
    herald_store_account_renewing(d->store, x->account.id, 0);
    herald_store_commit(d->store);
    return rc;
}

static void
renew_done(struct action *x, const struct herald_outcome *o,
           const struct herald_result *res)
{
    struct herald_daemon *d = x->k->d;
    int64_t id = x->account.id;

    switch (o->kind) {
    case HERALD_OUTCOME_DONE:
        if (!res || !res->credentials) {
            action_transient(x, o);
            break;
        }
        if (store_renewed(x, res->credentials) == -ESTALE)
            HLOG_ACCOUNT(LOG_INFO, "keeper", id, 0,
                         "renewal superseded by a reauthorization");
        set_drop(x->k->renew_now, id);
        action_ok(x);
        plan(x->k, id);
        herald_scheduler_account_ready(d, id);
        break;
    case HERALD_OUTCOME_TOKEN_EXPIRED:
        disconnect(d, id, x->account.network, HERALD_ACCESS_EXPIRED,
                   o->message);
        break;
    case HERALD_OUTCOME_ACCESS_LOST:
        disconnect(d, id, x->account.network, o->reason, o->message);
        break;
    default:
        herald_store_account_renewing(d->store, id, 0);
        action_transient(x, o);
        break;
    }
}

static void
check_done(struct action *x, const struct herald_outcome *o)
{
    struct herald_daemon *d = x->k->d;
    int64_t id = x->account.id;
    int refreshable = x->net->plugin->capabilities & HERALD_CAP_REFRESH;

    switch (o->kind) {
    case HERALD_OUTCOME_DONE:
        action_ok(x);
        plan(x->k, id);
        break;
    case HERALD_OUTCOME_TOKEN_EXPIRED:
        if (!refreshable) {
            disconnect(d, id, x->account.network, HERALD_ACCESS_EXPIRED,
                       o->message);
            break;
        }
        set_put(x->k->renew_now, id);
        herald_store_account_plan(d->store, id, now_ms());
        break;
    case HERALD_OUTCOME_ACCESS_LOST:
        disconnect(d, id, x->account.network, o->reason, o->message);
        break;
    default:
        action_transient(x, o);
        break;
    }
}

/* Counts a finished renewal (renewed only with new credentials) or
 * access check. */
static void
count_action(const struct action *x, const struct herald_outcome *o,
             const struct herald_result *res)
{
    const char *name = x->net->plugin->name;
    int ok = o->kind == HERALD_OUTCOME_DONE;

    if (x->kind == ACTION_RENEW)
        herald_metrics_renewal(name, ok && res && res->credentials
                                         ? HERALD_METRICS_OK
                                         : HERALD_METRICS_FAILED);
    else
        herald_metrics_check(name,
                             ok ? HERALD_METRICS_OK : HERALD_METRICS_FAILED);
}

static void
on_action(struct herald_op *op, const struct herald_outcome *outcome,
          const struct herald_result *result, void *udata)
{
    struct action *x = udata;

    (void)op;
    if (!x->k->stopping)
        count_action(x, outcome, result);
    /* At shutdown a renewal in flight stays marked as interrupted. */
    if (!x->k->stopping && x->kind == ACTION_RENEW)
        renew_done(x, outcome, result);
    else if (!x->k->stopping)
        check_done(x, outcome);
    finish(x);
}

static int
load_action(struct action *x, int64_t id)
{
    struct herald_daemon *d = x->k->d;
    int rc;

    rc = herald_store_account_get(d->store, id, &x->account);
    if (rc == 0 && x->account.status != HERALD_ACCOUNT_ACTIVE &&
        x->account.status != HERALD_ACCOUNT_DEGRADED)
        rc = -ENOENT;
    if (rc == 0) {
        x->net = herald_registry_find(&d->registry, x->account.network);
        if (!x->net || !x->net->enabled)
            rc = -ENOENT;
    }
    if (rc == 0)
        rc = herald_store_credentials_get(d->store, id, &x->creds);
    if (rc != 0)
        return rc;
    herald_store_credentials_view(&x->creds, &x->view);
    x->plugin_account.id = id;
    x->plugin_account.remote_id = x->account.remote_id;
    x->plugin_account.creds = &x->view;
    x->plugin_account.targets = x->account.targets;
    return 0;
}

static enum action_kind
choose(struct herald_keeper *k, struct action *x)
{
    int64_t renew = herald_keeper_renew_at(x->net->plugin->token_model,
                                           &x->view, x->creds.updated_at);
    int refreshable = x->net->plugin->capabilities & HERALD_CAP_REFRESH;

    if (refreshable &&
        (in_set(k->renew_now, x->account.id) ||
         x->account.renewing_since > 0 || (renew > 0 && renew <= now_ms())))
        return ACTION_RENEW;
    return ACTION_CHECK;
}

/* Starts the due action of one account. Returns 0 when started. */
static int
start_action(struct herald_keeper *k, int64_t id)
{
    struct herald_daemon *d = k->d;
    struct action *x = calloc(1, sizeof(*x));
    struct herald_op *op;
    int rc;

    if (!x)
        return -ENOMEM;
    x->k = k;
    rc = load_action(x, id);
    if (rc != 0) {
        herald_store_account_plan(d->store, id, 0);
        action_free(x);
        return rc;
    }
    x->kind = choose(k, x);
    herald_store_account_plan(d->store, id, now_ms() + CLAIM_MS);
    /* Durable before the request: a crash from here on is detected. */
    if (x->kind == ACTION_RENEW)
        herald_store_account_renewing(d->store, id, now_ms());

    HLOG_ACCOUNT(LOG_DEBUG, "keeper", id, 0, "%s starting",
                 x->kind == ACTION_RENEW ? "renewal" : "access check");
    /*
     * Counted before the plugin runs: it may complete at once, inside
     * the call, and then finish() has already undone this and freed x.
     */
    set_put(k->busy, id);
    set_drop(k->check_now, id);
    k->in_flight++;
    op = herald_op_new(x->net, id, 0, 0, on_action, x);
    if (op)
        rc = x->kind == ACTION_RENEW
                 ? x->net->plugin->refresh(x->net->state, op,
                                           &x->plugin_account)
                 : x->net->plugin->identity(x->net->state, op,
                                            &x->plugin_account);
    if (!op || rc != 0) {
        if (op)
            herald_op_abandon(op);
        set_drop(k->busy, id);
        k->in_flight--;
        herald_store_account_renewing(d->store, id, 0);
        herald_store_account_plan(d->store, id, backoff(d->cfg, 1, 0));
        action_free(x);
        return -EIO;
    }
    return 0;
}

/* Whether an account's renewal or access check is due now. */
static int
action_due(struct herald_keeper *k, const struct herald_store_account *a)
{
    struct herald_daemon *d = k->d;
    struct herald_network *net =
        herald_registry_find(&d->registry, a->network);
    struct herald_store_credentials c = {0};
    struct herald_credentials view;
    int64_t interval = (int64_t)d->cfg->account_check_interval_s * 1000;
    int64_t renew = 0;
    int due;

    if (a->status != HERALD_ACCOUNT_ACTIVE &&
        a->status != HERALD_ACCOUNT_DEGRADED)
        return 0;
    if (in_set(k->renew_now, a->id) || in_set(k->check_now, a->id) ||
        a->renewing_since > 0 || a->status == HERALD_ACCOUNT_DEGRADED)
        return 1;
    due = a->last_ok_at + interval <= now_ms();
    if (!due && net &&
        herald_store_credentials_get(d->store, a->id, &c) == 0) {
        herald_store_credentials_view(&c, &view);
        renew = herald_keeper_renew_at(net->plugin->token_model, &view,
                                       c.updated_at);
        due = renew > 0 && renew <= now_ms();
        herald_store_credentials_clear(&c);
    }
    return due;
}

/* Handles one account whose planned time came: reminders, then its
 * renewal or check if one is due, else a new plan. */
static void
due_account(struct herald_keeper *k, int64_t id)
{
    struct herald_store_account a = {0};

    if (herald_store_account_get(k->d->store, id, &a) != 0)
        return;
    send_reminders(k->d, &a);
    if (action_due(k, &a))
        start_action(k, id);
    else
        plan(k, id);
    herald_store_account_clear(&a);
}

static void
run_due(struct herald_keeper *k)
{
    int64_t ids[BATCH];
    size_t n = 0;

    if (k->in_flight >= MAX_IN_FLIGHT)
        return;
    if (herald_store_accounts_due(k->d->store, now_ms(), ids, BATCH, &n) != 0)
        return;
    for (size_t i = 0; i < n && k->in_flight < MAX_IN_FLIGHT; i++) {
        if (!in_set(k->busy, ids[i]))
            due_account(k, ids[i]);
    }
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct herald_keeper *k = w->data;

    (void)loop;
    (void)revents;
    /* A stopping daemon starts nothing new. */
    if (k->d->stop_asked > 0)
        return;
    run_due(k);
    arm(k);
}

/* Arms the timer for the earliest planned action. */
static void
arm(struct herald_keeper *k)
{
    struct herald_daemon *d = k->d;
    int64_t at = 0;
    double delay;

    ev_timer_stop(d->loop, &k->timer);
    if (d->stop_asked > 0 || k->in_flight >= MAX_IN_FLIGHT)
        return;
    if (herald_store_account_next_action(d->store, &at) != 0)
        return;
    delay = (double)(at - now_ms()) / 1000.0;
    ev_timer_set(&k->timer, delay > 0 ? delay : 0., 0.);
    ev_timer_start(d->loop, &k->timer);
}

/* Accounts whose renewal a crash cut short: degraded until resolved. */
static void
recover_interrupted(struct herald_keeper *k)
{
    struct herald_daemon *d = k->d;
    static const char why[] =
        "a renewal was interrupted by a restart; it is being checked";
    int64_t ids[64];
    size_t n = 0;

    if (herald_store_accounts_renewing(d->store, ids, 64, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        herald_store_begin(d->store);
        herald_store_account_set_status(
            d->store, ids[i], HERALD_ACCOUNT_DEGRADED, why, now_ms(), 0);
        herald_store_account_plan(d->store, ids[i], now_ms());
        record(d, "account.degraded", ids[i],
               json_pack("{s:s}", "message", why));
        herald_store_commit(d->store);
        HLOG_ACCOUNT(LOG_NOTICE, "keeper", ids[i], 0, "%s", why);
    }
}

int
herald_keeper_start(struct herald_daemon *d)
{
    struct herald_keeper *k = calloc(1, sizeof(*k));

    if (!k)
        return -ENOMEM;
    k->d = d;
    ev_timer_init(&k->timer, timer_cb, 0., 0.);
    k->timer.data = k;
    d->keeper = k;
    recover_interrupted(k);
    arm(k);
    return 0;
}

void
herald_keeper_stop(struct herald_daemon *d)
{
    struct herald_keeper *k = d->keeper;

    if (!k)
        return;
    k->stopping = 1;
    ev_timer_stop(d->loop, &k->timer);
    /* Ends the actions in flight now, while the keeper still exists. */
    if (d->client)
        herald_client_cancel_all(d->client);
    free(k);
    d->keeper = NULL;
}

void
herald_keeper_rearm(struct herald_daemon *d)
{
    if (d->keeper)
        arm(d->keeper);
}

unsigned
herald_keeper_in_flight(const struct herald_daemon *d)
{
    return d->keeper ? d->keeper->in_flight : 0;
}

void
herald_keeper_account_changed(struct herald_daemon *d, int64_t account_id)
{
    if (!d->keeper)
        return;
    set_drop(d->keeper->renew_now, account_id);
    plan(d->keeper, account_id);
    arm(d->keeper);
}

int
herald_keeper_check_now(struct herald_daemon *d, int64_t account_id)
{
    int rc;

    if (!d->keeper)
        return -EAGAIN;
    if (in_set(d->keeper->busy, account_id))
        return 0;
    set_put(d->keeper->check_now, account_id);
    rc = herald_store_account_plan(d->store, account_id, now_ms());
    if (rc == 0)
        arm(d->keeper);
    return rc;
}

void
herald_keeper_report(struct herald_daemon *d, int64_t account_id,
                     const struct herald_outcome *o)
{
    struct herald_store_account a = {0};

    if (!d->keeper || herald_store_account_get(d->store, account_id, &a))
        return;
    if (o->kind == HERALD_OUTCOME_ACCESS_LOST &&
        (a.status == HERALD_ACCOUNT_ACTIVE ||
         a.status == HERALD_ACCOUNT_DEGRADED)) {
        /* Once: later attempts that find the same loss change nothing. */
        disconnect(d, account_id, a.network, o->reason, o->message);
    } else if (o->kind == HERALD_OUTCOME_TOKEN_EXPIRED) {
        set_put(d->keeper->renew_now, account_id);
        herald_store_account_plan(d->store, account_id, now_ms());
        arm(d->keeper);
    } else if (o->kind == HERALD_OUTCOME_DONE) {
        herald_store_account_ok(d->store, account_id, now_ms());
    }
    herald_store_account_clear(&a);
}
