/*
 * notifier.c - follows the audit trail, plans notices and delivers them.
 *
 * One timer drives everything. Each tick reads the events after the
 * cursor (a batch at a time), plans their notices and moves the cursor
 * in one transaction; then it starts the notices that are due, a few at
 * a time. A delivery ends in on_sent(), which records the attempt's
 * outcome and either marks the notice delivered or plans its retry.
 *
 * Planning reads the account and its posts once, when the event is
 * handled, so an email says how things stood when it was written; a
 * retry sends the same bytes again (same Message-ID), and a webhook
 * keeps its event id, so receivers can deduplicate.
 */
#include "notifier.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"
#include "clock.h"
#include "crypto.h"
#include "daemon.h"
#include "letters.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "webhook.h"

/* How often the audit trail is looked at, in seconds. */
#define POLL_SECONDS 0.25

/* Events planned per transaction. */
#define FOLLOW_BATCH 256

/* Deliveries in flight at most. */
#define MAX_IN_FLIGHT 8

/* How long one delivery may take. */
#define EMAIL_TIMEOUT_MS   60000L
#define WEBHOOK_TIMEOUT_MS 10000L

/* An attempt a crash cuts short is made again this long after it began
 * (past its timeout), so a lost one is not waited for forever. */
#define LEASE_MS (EMAIL_TIMEOUT_MS + 60000L)

/* The post.blocked webhook of a disconnection, and the email of expired
 * posts, wait this long, so the posts blocked or expired together are
 * counted in one notice. */
#define FOLD_WAIT_MS 2000

struct herald_notifier {
    struct herald_daemon *d;
    ev_timer timer;
    struct delivery *flying; /* in flight, doubly linked */
    unsigned in_flight;
    int more; /* the last batch of events was full: read on at once */
    unsigned plan_failing; /* batches that failed to plan in a row */
    unsigned failures[2];  /* failed attempts in a row, by channel */
};

/* One attempt in flight. */
struct delivery {
    struct herald_notifier *n; /* NULL once the notifier has stopped */
    int64_t id;
    int64_t attempt_id;
    int64_t account_id;
    enum herald_notice_channel channel;
    struct delivery *prev;
    struct delivery *next;
};

/* The event being planned, with what planning it needs. */
struct planned {
    int64_t id;
    const char *type;
    int64_t at;
    int64_t account_id;
    int64_t post_id;
    json_t *detail;                    /* borrowed, may be NULL */
    struct herald_store_account *acct; /* NULL when there is none */
    const char *network_name;
};

static const char *const webhook_types[] = {
    "account.connected",    "account.reconnected",
    "account.degraded",     "account.recovered",
    "account.disconnected", "account.removed",
    "account.expiring",     "account.reconnect_deadline",
    "post.published",       "post.failed",
    "post.released",        "post.expired",
    "post.blocked",
};

static int
is_webhook_type(const char *type)
{
    for (size_t i = 0; i < sizeof(webhook_types) / sizeof(*webhook_types); i++)
        if (strcmp(webhook_types[i], type) == 0)
            return 1;
    return 0;
}

static int64_t
now_ms(void)
{
    return herald_clock_now_ms();
}

/* ---- planning ------------------------------------------------------ */

static int
json_int_of(json_t *obj, const char *key, int64_t *v)
{
    json_t *j = json_object_get(obj, key);

    if (!json_is_integer(j))
        return 0;
    *v = json_integer_value(j);
    return 1;
}

/*
 * Whether an account.disconnected event repeats one already notified:
 * the account's last status change before it was a disconnection too.
 */
static int
repeated_disconnection(struct herald_daemon *d, const struct planned *e)
{
    char type[32];
    int64_t id;

    return herald_store_notice_last_status_event(
               d->store, e->account_id, e->id, type, sizeof(type), &id) == 0 &&
           strcmp(type, "account.disconnected") == 0;
}

/* The data of a webhook: the event's detail, and the account's names. */
static json_t *
webhook_data(const struct planned *e)
{
    json_t *data =
        json_is_object(e->detail) ? json_deep_copy(e->detail) : json_object();

    if (!data)
        return NULL;
    if (e->detail && !json_is_object(e->detail))
        json_object_set(data, "detail", e->detail);
    if (e->acct) {
        json_object_set_new(data, "network", json_string(e->acct->network));
        json_object_set_new(data, "network_name",
                            json_string(e->network_name));
        json_object_set_new(data, "username",
                            e->acct->username ? json_string(e->acct->username)
                                              : json_null());
    }
    return data;
}

/* post.blocked webhooks fold per account and disconnection. */
static int
fold_blocked(struct herald_daemon *d, const struct planned *e, char *key,
             size_t len)
{
    char type[32];
    int64_t since = 0;
    int64_t id;
    int rc;

    herald_store_notice_last_status_event(d->store, e->account_id, e->id, type,
                                          sizeof(type), &since);
    snprintf(key, len, "post.blocked:%lld:%lld", (long long)e->account_id,
             (long long)since);
    rc = herald_store_notice_fold(d->store, key, HERALD_NOTICE_WEBHOOK, &id);
    return rc;
}

static int
plan_webhook(struct herald_daemon *d, const struct planned *e)
{
    struct herald_store_notice in = {0};
    char key[96];
    json_t *body;
    char *text;
    int64_t id;
    int rc;

    if (strcmp(e->type, "post.blocked") == 0) {
        rc = fold_blocked(d, e, key, sizeof(key));
        if (rc != -ENOENT)
            return rc;
        in.group_key = key;
        in.next_attempt_at = now_ms() + FOLD_WAIT_MS;
    }
    body = herald_webhook_body(e->id, e->type, e->at, e->account_id,
                               e->post_id, webhook_data(e));
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return -ENOMEM;

    in.channel = HERALD_NOTICE_WEBHOOK;
    in.event_id = e->id;
    in.event_type = e->type;
    in.account_id = e->account_id;
    in.post_id = e->post_id;
    rc = herald_store_notice_add(d->store, &in, text, strlen(text), &id);
    free(text);
    /* Planned already (a batch replayed after a failed commit): fine. */
    return rc == -EEXIST ? 0 : rc;
}

/* The account's posts: on hold, and still to go out later. */
static void
count_posts(struct herald_daemon *d, int64_t account_id,
            struct herald_letter_facts *f)
{
    static const enum herald_post_status later[] = {
        HERALD_POST_SCHEDULED, HERALD_POST_QUEUED, HERALD_POST_RETRYING};
    int64_t n;

    if (herald_store_posts_count(d->store, account_id, HERALD_POST_BLOCKED,
                                 &n) == 0)
        f->blocked = n;
    for (size_t i = 0; i < sizeof(later) / sizeof(*later); i++)
        if (herald_store_posts_count(d->store, account_id, later[i], &n) == 0)
            f->scheduled += n;
}

/* When the person must act by, for the letter of e; 0 when unknown. */
static int64_t
deadline_of(const struct planned *e, int64_t now)
{
    int64_t at = 0;

    if (json_int_of(e->detail, "deadline", &at) && at > 0)
        return at;
    if (strcmp(e->type, "account.expiring") == 0)
        return e->acct->hard_deadline;
    if (e->acct->reconnect_deadline > 0)
        return e->acct->reconnect_deadline;
    /* A disconnected account can be reconnected until its hard
     * deadline at the latest. */
    if (strcmp(e->type, "account.disconnected") == 0 &&
        e->acct->hard_deadline > now)
        return e->acct->hard_deadline;
    return 0;
}

static void
gather_facts(struct herald_daemon *d, const struct planned *e,
             struct herald_letter_facts *f)
{
    const struct herald_store_account *a = e->acct;
    const char *reason =
        json_string_value(json_object_get(e->detail, "reason_text"));

    f->event_type = e->type;
    f->network = e->network_name;
    f->username = a->username       ? a->username
                  : a->display_name ? a->display_name
                  : a->remote_id    ? a->remote_id
                                    : "(no name)";
    f->reason = reason ? reason : a->status_reason;
    f->now = now_ms();
    f->released = -1;
    json_int_of(e->detail, "released", &f->released);
    json_int_of(e->detail, "limit_s", &f->limit_s);
    f->expired = 1;
    json_int_of(e->detail, "days", &f->days);
    f->deadline = deadline_of(e, f->now);
    count_posts(d, a->id, f);
}

/* Makes and records a one-time link: *url is malloc()ed (a secret). */
static int
make_link(struct herald_daemon *d, const struct planned *e, int64_t expires,
          char **url)
{
    char *token = herald_crypto_token(32);
    int rc = token ? 0 : -ENOMEM;

    *url = NULL;
    if (rc == 0)
        rc = herald_store_link_put(d->store, token, e->account_id, e->id,
                                   expires);
    if (rc == 0 && asprintf(url, "%s/v1/r/%s", d->cfg->public_url, token) < 0)
        rc = -ENOMEM;
    if (token) {
        sodium_memzero(token, strlen(token));
        free(token);
    }
    return rc;
}

/* Builds the message of a letter into *msg (malloc()ed, wiped by the
 * caller). */
static int
build_message(struct herald_daemon *d, const struct planned *e,
              const struct herald_letter *l, char **msg, size_t *len)
{
    const struct herald_config *cfg = d->cfg;
    char from[256], message_id[400], boundary[64];
    unsigned char nonce[8];
    char hex[17];
    struct herald_mail m = {0};

    if (herald_mail_envelope_address(cfg->smtp_from, from, sizeof(from)))
        return -EINVAL;
    herald_crypto_random(nonce, sizeof(nonce));
    sodium_bin2hex(hex, sizeof(hex), nonce, sizeof(nonce));
    snprintf(message_id, sizeof(message_id), "<herald.%lld.%s@%s>",
             (long long)e->id, hex, strchr(from, '@') + 1);
    snprintf(boundary, sizeof(boundary), "herald-%s", hex);

    m.from = cfg->smtp_from;
    m.to = e->acct->owner_email;
    m.subject = l->subject;
    m.message_id = message_id;
    m.date_ms = now_ms();
    m.text = l->text;
    m.html = l->html;
    m.boundary = boundary;
    return herald_mail_build(&m, msg, len);
}

/*
 * Posts expired together make one email: an expiry while the account's
 * last one still waits is folded into it, and its letter written anew
 * with the count. Returns 0 when folded, -ENOENT when a new email is
 * needed (*msg, *len written for one), or another negative errno.
 */
static int
fold_expired(struct herald_daemon *d, const struct planned *e,
             struct herald_letter_facts *f)
{
    struct herald_letter l = {0};
    struct planned first = *e;
    int64_t id;
    char *msg = NULL;
    size_t len = 0;
    int rc;

    rc = herald_store_notice_fold_open(d->store, e->account_id, e->type,
                                       HERALD_NOTICE_EMAIL, &id, &first.id,
                                       &f->expired);
    if (rc == 0)
        rc = herald_letter_write(f, &l);
    if (rc == 0)
        rc = build_message(d, &first, &l, &msg, &len);
    if (rc == 0)
        rc = herald_store_notice_rewrite(d->store, id, first.id,
                                         HERALD_NOTICE_EMAIL, msg, len);
    herald_letter_clear(&l);
    if (msg)
        sodium_memzero(msg, len);
    free(msg);
    return rc;
}

static int
plan_email(struct herald_daemon *d, const struct planned *e)
{
    struct herald_letter_facts f = {0};
    struct herald_store_notice in = {0};
    struct herald_letter l = {0};
    char *link = NULL, *msg = NULL;
    char key[64];
    size_t len = 0;
    int64_t id;
    int rc = 0;

    gather_facts(d, e, &f);
    if (strcmp(e->type, "post.expired") == 0) {
        rc = fold_expired(d, e, &f);
        if (rc == 0)
            return 0;
        if (rc == -ENOENT) {
            snprintf(key, sizeof(key), "post.expired:%lld:%lld",
                     (long long)e->account_id, (long long)e->id);
            in.group_key = key;
            in.next_attempt_at = now_ms() + FOLD_WAIT_MS;
            rc = 0;
        }
    }
    if (rc == 0 && herald_letter_wants_link(e->type)) {
        f.link_expires_at =
            f.now + (int64_t)d->cfg->reauth_link_days * 24 * 3600 * 1000;
        rc = make_link(d, e, f.link_expires_at, &link);
        f.link = link;
    }
    if (rc == 0)
        rc = herald_letter_write(&f, &l);
    if (rc == 0)
        rc = build_message(d, e, &l, &msg, &len);

    in.channel = HERALD_NOTICE_EMAIL;
    in.event_id = e->id;
    in.event_type = e->type;
    in.account_id = e->account_id;
    in.recipient = e->acct->owner_email;
    if (rc == 0)
        rc = herald_store_notice_add(d->store, &in, msg, len, &id);

    herald_letter_clear(&l);
    if (msg)
        sodium_memzero(msg, len);
    free(msg);
    if (link)
        sodium_memzero(link, strlen(link));
    free(link);
    if (rc == -EINVAL || rc == -ENOTSUP) {
        /* Nothing to retry: a later event must not wait behind this. */
        HLOG_ACCOUNT(LOG_WARNING, "notifier", e->account_id, 0,
                     "no email for event %lld ('%s'): it cannot be written",
                     (long long)e->id, e->type);
        rc = 0;
    }
    return rc == -EEXIST ? 0 : rc;
}

/*
 * Whether the account is still as the event left it: a disconnection
 * read after the person already reconnected (the daemon was down
 * meanwhile) asks nobody to act.
 */
static int
still_true(const struct planned *e)
{
    enum herald_account_status s = e->acct->status;

    if (strcmp(e->type, "account.disconnected") == 0 ||
        strcmp(e->type, "account.reconnect_deadline") == 0)
        return s == HERALD_ACCOUNT_DISCONNECTED;
    if (strcmp(e->type, "account.expiring") == 0)
        return s == HERALD_ACCOUNT_ACTIVE || s == HERALD_ACCOUNT_DEGRADED;
    return s != HERALD_ACCOUNT_REMOVED;
}

static int
wants_email(const struct herald_daemon *d, const struct planned *e)
{
    return d->cfg->smtp_url && e->acct && herald_letter_exists(e->type) &&
           still_true(e) && herald_mail_address_ok(e->acct->owner_email);
}

/* Plans the notices of one event (a JSON object of the event list). */
static int
plan(struct herald_daemon *d, json_t *event)
{
    struct herald_store_account a = {0};
    struct planned e = {0};
    const struct herald_network *net;
    int rc = 0;

    e.id = json_integer_value(json_object_get(event, "id"));
    e.type = json_string_value(json_object_get(event, "type"));
    e.at = json_integer_value(json_object_get(event, "at"));
    e.account_id = json_integer_value(json_object_get(event, "account_id"));
    e.post_id = json_integer_value(json_object_get(event, "post_id"));
    e.detail = json_object_get(event, "detail");
    /* Most events (post.attempt, and all of them without a channel)
     * make no notice: nothing to read for them. */
    if (!e.type || !((d->cfg->webhook_url && is_webhook_type(e.type)) ||
                     (d->cfg->smtp_url && herald_letter_exists(e.type))))
        return 0;
    if (e.account_id > 0 &&
        herald_store_account_get(d->store, e.account_id, &a) == 0) {
        e.acct = &a;
        net = herald_registry_find(&d->registry, a.network);
        e.network_name = net ? net->plugin->display_name : a.network;
    }

    if (strcmp(e.type, "account.disconnected") == 0 &&
        repeated_disconnection(d, &e))
        goto out;
    if (d->cfg->webhook_url && is_webhook_type(e.type))
        rc = plan_webhook(d, &e);
    if (rc == 0 && wants_email(d, &e))
        rc = plan_email(d, &e);
out:
    herald_store_account_clear(&a);
    return rc;
}

/* Plans the next batch of events and moves the cursor past them. */
static void
follow(struct herald_notifier *n)
{
    struct herald_daemon *d = n->d;
    struct herald_store_event_filter f = {0};
    json_t *events = NULL;
    json_t *e;
    size_t i, count;
    int rc;

    n->more = 0;
    if (herald_store_notice_cursor(d->store, &f.after_id) != 0 ||
        herald_store_event_list(d->store, &f, FOLLOW_BATCH, &events) != 0)
        return;
    count = json_array_size(events);
    rc = count ? herald_store_begin(d->store) : -ENOENT;
    json_array_foreach(events, i, e)
    {
        if (rc == 0)
            rc = plan(d, e);
    }
    if (rc == 0)
        rc = herald_store_notice_cursor_set(
            d->store, json_integer_value(json_object_get(
                          json_array_get(events, count - 1), "id")));
    if (rc == 0)
        rc = herald_store_commit(d->store);
    else if (rc != -ENOENT)
        herald_store_rollback(d->store);
    if (rc != 0 && rc != -ENOENT && !n->plan_failing++)
        HLOG(LOG_ERR, "notifier",
             "cannot plan notices: %s; trying again (logged once)",
             strerror(-rc));
    if (rc == 0 && n->plan_failing) {
        HLOG(LOG_NOTICE, "notifier", "planning notices again");
        n->plan_failing = 0;
    }
    n->more = rc == 0 && count == FOLLOW_BATCH;
    json_decref(events);
}

/* ---- delivering ---------------------------------------------------- */

static void
unlink_delivery(struct herald_notifier *n, struct delivery *dl)
{
    if (dl->prev)
        dl->prev->next = dl->next;
    else
        n->flying = dl->next;
    if (dl->next)
        dl->next->prev = dl->prev;
    n->in_flight--;
}

static int
is_flying(const struct herald_notifier *n, int64_t id)
{
    for (const struct delivery *dl = n->flying; dl; dl = dl->next)
        if (dl->id == id)
            return 1;
    return 0;
}

/* Logs a failure once in full, then quietly until the channel works. */
static void
log_failure(struct herald_notifier *n, const struct delivery *dl,
            const char *error)
{
    int first = n->failures[dl->channel]++ == 0;

    HLOG_ACCOUNT(
        first ? LOG_WARNING : LOG_DEBUG, "notifier", dl->account_id, 0,
        "cannot deliver notice %lld by %s: %s%s", (long long)dl->id,
        herald_store_notice_channel_name(dl->channel), error,
        first ? "; retrying, further failures are logged at debug" : "");
}

static void
log_success(struct herald_notifier *n, const struct delivery *dl)
{
    unsigned failed = n->failures[dl->channel];

    n->failures[dl->channel] = 0;
    if (failed)
        HLOG(LOG_NOTICE, "notifier", "%s delivers again after %u failure(s)",
             herald_store_notice_channel_name(dl->channel), failed);
}

/* Reads a finished delivery into its attempt's end, with room for the
 * error message in err. */
static void
classify(const struct delivery *dl, const struct herald_client_response *resp,
         struct herald_store_notice_end *end, char *err, size_t len)
{
    int ok = resp->transport == HERALD_TRANSPORT_OK &&
             (dl->channel == HERALD_NOTICE_EMAIL ||
              (resp->status >= 200 && resp->status < 300));

    end->code = (int)resp->status;
    if (ok) {
        end->outcome = "delivered";
        end->status = HERALD_NOTICE_DELIVERED;
        return;
    }
    end->status = HERALD_NOTICE_PENDING;
    if (resp->transport == HERALD_TRANSPORT_OK) {
        end->outcome = "refused";
        snprintf(err, len, "the receiver answered HTTP %ld", resp->status);
    } else {
        end->outcome = resp->transport == HERALD_TRANSPORT_TIMEOUT ? "timeout"
                       : resp->transport == HERALD_TRANSPORT_CONNECT
                           ? "unreachable"
                       : resp->status > 0 ? "refused"
                                          : "error";
        snprintf(err, len, "%s", resp->error ? resp->error : "no answer");
    }
    end->error = err;
}

static void
on_sent(const struct herald_client_response *resp, void *udata)
{
    struct delivery *dl = udata;
    struct herald_notifier *n = dl->n;
    struct herald_store_notice_end end = {0};
    struct herald_store_notice notice = {0};
    char err[300];
    uint32_t r;

    /* Stopped, or canceled at shutdown: the attempt is made again after
     * the next start. */
    if (!n || resp->transport == HERALD_TRANSPORT_CANCELED) {
        if (n)
            unlink_delivery(n, dl);
        free(dl);
        return;
    }
    unlink_delivery(n, dl);
    classify(dl, resp, &end, err, sizeof(err));
    herald_metrics_notice(herald_store_notice_channel_name(dl->channel),
                          end.status == HERALD_NOTICE_DELIVERED
                              ? HERALD_METRICS_NOTICE_DELIVERED
                              : HERALD_METRICS_NOTICE_FAILED);
    if (end.status == HERALD_NOTICE_DELIVERED) {
        log_success(n, dl);
    } else {
        log_failure(n, dl, err);
        herald_store_notice_get(n->d->store, dl->id, &notice);
        herald_crypto_random(&r, sizeof(r));
        if (notice.attempts >= (int64_t)n->d->cfg->notice_max_attempts)
            end.status = HERALD_NOTICE_FAILED;
        else
            end.next_attempt_at = herald_config_retry_at(
                n->d->cfg, notice.attempts, now_ms(), r);
        if (end.status == HERALD_NOTICE_FAILED) {
            herald_metrics_notice(
                herald_store_notice_channel_name(dl->channel),
                HERALD_METRICS_NOTICE_GAVE_UP);
            HLOG_ACCOUNT(LOG_WARNING, "notifier", dl->account_id, 0,
                         "notice %lld by %s failed after %lld attempts",
                         (long long)dl->id,
                         herald_store_notice_channel_name(dl->channel),
                         (long long)notice.attempts);
        }
        herald_store_notice_clear(&notice);
    }
    herald_store_notice_attempt_end(n->d->store, dl->id, dl->attempt_id, &end);
    free(dl);
}

/*
 * The body to POST: the stored one, with the count of folded events
 * brought up to date. *out is malloc()ed.
 */
static int
webhook_text(const struct herald_store_notice *notice, const char *stored,
             char **out)
{
    json_t *body;

    if (!notice->group_key) {
        *out = strdup(stored);
        return *out ? 0 : -ENOMEM;
    }
    body = json_loads(stored, 0, NULL);
    if (body)
        json_object_set_new(json_object_get(body, "data"), "count",
                            json_integer(notice->events));
    *out = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return *out ? 0 : -ENOMEM;
}

static int
send_webhook(struct herald_notifier *n, struct delivery *dl,
             const struct herald_store_notice *notice, const char *stored)
{
    const struct herald_config *cfg = n->d->cfg;
    char id[64], type[160], stamp[64], sig[32 + HERALD_WEBHOOK_SIGNATURE_LEN];
    const char *headers[] = {
        "Content-Type: application/json", id, type, stamp, sig, NULL};
    int64_t ts = now_ms() / 1000;
    struct herald_client_request req = {0};
    char *body = NULL;
    int rc = webhook_text(notice, stored, &body);

    if (rc != 0)
        return rc;
    snprintf(id, sizeof(id), "Herald-Event-Id: %lld",
             (long long)notice->event_id);
    snprintf(type, sizeof(type), "Herald-Event-Type: %s", notice->event_type);
    snprintf(stamp, sizeof(stamp), "Herald-Timestamp: %lld", (long long)ts);
    memcpy(sig, "Herald-Signature: ", 19);
    herald_webhook_sign(cfg->webhook_secret, ts, body, strlen(body), sig + 18);

    req.method = "POST";
    req.url = cfg->webhook_url;
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = WEBHOOK_TIMEOUT_MS;
    rc = herald_client_send(n->d->client, &req, on_sent, dl);
    free(body);
    return rc;
}

static int
send_email(struct herald_notifier *n, struct delivery *dl,
           const struct herald_store_notice *notice, const char *msg,
           size_t len)
{
    const struct herald_config *cfg = n->d->cfg;
    struct herald_client_mail m = {0};
    char from[256];

    if (herald_mail_envelope_address(cfg->smtp_from, from, sizeof(from)))
        return -EINVAL;
    m.url = cfg->smtp_url;
    m.from = from;
    m.rcpt = notice->recipient;
    m.message = msg;
    m.message_len = len;
    m.username = cfg->smtp_username;
    m.password = cfg->smtp_password;
    m.require_tls = cfg->smtp_starttls;
    m.timeout_ms = EMAIL_TIMEOUT_MS;
    return herald_client_send_mail(n->d->client, &m, on_sent, dl);
}

/* Ends an attempt that could not even be sent; retried like any. */
static void
send_failed(struct delivery *dl, const char *why)
{
    struct herald_client_response resp = {0};

    resp.transport = HERALD_TRANSPORT_BROKEN;
    resp.error = why;
    on_sent(&resp, dl);
}

/* Whether the channel of a notice is still configured. */
static int
channel_on(const struct herald_config *cfg, enum herald_notice_channel c)
{
    return c == HERALD_NOTICE_EMAIL ? cfg->smtp_url != NULL
                                    : cfg->webhook_url != NULL;
}

/* Records a notice that can never be sent as failed, with why. */
static void
give_up(struct herald_notifier *n, const struct herald_store_notice *notice,
        const char *why)
{
    struct herald_store_notice_end end = {
        .outcome = "abandoned", .error = why, .status = HERALD_NOTICE_FAILED};
    int64_t attempt_id, now = now_ms();

    HLOG_ACCOUNT(LOG_WARNING, "notifier", notice->account_id, 0,
                 "notice %lld by %s abandoned: %s", (long long)notice->id,
                 herald_store_notice_channel_name(notice->channel), why);
    herald_metrics_notice(herald_store_notice_channel_name(notice->channel),
                          HERALD_METRICS_NOTICE_GAVE_UP);
    if (herald_store_notice_attempt_begin(n->d->store, notice->id, now,
                                          now + LEASE_MS, &attempt_id) == 0)
        herald_store_notice_attempt_end(n->d->store, notice->id, attempt_id,
                                        &end);
}

/* Sends notice (its body is body, len bytes) for delivery dl. */
static void
send_notice(struct herald_notifier *n, struct delivery *dl,
            const struct herald_store_notice *notice, const char *body,
            size_t len)
{
    char why[120];
    int rc;

    dl->next = n->flying;
    if (dl->next)
        dl->next->prev = dl;
    n->flying = dl;
    n->in_flight++;
    rc = notice->channel == HERALD_NOTICE_EMAIL
             ? send_email(n, dl, notice, body, len)
             : send_webhook(n, dl, notice, body);
    if (rc != 0) {
        snprintf(why, sizeof(why), "could not send: %s", strerror(-rc));
        send_failed(dl, why);
    }
}

/* Starts one attempt at notice id. */
static void
start(struct herald_notifier *n, int64_t id)
{
    struct herald_store *st = n->d->store;
    struct herald_store_notice notice = {0};
    struct delivery *dl = NULL;
    char *body = NULL;
    size_t len = 0;
    int64_t now = now_ms();
    int rc;

    rc = herald_store_notice_get(st, id, &notice);
    if (rc != 0)
        return;
    if (!channel_on(n->d->cfg, notice.channel)) {
        give_up(n, &notice, "the channel is no longer configured");
        goto out;
    }
    rc = herald_store_notice_body(st, id, &body, &len);
    if (rc == -EBADMSG)
        give_up(n, &notice, "its body fails to decrypt");
    if (rc == 0)
        rc = (dl = calloc(1, sizeof(*dl))) ? 0 : -ENOMEM;
    if (rc == 0)
        rc = herald_store_notice_attempt_begin(st, id, now, now + LEASE_MS,
                                               &dl->attempt_id);
    if (rc == 0) {
        dl->n = n;
        dl->id = id;
        dl->account_id = notice.account_id;
        dl->channel = notice.channel;
        send_notice(n, dl, &notice, body, len);
    } else {
        /* Left due: looked at again at the next tick. */
        free(dl);
    }
out:
    if (body)
        sodium_memzero(body, len);
    free(body);
    herald_store_notice_clear(&notice);
}

static void
send_due(struct herald_notifier *n)
{
    int64_t ids[MAX_IN_FLIGHT * 2];
    size_t count = 0;

    if (n->in_flight >= MAX_IN_FLIGHT ||
        herald_store_notices_due(n->d->store, now_ms(), ids,
                                 sizeof(ids) / sizeof(*ids), &count) != 0)
        return;
    for (size_t i = 0; i < count && n->in_flight < MAX_IN_FLIGHT; i++)
        if (!is_flying(n, ids[i]))
            start(n, ids[i]);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct herald_notifier *n = w->data;

    (void)revents;
    /* While stopping, nothing new leaves; pending notices wait. */
    if (n->d->stop_asked > 0)
        return;
    follow(n);
    send_due(n);
    if (n->more) {
        ev_timer_stop(loop, w);
        ev_timer_set(w, 0., POLL_SECONDS);
        ev_timer_start(loop, w);
    }
}

int
herald_notifier_start(struct herald_daemon *d)
{
    struct herald_notifier *n = calloc(1, sizeof(*n));
    int64_t reopened = 0;

    if (!n)
        return -ENOMEM;
    n->d = d;
    if (herald_store_notices_recover(d->store, now_ms(), &reopened) == 0 &&
        reopened > 0)
        HLOG(LOG_NOTICE, "notifier",
             "%lld notice(s) interrupted by a stop are sent again",
             (long long)reopened);
    if (!d->cfg->smtp_url)
        HLOG(LOG_INFO, "notifier", "no smtp_url: no email is sent");
    if (!d->cfg->webhook_url)
        HLOG(LOG_INFO, "notifier", "no webhook_url: no webhook is sent");
    ev_timer_init(&n->timer, timer_cb, 0., POLL_SECONDS);
    n->timer.data = n;
    ev_timer_start(d->loop, &n->timer);
    d->notifier = n;
    return 0;
}

void
herald_notifier_stop(struct herald_daemon *d)
{
    struct herald_notifier *n = d->notifier;

    if (!n)
        return;
    ev_timer_stop(d->loop, &n->timer);
    /* The client still holds them: each is freed by its callback. */
    for (struct delivery *dl = n->flying; dl; dl = dl->next)
        dl->n = NULL;
    free(n);
    d->notifier = NULL;
}
