/*
 * scheduler.c - the publishing loop: promotes due posts, starts one
 * attempt per account within the limits, applies each typed outcome, and
 * reconciles attempts a crash left behind.
 *
 * A pass (run()) runs from the timer: it queues the posts that fell due,
 * then walks the accounts with queued posts and starts the first post of
 * each account that is free, not held and within its network's limits.
 * Everything it decides is in the store before it acts, so memory holds
 * only the attempts in flight.
 */
#include "scheduler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "daemon.h"
#include "hostapi.h"
#include "keeper.h"
#include "log.h"
#include "metrics.h"

/* Posts queued per pass, and accounts looked at per pass. */
#define PROMOTE_BATCH 512
#define ACCOUNT_BATCH 512

/* After the store failed a commit, a pass this long after. */
#define STORE_RETRY_S 1.0

/* While an account waits for a renewed token, at most this long. */
#define RENEWAL_WAIT_MS (60 * 1000LL)

/* A post requeued to wait for a renewal says so, to avoid a loop. */
static const char waiting_renewal[] = "waiting for a renewed token";

struct herald_scheduler {
    struct herald_daemon *d;
    ev_timer timer;
    unsigned in_flight;
    unsigned *per_network; /* attempts in flight, by registry index */
    int64_t *busy;         /* accounts with an attempt in flight */
    size_t busy_cap;
    int stopping;
    int running;    /* inside run() */
    int rerun;      /* a pass was asked for during run() */
    int orphans;    /* a commit was lost: posts may be left publishing */
    ev_timer again; /* a pass after a store failure */
};

/* One attempt, or one reconciliation, in flight. */
struct job {
    struct herald_scheduler *s;
    struct herald_network *net;
    size_t net_index;
    int reconcile;
    int64_t attempt_id;
    struct herald_store_account account;
    struct herald_store_credentials creds;
    struct herald_credentials view;
    struct herald_account plugin_account;
    struct herald_store_post post;
    const char **media;
    struct herald_post plugin_post;
    json_t *checkpoint;
    int claimed;      /* counted in flight, its account busy */
    struct job *next; /* run(): started once the pass is durable */
};

static void arm(struct herald_scheduler *s);
static int reconcile_all(struct herald_scheduler *s, const char *why);

static int64_t
now_ms(void)
{
    return herald_host_api()->now_ms();
}

static int
is_busy(const struct herald_scheduler *s, int64_t id)
{
    for (size_t i = 0; i < s->busy_cap; i++)
        if (s->busy[i] == id)
            return 1;
    return 0;
}

/* Marks an account busy or free; the set grows when it must. */
static void
set_busy(struct herald_scheduler *s, int64_t id, int busy)
{
    int64_t *grown;

    for (size_t i = 0; i < s->busy_cap; i++) {
        if (busy ? s->busy[i] == 0 : s->busy[i] == id) {
            s->busy[i] = busy ? id : 0;
            return;
        }
    }
    if (!busy)
        return;
    grown = realloc(s->busy, 2 * s->busy_cap * sizeof(*grown));
    if (!grown)
        return;
    memset(grown + s->busy_cap, 0, s->busy_cap * sizeof(*grown));
    grown[s->busy_cap] = id;
    s->busy = grown;
    s->busy_cap *= 2;
}

static size_t
network_index(struct herald_daemon *d, const struct herald_network *net)
{
    return (size_t)(net - d->registry.networks);
}

static unsigned
network_limit(const struct herald_network *net)
{
    json_int_t n =
        json_integer_value(json_object_get(net->config, "concurrency"));

    return n > 0 ? (unsigned)n : 8;
}

static void
event(struct herald_daemon *d, const char *type, const struct job *j,
      json_t *detail)
{
    herald_store_event_append(d->store, type, j->post.account_id, j->post.id,
                              detail);
    json_decref(detail);
}

static const char *
outcome_name(enum herald_outcome_kind k)
{
    static const char *const names[] = {
        [HERALD_OUTCOME_DONE] = "done",
        [HERALD_OUTCOME_RETRY_LATER] = "retry_later",
        [HERALD_OUTCOME_RATE_LIMITED] = "rate_limited",
        [HERALD_OUTCOME_TOKEN_EXPIRED] = "token_expired",
        [HERALD_OUTCOME_ACCESS_LOST] = "access_lost",
        [HERALD_OUTCOME_REJECTED] = "rejected",
        [HERALD_OUTCOME_DUPLICATE] = "duplicate",
        [HERALD_OUTCOME_UNKNOWN] = "unknown",
    };

    if (k < HERALD_OUTCOME_DONE || k > HERALD_OUTCOME_UNKNOWN)
        return "invalid";
    return names[k];
}

/* The wait before the attempts-th retry: the configured floor doubling to
 * the ceiling, +/- 20 %, never before what the network asked. */
static int64_t
retry_time(const struct herald_config *cfg, int64_t attempts, int64_t retry_at)
{
    uint32_t r;
    int64_t at;

    herald_crypto_random(&r, sizeof(r));
    at = herald_config_retry_at(cfg, attempts, now_ms(), r);
    return retry_at > at ? retry_at : at;
}

static void
job_free(struct job *j)
{
    herald_store_credentials_clear(&j->creds);
    herald_store_account_clear(&j->account);
    herald_store_post_clear(&j->post);
    json_decref(j->checkpoint);
    free(j->media);
    free(j);
}

static void
job_finish(struct job *j)
{
    struct herald_scheduler *s = j->s;

    set_busy(s, j->post.account_id, 0);
    s->in_flight--;
    s->per_network[j->net_index]--;
    job_free(j);
    if (!s->stopping)
        herald_scheduler_kick(s->d);
}

static void
end_attempt(struct job *j, const struct herald_outcome *o)
{
    struct herald_store_attempt_end end = {
        .outcome = outcome_name(o->kind),
        .http_status = o->http_status,
        .message = o->message,
    };

    herald_store_attempt_end(j->s->d->store, j->attempt_id, &end);
    event(j->s->d, "post.attempt", j,
          json_pack("{s:I,s:s,s:i,s:s?}", "attempt", (json_int_t)j->attempt_id,
                    "outcome", end.outcome, "http_status", o->http_status,
                    "message", o->message));
}

static void
published(struct job *j, const struct herald_outcome *o)
{
    struct herald_daemon *d = j->s->d;

    herald_store_post_published(d->store, j->post.id, o->remote_id,
                                o->remote_url);
    event(d, "post.published", j,
          json_pack("{s:s?,s:s?,s:b}", "remote_id", o->remote_id, "remote_url",
                    o->remote_url, "duplicate",
                    o->kind == HERALD_OUTCOME_DUPLICATE));
    HLOG_ACCOUNT(
        LOG_INFO, "scheduler", j->post.account_id, j->post.id, "published%s",
        o->kind == HERALD_OUTCOME_DUPLICATE ? " (the network had it already)"
                                            : "");
}

static void
move(struct job *j, enum herald_post_status to, const char *reason,
     int64_t next_at, const char *event_type)
{
    struct herald_daemon *d = j->s->d;

    herald_store_post_move(d->store, j->post.id,
                           HERALD_POST_BIT(HERALD_POST_PUBLISHING), to, reason,
                           next_at);
    if (event_type)
        event(d, event_type, j, json_pack("{s:s?}", "reason", reason));
}

/* A transient failure or a rate limit: retrying, unless the post has
 * been retried for too long already. */
static void
job_retry(struct job *j, const struct herald_outcome *o)
{
    struct herald_daemon *d = j->s->d;
    const struct herald_config *cfg = d->cfg;
    int64_t first =
        j->post.first_attempt_at ? j->post.first_attempt_at : now_ms();
    int64_t at = retry_time(cfg, j->post.attempts + 1, o->retry_at);
    char reason[400];

    if (now_ms() - first >= cfg->post_retry_limit_s * 1000) {
        snprintf(reason, sizeof(reason), "gave up after %lld attempts: %s",
                 (long long)(j->post.attempts + 1),
                 o->message ? o->message : outcome_name(o->kind));
        move(j, HERALD_POST_FAILED, reason, 0, "post.failed");
        return;
    }
    if (o->kind == HERALD_OUTCOME_RATE_LIMITED &&
        o->scope == HERALD_RATE_APP) {
        herald_store_network_hold_set(d->store, j->net->plugin->name, at);
    }
    /* Later posts of the account wait behind this one. */
    herald_store_account_hold(d->store, j->post.account_id, at);
    move(j, HERALD_POST_RETRYING, o->message, at, NULL);
}

static void
job_token_expired(struct job *j, const struct herald_outcome *o)
{
    struct herald_daemon *d = j->s->d;

    if (j->post.reason && strcmp(j->post.reason, waiting_renewal) == 0) {
        /* A fresh token did not help: treat it as transient. */
        job_retry(j, o);
        return;
    }
    herald_store_account_hold(d->store, j->post.account_id,
                              now_ms() + RENEWAL_WAIT_MS);
    move(j, HERALD_POST_QUEUED, waiting_renewal, 0, NULL);
    herald_keeper_report(d, j->post.account_id, o);
}

/* Whether an attempt of unknown outcome may be sent again: the network
 * (or the plugin) recognises a repeat, and the operator allows it. */
static int
resend_safe(const struct job *j)
{
    return j->s->d->cfg->resend_unknown &&
           (j->net->plugin->capabilities & HERALD_CAP_DEDUPLICATES);
}

static void
apply_outcome(struct job *j, const struct herald_outcome *o)
{
    struct herald_daemon *d = j->s->d;

    switch (o->kind) {
    case HERALD_OUTCOME_DONE:
    case HERALD_OUTCOME_DUPLICATE:
        published(j, o);
        herald_keeper_report(d, j->post.account_id, o);
        break;
    case HERALD_OUTCOME_REJECTED:
        move(j, HERALD_POST_FAILED,
             o->message ? o->message : "the network refused the post", 0,
             "post.failed");
        break;
    case HERALD_OUTCOME_ACCESS_LOST:
        herald_keeper_report(d, j->post.account_id, o);
        move(j, HERALD_POST_BLOCKED, "the account is disconnected", 0,
             "post.blocked");
        break;
    case HERALD_OUTCOME_TOKEN_EXPIRED:
        job_token_expired(j, o);
        break;
    case HERALD_OUTCOME_UNKNOWN:
        /* Sent again only where a repeat is answered as a duplicate. */
        if (resend_safe(j))
            job_retry(j, o);
        else
            move(j, HERALD_POST_UNKNOWN,
                 o->message ? o->message
                            : "the network may or may not have published it",
                 0, "post.unknown");
        break;
    default:
        job_retry(j, o);
        break;
    }
}

static void
on_published(struct herald_op *op, const struct herald_outcome *o,
             const struct herald_result *result, void *udata)
{
    struct job *j = udata;
    struct herald_daemon *d = j->s->d;

    (void)op;
    (void)result;
    /* At shutdown the attempt stays publishing: reconciled at start. */
    if (!j->s->stopping) {
        herald_metrics_publish(j->net->plugin->name, o->kind);
        /* Outcomes that arrive together are committed together. */
        herald_store_batch(d->store);
        herald_store_begin(d->store);
        end_attempt(j, o);
        apply_outcome(j, o);
        herald_store_commit(d->store);
    }
    job_finish(j);
}

/* A crash left this post publishing: what did the network do? */
static void
on_reconciled(struct herald_op *op, const struct herald_outcome *o,
              const struct herald_result *result, void *udata)
{
    struct job *j = udata;
    struct herald_daemon *d = j->s->d;
    static const char unsure[] =
        "interrupted by a restart; the network could not tell whether it "
        "was published";

    (void)op;
    (void)result;
    if (!j->s->stopping) {
        herald_store_batch(d->store);
        herald_store_begin(d->store);
        end_attempt(j, o);
        if (o->kind == HERALD_OUTCOME_DONE)
            published(j, o);
        else if (o->kind == HERALD_OUTCOME_REJECTED)
            move(j, HERALD_POST_QUEUED,
                 "not found at the network after a restart; sent again", 0,
                 NULL);
        else
            move(j, HERALD_POST_UNKNOWN, unsure, 0, "post.unknown");
        herald_store_commit(d->store);
    }
    job_finish(j);
}

/* Loads what a plugin needs into j. Returns 0 or a negative errno. */
static int
load_job(struct job *j)
{
    struct herald_store *st = j->s->d->store;
    size_t n;
    int rc;

    rc = herald_store_credentials_get(st, j->post.account_id, &j->creds);
    if (rc == 0)
        rc = herald_store_post_checkpoint(st, j->post.id, &j->checkpoint);
    if (rc != 0)
        return rc;
    herald_store_credentials_view(&j->creds, &j->view);
    j->plugin_account.id = j->account.id;
    j->plugin_account.remote_id = j->account.remote_id;
    j->plugin_account.creds = &j->view;
    j->plugin_account.targets = j->account.targets;

    n = json_array_size(j->post.media);
    j->media = calloc(n + 1, sizeof(*j->media));
    if (!j->media)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        j->media[i] = json_string_value(json_array_get(j->post.media, i));
    j->plugin_post.id = j->post.id;
    j->plugin_post.text = j->post.text;
    j->plugin_post.link = j->post.link;
    j->plugin_post.media = n ? j->media : NULL;
    j->plugin_post.target = j->post.target;
    j->plugin_post.checkpoint = j->checkpoint;
    return 0;
}

/* A job for post_id of account, which it takes over on success (the
 * caller's copy is left empty). */
static struct job *
new_job(struct herald_scheduler *s, struct herald_network *net,
        struct herald_store_account *account, int64_t post_id)
{
    struct job *j = calloc(1, sizeof(*j));

    if (!j)
        return NULL;
    j->s = s;
    j->net = net;
    j->net_index = network_index(s->d, net);
    if (herald_store_post_get(s->d->store, post_id, &j->post) != 0) {
        job_free(j);
        return NULL;
    }
    j->account = *account;
    memset(account, 0, sizeof(*account));
    return j;
}

/* Counts j in flight and its account busy, for the limits. */
static void
claim(struct job *j)
{
    struct herald_scheduler *s = j->s;

    set_busy(s, j->post.account_id, 1);
    s->in_flight++;
    s->per_network[j->net_index]++;
    j->claimed = 1;
}

/* Drops a claimed job that was never started. */
static void
unclaim(struct job *j)
{
    struct herald_scheduler *s = j->s;

    set_busy(s, j->post.account_id, 0);
    s->in_flight--;
    s->per_network[j->net_index]--;
    job_free(j);
}

/* Runs the plugin operation of j; on failure to start, ends it as a
 * transient failure. */
static void
launch(struct job *j)
{
    const struct herald_plugin *p = j->net->plugin;
    struct herald_op *op;
    int rc = load_job(j);

    if (!j->claimed)
        claim(j);
    if (!j->reconcile && j->post.attempts == 0)
        herald_metrics_lateness(p->name, now_ms() - j->post.scheduled_at);

    op = rc == 0
             ? herald_op_new(j->net, j->post.account_id, j->post.id,
                             j->attempt_id,
                             j->reconcile ? on_reconciled : on_published, j)
             : NULL;
    if (op)
        rc = j->reconcile ? p->lookup(j->net->state, op, &j->plugin_account,
                                      &j->plugin_post)
                          : p->publish(j->net->state, op, &j->plugin_account,
                                       &j->plugin_post);
    if (!op || rc != 0) {
        struct herald_outcome o = {
            .kind = j->reconcile ? HERALD_OUTCOME_UNKNOWN
                                 : HERALD_OUTCOME_RETRY_LATER,
            .message = "the plugin could not start the request",
        };
        if (op)
            herald_op_abandon(op);
        (j->reconcile ? on_reconciled : on_published)(NULL, &o, NULL, j);
    }
}

/*
 * Applies the lateness policy: a post that would go out more than its
 * limit (its own, else the engine's) after its schedule is expired
 * instead. Returns 1 when it was, and asks for another pass so the
 * account's next post is looked at.
 */
static int
too_late(struct herald_scheduler *s, struct job *j, int64_t now)
{
    struct herald_daemon *d = s->d;
    int64_t limit = j->post.expire_after_s;
    int64_t late = now - j->post.scheduled_at;
    char reason[200];

    if (limit == 0)
        limit = d->cfg->lateness_limit_s;
    if (limit <= 0 || late <= limit * 1000)
        return 0;
    snprintf(reason, sizeof(reason),
             "it would have gone out %lld s after its schedule; the limit "
             "is %lld s",
             (long long)(late / 1000), (long long)limit);
    herald_store_begin(d->store);
    if (herald_store_post_move(d->store, j->post.id,
                               HERALD_POST_BIT(HERALD_POST_QUEUED),
                               HERALD_POST_EXPIRED, reason, 0) == 0)
        event(d, "post.expired", j,
              json_pack("{s:s,s:I,s:I}", "reason", reason, "late_s",
                        (json_int_t)(late / 1000), "limit_s",
                        (json_int_t)limit));
    herald_store_commit(d->store);
    HLOG_ACCOUNT(LOG_INFO, "scheduler", j->post.account_id, j->post.id,
                 "expired: %s", reason);
    herald_scheduler_kick(d);
    return 1;
}

/* Every queued post of an account that cannot publish becomes blocked. */
static void
block_account(struct herald_scheduler *s, int64_t account_id,
              const char *reason)
{
    struct herald_store *st = s->d->store;
    int64_t post_id;

    while (herald_store_queued_first(st, account_id, &post_id) == 0) {
        if (herald_store_post_move(st, post_id,
                                   HERALD_POST_BIT(HERALD_POST_QUEUED),
                                   HERALD_POST_BLOCKED, reason, 0) != 0)
            break;
        herald_store_event_append(st, "post.blocked", account_id, post_id,
                                  NULL);
        HLOG_ACCOUNT(LOG_INFO, "scheduler", account_id, post_id, "blocked: %s",
                     reason);
    }
}

/*
 * Looks at one account with queued posts and, if its first post may go
 * now, begins its attempt and adds it to *ready. *wake is lowered to when
 * a held account may go.
 */
static void
consider(struct herald_scheduler *s, int64_t account_id, int64_t now,
         int64_t *wake, struct job **ready)
{
    struct herald_daemon *d = s->d;
    struct herald_store_account a = {0};
    struct herald_network *net;
    int64_t hold = 0, post_id;
    struct job *j;

    if (is_busy(s, account_id) ||
        herald_store_account_get(d->store, account_id, &a) != 0)
        return;
    net = herald_registry_find(&d->registry, a.network);
    if (a.status != HERALD_ACCOUNT_ACTIVE &&
        a.status != HERALD_ACCOUNT_DEGRADED) {
        block_account(s, account_id, "the account is not connected");
    } else if (!net || !net->enabled) {
        block_account(s, account_id, "the network is not enabled");
    } else if (a.hold_until > now) {
        hold = a.hold_until;
    } else if (herald_store_network_hold_get(d->store, a.network, &hold) ==
                   0 &&
               hold > now) {
        /* The whole network waits for its app-wide limit. */
    } else if (s->per_network[network_index(d, net)] < network_limit(net) &&
               herald_store_queued_first(d->store, account_id, &post_id) ==
                   0) {
        hold = 0;
        j = new_job(s, net, &a, post_id);
        if (j && too_late(s, j, now))
            job_free(j);
        else if (j && herald_store_attempt_begin(d->store, post_id, now,
                                                 &j->attempt_id) == 0) {
            claim(j);
            j->next = *ready;
            *ready = j;
        } else if (j)
            job_free(j);
    }
    if (hold > now && (*wake == 0 || hold < *wake))
        *wake = hold;
    herald_store_account_clear(&a);
}

/* Reverses a list of jobs, so they start in the order considered. */
static struct job *
reverse(struct job *j)
{
    struct job *out = NULL;

    while (j) {
        struct job *next = j->next;

        j->next = out;
        out = j;
        j = next;
    }
    return out;
}

static void
run(struct herald_scheduler *s)
{
    struct herald_daemon *d = s->d;
    int64_t ids[ACCOUNT_BATCH];
    int64_t now = now_ms();
    int64_t wake = 0;
    struct job *ready = NULL;
    size_t n = 0;
    int durable;

    s->running = 1;
    s->rerun = 0;
    /* The whole pass is one commit, made before any attempt is sent. */
    herald_store_batch(d->store);
    herald_store_posts_promote(d->store, now, PROMOTE_BATCH, &n);
    if (n == PROMOTE_BATCH)
        herald_scheduler_kick(d);
    if (herald_store_queued_accounts(d->store, ids, ACCOUNT_BATCH, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (s->in_flight >= d->cfg->publish_concurrency)
                break;
            consider(s, ids[i], now, &wake, &ready);
        }
    }
    durable = herald_store_flush(d->store) == 0;
    if (!durable)
        herald_scheduler_store_failed(d);
    ready = reverse(ready);
    while (ready) {
        struct job *j = ready;

        ready = j->next;
        /* Not durable: never sent; the posts are queued again as they
         * were, and the timer tries later. */
        if (durable)
            launch(j);
        else
            unclaim(j);
    }
    /* After a lost commit: the posts it left publishing, once the store
     * takes commits again (the reconciliation's own commit says so). */
    if (durable && s->orphans) {
        int waiting;

        herald_store_batch(d->store);
        waiting = reconcile_all(s, "whose outcome a failed commit lost");
        if (herald_store_flush(d->store) == 0 && waiting == 0) {
            s->orphans = 0;
            herald_scheduler_kick(d); /* the posts requeued */
        } else {
            /* The store failed again, or some must wait for their
             * account's attempt in flight: a pass in a second, not at
             * once, which would spin until then. */
            herald_scheduler_store_failed(d);
        }
    }
    s->running = 0;
    if (s->rerun) {
        herald_scheduler_kick(d);
        return;
    }
    arm(s);
    if (wake > 0 &&
        (!ev_is_active(&s->timer) || ev_timer_remaining(d->loop, &s->timer) >
                                         (double)(wake - now) / 1000.0)) {
        ev_timer_stop(d->loop, &s->timer);
        ev_timer_set(&s->timer, (double)(wake - now) / 1000.0, 0.);
        ev_timer_start(d->loop, &s->timer);
    }
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct herald_scheduler *s = w->data;

    (void)loop;
    (void)revents;
    if (s->stopping || s->d->stop_asked > 0)
        return;
    run(s);
}

/* Arms the timer for the next post that falls due. */
static void
arm(struct herald_scheduler *s)
{
    struct herald_daemon *d = s->d;
    int64_t at = 0;
    double delay;

    ev_timer_stop(d->loop, &s->timer);
    if (s->stopping || herald_store_posts_next_due(d->store, &at) != 0)
        return;
    delay = (double)(at - now_ms()) / 1000.0;
    ev_timer_set(&s->timer, delay > 0 ? delay : 0., 0.);
    ev_timer_start(d->loop, &s->timer);
}

void
herald_scheduler_kick(struct herald_daemon *d)
{
    struct herald_scheduler *s = d->scheduler;

    if (!s || s->stopping)
        return;
    if (s->running) {
        s->rerun = 1;
        return;
    }
    ev_timer_stop(d->loop, &s->timer);
    ev_timer_set(&s->timer, 0., 0.);
    ev_timer_start(d->loop, &s->timer);
}

void
herald_scheduler_account_ready(struct herald_daemon *d, int64_t account_id)
{
    if (!d->scheduler)
        return;
    herald_store_account_hold(d->store, account_id, 0);
    herald_scheduler_kick(d);
}

unsigned
herald_scheduler_in_flight(const struct herald_daemon *d)
{
    return d->scheduler ? d->scheduler->in_flight : 0;
}

/*
 * Queues again a post a crash left publishing on a network that answers a
 * repeat as a duplicate: sending it again either publishes it once or is
 * told it is already there.
 */
static void
requeue_interrupted(struct herald_daemon *d, const struct herald_store_post *p,
                    int64_t attempt_id)
{
    static const char why[] = "interrupted by a restart; sent again, the "
                              "network answers a repeat as a duplicate";
    struct herald_store_attempt_end end = {.outcome = "interrupted",
                                           .message = why};

    herald_store_begin(d->store);
    if (attempt_id)
        herald_store_attempt_end(d->store, attempt_id, &end);
    herald_store_post_move(d->store, p->id,
                           HERALD_POST_BIT(HERALD_POST_PUBLISHING),
                           HERALD_POST_QUEUED, why, 0);
    herald_store_commit(d->store);
}

/*
 * Starts the reconciliation of one post a crash, or a lost commit, left
 * publishing. Returns 1 when its account has an attempt in flight, so it
 * must wait, else 0.
 */
static int
reconcile(struct herald_scheduler *s, int64_t post_id)
{
    struct herald_daemon *d = s->d;
    struct herald_store_post p = {0};
    struct herald_store_account a = {0};
    struct herald_network *net = NULL;
    json_t *checkpoint = NULL;
    int64_t attempt_id = 0;
    struct job *j;

    if (herald_store_post_get(d->store, post_id, &p) == 0 &&
        is_busy(s, p.account_id)) {
        herald_store_post_clear(&p);
        return 1;
    }
    if (p.id && herald_store_account_get(d->store, p.account_id, &a) == 0)
        net = herald_registry_find(&d->registry, a.network);
    herald_store_attempt_open(d->store, post_id, &attempt_id, &checkpoint);
    json_decref(checkpoint);

    if (net && net->enabled && !is_busy(s, a.id) &&
        (net->plugin->capabilities & HERALD_CAP_LOOKUP) &&
        herald_plugin_has(net->plugin,
                          offsetof(struct herald_plugin, lookup)) &&
        (j = new_job(s, net, &a, post_id)) != NULL) {
        j->reconcile = 1;
        j->attempt_id = attempt_id;
        launch(j);
    } else if (net && net->enabled && d->cfg->resend_unknown &&
               (net->plugin->capabilities & HERALD_CAP_DEDUPLICATES)) {
        requeue_interrupted(d, &p, attempt_id);
    } else {
        struct herald_outcome o = {
            .kind = HERALD_OUTCOME_UNKNOWN,
            .message = "interrupted by a restart; this network cannot be "
                       "asked whether it was published",
        };
        struct herald_store_attempt_end end = {.outcome = "interrupted",
                                               .message = o.message};
        json_t *detail;

        herald_store_begin(d->store);
        if (attempt_id)
            herald_store_attempt_end(d->store, attempt_id, &end);
        herald_store_post_move(d->store, post_id,
                               HERALD_POST_BIT(HERALD_POST_PUBLISHING),
                               HERALD_POST_UNKNOWN, o.message, 0);
        detail = json_pack("{s:s}", "reason", o.message);
        herald_store_event_append(d->store, "post.unknown", p.account_id,
                                  post_id, detail);
        json_decref(detail);
        herald_store_commit(d->store);
    }
    herald_store_post_clear(&p);
    herald_store_account_clear(&a);
    return 0;
}

/*
 * Reconciles every post left publishing with no attempt in flight: at
 * start, those a crash interrupted; later, those whose outcome a lost
 * commit undid. Returns how many must wait for their account's attempt
 * in flight, or -1 when they could not be listed.
 */
static int
reconcile_all(struct herald_scheduler *s, const char *why)
{
    size_t max = 4 * (size_t)s->d->cfg->publish_concurrency + 256;
    int64_t *ids = calloc(max, sizeof(*ids));
    size_t n = 0;
    int waiting = -1;

    if (ids && herald_store_posts_publishing(s->d->store, ids, max, &n) == 0) {
        waiting = 0;
        for (size_t i = 0; i < n; i++)
            waiting += reconcile(s, ids[i]);
        if (n > (size_t)waiting)
            HLOG(LOG_NOTICE, "scheduler", "reconciling %zu post(s) %s",
                 n - (size_t)waiting, why);
    }
    free(ids);
    return waiting;
}

static void
again_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    herald_scheduler_kick(((struct herald_scheduler *)w->data)->d);
}

void
herald_scheduler_store_failed(struct herald_daemon *d)
{
    struct herald_scheduler *s = d->scheduler;

    if (!s || s->stopping)
        return;
    s->orphans = 1;
    if (!ev_is_active(&s->again)) {
        ev_timer_set(&s->again, STORE_RETRY_S, 0.);
        ev_timer_start(d->loop, &s->again);
    }
}

int
herald_scheduler_start(struct herald_daemon *d)
{
    struct herald_scheduler *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->d = d;
    s->busy_cap = d->cfg->publish_concurrency;
    s->busy = calloc(s->busy_cap, sizeof(*s->busy));
    s->per_network = calloc(d->registry.count + 1, sizeof(*s->per_network));
    if (!s->busy || !s->per_network) {
        free(s->busy);
        free(s->per_network);
        free(s);
        return -ENOMEM;
    }
    ev_timer_init(&s->timer, timer_cb, 0., 0.);
    s->timer.data = s;
    ev_timer_init(&s->again, again_cb, STORE_RETRY_S, 0.);
    s->again.data = s;
    d->scheduler = s;
    reconcile_all(s, "a restart interrupted");
    herald_scheduler_kick(d);
    return 0;
}

void
herald_scheduler_stop(struct herald_daemon *d)
{
    struct herald_scheduler *s = d->scheduler;

    if (!s)
        return;
    s->stopping = 1;
    ev_timer_stop(d->loop, &s->timer);
    ev_timer_stop(d->loop, &s->again);
    if (d->client)
        herald_client_cancel_all(d->client);
    free(s->busy);
    free(s->per_network);
    free(s);
    d->scheduler = NULL;
}
