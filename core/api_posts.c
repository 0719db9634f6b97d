/*
 * api_posts.c - the API's posts: create (with idempotency keys),
 * validate, list, show, cancel and retry.
 *
 * A create answers 202 only after every post it made, and the answer kept
 * for its idempotency key, are committed in one transaction. Validation
 * runs the same checks for create and validate, from each network's
 * declared content rules, and reports one problem per rule broken per
 * account; nothing is stored when any is found.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "crypto.h"
#include "log.h"
#include "scheduler.h"
#include "validate.h"

#define MAX_ACCOUNTS   100
#define MAX_MEDIA      20
#define MAX_KEY_LENGTH 200
#define MAX_PROBLEMS   64
#define LIST_DEFAULT   50
#define LIST_MAX       500

/* One target account of a post being created. */
struct target {
    int64_t account_id;
    const char *target; /* borrowed from the body, or NULL */
    struct herald_store_account account;
};

/* A parsed create or validate request. */
struct draft {
    const char *text;
    const char *link;
    const char *media[MAX_MEDIA + 1];
    size_t media_count;
    int64_t scheduled_at;
    int64_t expire_after_s; /* as struct herald_store_post's */
    struct target targets[MAX_ACCOUNTS];
    size_t target_count;
    json_t *problems; /* array, new reference */
    json_t *warnings; /* array, new reference */
};

static void
problem(struct draft *dr, int64_t account_id, const char *rule,
        const char *message)
{
    json_t *p = json_pack("{s:s,s:s}", "rule", rule, "message", message);

    if (account_id > 0)
        json_object_set_new(p, "account_id", json_integer(account_id));
    json_array_append_new(dr->problems, p);
}

static void
draft_clear(struct draft *dr)
{
    for (size_t i = 0; i < dr->target_count; i++)
        herald_store_account_clear(&dr->targets[i].account);
    json_decref(dr->problems);
    json_decref(dr->warnings);
}

static int
read_string(struct draft *dr, json_t *body, const char *name, const char **out)
{
    json_t *v = json_object_get(body, name);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        char message[96];

        snprintf(message, sizeof(message), "'%s' must be a string", name);
        problem(dr, 0, "invalid_field", message);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static void
read_media(struct draft *dr, json_t *body)
{
    json_t *media = json_object_get(body, "media");
    size_t i;
    json_t *m;

    if (!media || json_is_null(media))
        return;
    if (!json_is_array(media) || json_array_size(media) > MAX_MEDIA) {
        problem(dr, 0, "invalid_field",
                "'media' must be an array of at most 20 image URLs");
        return;
    }
    json_array_foreach(media, i, m)
    {
        if (!json_is_string(m)) {
            problem(dr, 0, "invalid_field",
                    "every entry of 'media' must be a URL string");
            return;
        }
        dr->media[dr->media_count++] = json_string_value(m);
    }
}

/* Reads the post's own lateness limit: absent for the engine's, 0 for
 * none, else seconds. */
static void
read_lateness(struct draft *dr, json_t *body)
{
    json_t *v = json_object_get(body, "expire_after_s");

    if (!v || json_is_null(v))
        return;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        problem(dr, 0, "invalid_field",
                "'expire_after_s' must be a number of seconds (0: publish "
                "however late)");
        return;
    }
    dr->expire_after_s =
        json_integer_value(v) == 0 ? -1 : (int64_t)json_integer_value(v);
}

static void
read_schedule(struct draft *dr, json_t *body)
{
    json_t *v = json_object_get(body, "scheduled_at");

    dr->scheduled_at = herald_api_now_ms();
    if (!v || json_is_null(v))
        return;
    if (!json_is_string(v) ||
        herald_api_parse_time(json_string_value(v), &dr->scheduled_at) != 0)
        problem(dr, 0, "invalid_field",
                "'scheduled_at' must be an RFC 3339 time such as "
                "2026-12-03T10:00:00Z");
}

/* Reads one entry of "accounts": an id, or {"id", "target"}. */
static int
read_target(struct draft *dr, json_t *entry, struct target *t)
{
    json_t *id = json_is_object(entry) ? json_object_get(entry, "id") : entry;
    json_t *target =
        json_is_object(entry) ? json_object_get(entry, "target") : NULL;

    if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
        (target && !json_is_null(target) && !json_is_string(target))) {
        problem(dr, 0, "invalid_field",
                "every entry of 'accounts' is an account id or "
                "{\"id\": ID, \"target\": \"...\"}");
        return -1;
    }
    t->account_id = json_integer_value(id);
    t->target = json_string_value(target);
    for (size_t i = 0; i < dr->target_count; i++) {
        if (dr->targets[i].account_id == t->account_id &&
            ((!t->target && !dr->targets[i].target) ||
             (t->target && dr->targets[i].target &&
              strcmp(t->target, dr->targets[i].target) == 0))) {
            problem(dr, t->account_id, "duplicate_account",
                    "the same account and target are named twice");
            return -1;
        }
    }
    return 0;
}

static void
read_targets(struct draft *dr, json_t *body)
{
    json_t *accounts = json_object_get(body, "accounts");
    size_t i;
    json_t *entry;

    if (!json_is_array(accounts) || json_array_size(accounts) == 0 ||
        json_array_size(accounts) > MAX_ACCOUNTS) {
        problem(dr, 0, "invalid_field",
                "'accounts' must list 1 to 100 accounts");
        return;
    }
    json_array_foreach(accounts, i, entry)
    {
        struct target *t = &dr->targets[dr->target_count];

        memset(t, 0, sizeof(*t));
        if (read_target(dr, entry, t) == 0)
            dr->target_count++;
    }
}

static int
target_known(const struct herald_store_account *a, const char *target)
{
    size_t i;
    json_t *t;

    json_array_foreach(a->targets, i, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        if (id && strcmp(id, target) == 0)
            return 1;
    }
    return 0;
}

static void
check_content(struct draft *dr, struct target *t,
              const struct herald_network *net)
{
    const struct herald_content_rules *rules = net->plugin->content;
    struct herald_problem found[8];
    struct herald_content c = {
        .text = dr->text,
        .link = dr->link,
        .media = dr->media,
        .media_count = dr->media_count,
    };
    size_t n = herald_validate_content(&c, rules, net->plugin->display_name,
                                       rules->link_separator, found, 8);

    for (size_t i = 0; i < n && i < 8; i++)
        problem(dr, t->account_id, found[i].rule, found[i].message);
    if (t->target && !target_known(&t->account, t->target))
        problem(dr, t->account_id, "unknown_target",
                "the target is not one of the account's targets");
    if (!t->target && rules->target_required)
        problem(dr, t->account_id, "target_required",
                "this network needs a target (such as a Page) for every "
                "post");
}

static void
warn(struct draft *dr, int64_t account_id, const char *code,
     const char *message)
{
    json_array_append_new(dr->warnings,
                          json_pack("{s:I,s:s,s:s}", "account_id",
                                    (json_int_t)account_id, "code", code,
                                    "message", message));
}

static void
check_account(struct herald_daemon *d, struct draft *dr, struct target *t)
{
    struct herald_network *net;
    char message[256], when[40];

    if (herald_store_account_get(d->store, t->account_id, &t->account) != 0) {
        problem(dr, t->account_id, "account_not_found", "no such account");
        return;
    }
    if (t->account.status == HERALD_ACCOUNT_REMOVED) {
        problem(dr, t->account_id, "account_removed",
                "the account was removed");
        return;
    }
    net = herald_registry_find(&d->registry, t->account.network);
    if (!net || !net->enabled) {
        problem(dr, t->account_id, "network_unavailable",
                "the account's network is not loaded or not enabled");
        return;
    }
    check_content(dr, t, net);
    if (t->account.status == HERALD_ACCOUNT_DISCONNECTED ||
        t->account.status == HERALD_ACCOUNT_PENDING)
        warn(dr, t->account_id, "account_disconnected",
             "the account is not connected; the post will be held until "
             "it is reconnected");
    if (t->account.hard_deadline > 0 &&
        dr->scheduled_at > t->account.hard_deadline) {
        snprintf(message, sizeof(message),
                 "the post is scheduled after %s, when the account must be "
                 "reconnected at the latest",
                 herald_api_format_time(t->account.hard_deadline, when,
                                        sizeof(when)));
        warn(dr, t->account_id, "after_hard_deadline", message);
    }
}

/* Parses and checks a body into dr. Returns 0 when it has no problem. */
static int
draft_read(struct herald_daemon *d, json_t *body, struct draft *dr)
{
    memset(dr, 0, sizeof(*dr));
    dr->problems = json_array();
    dr->warnings = json_array();
    if (read_string(dr, body, "text", &dr->text) == 0 &&
        read_string(dr, body, "link", &dr->link) == 0) {
        read_media(dr, body);
        read_schedule(dr, body);
        read_lateness(dr, body);
        read_targets(dr, body);
    }
    if (json_array_size(dr->problems) == 0) {
        for (size_t i = 0; i < dr->target_count; i++)
            check_account(d, dr, &dr->targets[i]);
    }
    return json_array_size(dr->problems) == 0 ? 0 : -1;
}

static void
answer_problems(struct herald_request *req, struct draft *dr)
{
    herald_request_respond_json(
        req, 422,
        json_pack("{s:{s:s,s:s,s:O}}", "error", "code", "invalid_post",
                  "message", "the post breaks the rules listed in 'problems'",
                  "problems", dr->problems));
}

static void
post_validate(struct herald_daemon *d, struct herald_request *req,
              const struct api_params *params)
{
    json_t *body = herald_api_body_object(req);
    struct draft dr;
    int ok;

    (void)params;
    if (!body)
        return;
    ok = draft_read(d, body, &dr) == 0;
    herald_request_respond_json(req, 200,
                                json_pack("{s:b,s:O,s:O}", "valid", ok,
                                          "problems", dr.problems, "warnings",
                                          dr.warnings));
    draft_clear(&dr);
    json_decref(body);
}

/* An idempotency scope per API key, derived so it never holds the key. */
static void
key_scope(struct herald_request *req, char scope[17])
{
    const char *auth = herald_request_header(req, "Authorization");
    char hash[65];

    herald_crypto_sha256_hex(auth ? auth : "", hash);
    memcpy(scope, hash, 16);
    scope[16] = '\0';
}

/* Writes every post of dr and the answer in one transaction. */
static int
create_posts(struct herald_daemon *d, struct draft *dr, const char *scope,
             const char *key, const char *body_hash, json_t **answer)
{
    json_t *posts = json_array();
    char when[40];
    int rc;

    rc = herald_store_begin(d->store);
    for (size_t i = 0; rc == 0 && i < dr->target_count; i++) {
        struct target *t = &dr->targets[i];
        json_t *media = json_array();
        struct herald_store_post p = {
            .owner_id = t->account.owner_id,
            .account_id = t->account_id,
            .target = t->target,
            .text = dr->text,
            .link = dr->link,
            .scheduled_at = dr->scheduled_at,
            .expire_after_s = dr->expire_after_s,
        };
        int64_t id = 0;

        for (size_t m = 0; m < dr->media_count; m++)
            json_array_append_new(media, json_string(dr->media[m]));
        p.media = dr->media_count ? media : NULL;
        rc = herald_store_post_create(d->store, &p, &id);
        json_decref(media);
        if (rc == 0)
            rc = herald_store_event_append(d->store, "post.created",
                                           t->account_id, id, NULL);
        json_array_append_new(
            posts, json_pack("{s:I,s:I,s:s,s:s}", "id", (json_int_t)id,
                             "account_id", (json_int_t)t->account_id, "status",
                             "scheduled", "scheduled_at",
                             herald_api_format_time(dr->scheduled_at, when,
                                                    sizeof(when))));
    }
    *answer = json_pack("{s:o,s:O}", "posts", posts, "warnings", dr->warnings);
    if (rc == 0 && key)
        rc = herald_store_idempotency_put(d->store, scope, key, body_hash, 202,
                                          *answer);
    if (rc == 0)
        rc = herald_store_commit(d->store);
    else
        herald_store_rollback(d->store);
    return rc;
}

/* Answers a repeated idempotency key. Returns 1 when answered. */
static int
replay(struct herald_daemon *d, struct herald_request *req, const char *scope,
       const char *key, const char *body_hash)
{
    char *stored_hash = NULL;
    json_t *response = NULL;
    int status = 0;

    if (herald_store_idempotency_get(d->store, scope, key, &stored_hash,
                                     &status, &response) != 0)
        return 0;
    if (strcmp(stored_hash, body_hash) == 0)
        herald_request_respond_json(req, (unsigned)status, response);
    else {
        json_decref(response);
        herald_request_error(req, 409, "idempotency_conflict",
                             "this Idempotency-Key was used with another "
                             "body");
    }
    free(stored_hash);
    return 1;
}

static void
post_posts(struct herald_daemon *d, struct herald_request *req,
           const struct api_params *params)
{
    const char *key = herald_request_header(req, "Idempotency-Key");
    json_t *body = NULL, *answer = NULL;
    char scope[17], body_hash[65];
    struct draft dr;
    size_t len;

    (void)params;
    if (key && (!*key || strlen(key) > MAX_KEY_LENGTH)) {
        herald_request_error(req, 400, "invalid_idempotency_key",
                             "Idempotency-Key must be 1 to 200 bytes");
        return;
    }
    key_scope(req, scope);
    herald_crypto_sha256_hex(herald_request_body(req, &len), body_hash);
    if (key && replay(d, req, scope, key, body_hash))
        return;
    if (!(body = herald_api_body_object(req)))
        return;

    if (draft_read(d, body, &dr) != 0)
        answer_problems(req, &dr);
    else if (create_posts(d, &dr, scope, key, body_hash, &answer) != 0)
        herald_request_error(req, 503, "store_unavailable",
                             "the posts could not be stored; nothing was "
                             "created");
    else {
        herald_request_respond_json(req, 202, json_incref(answer));
        herald_scheduler_kick(d);
    }
    json_decref(answer);
    draft_clear(&dr);
    json_decref(body);
}

json_t *
herald_api_post_json(struct herald_daemon *d,
                     const struct herald_store_post *p)
{
    struct herald_store_account a = {0};
    json_t *media = p->media ? json_incref(p->media) : json_array();
    json_t *o;

    herald_store_account_get(d->store, p->account_id, &a);
    o = json_pack("{s:I,s:I,s:s?,s:s,s:s?,s:s,s:s?,s:o,s:s,s:s?,s:I,s:s?,"
                  "s:s?}",
                  "id", (json_int_t)p->id, "account_id",
                  (json_int_t)p->account_id, "network", a.network, "owner_id",
                  p->owner_id, "target", p->target, "text", p->text, "link",
                  p->link, "media", media, "status",
                  herald_store_post_status_name(p->status), "reason",
                  p->reason, "attempts", (json_int_t)p->attempts, "remote_id",
                  p->remote_id, "remote_url", p->remote_url);
    json_object_set_new(o, "scheduled_at",
                        herald_api_time_json(p->scheduled_at));
    json_object_set_new(o, "next_attempt_at",
                        herald_api_time_json(p->next_attempt_at));
    json_object_set_new(o, "created_at", herald_api_time_json(p->created_at));
    json_object_set_new(o, "updated_at", herald_api_time_json(p->updated_at));
    herald_store_account_clear(&a);
    return o;
}

static int
parse_filter(struct herald_request *req, struct herald_store_post_filter *f,
             size_t *limit)
{
    const char *status = herald_request_query(req, "status");
    const char *account = herald_request_query(req, "account");
    const char *after = herald_request_query(req, "after");
    const char *since = herald_request_query(req, "since");
    const char *until = herald_request_query(req, "until");
    enum herald_post_status s;

    f->status = -1;
    f->owner_id = herald_request_query(req, "owner");
    f->network = herald_request_query(req, "network");
    if (status && herald_store_post_status_parse(status, &s) != 0) {
        herald_request_error(req, 400, "invalid_query",
                             "'status' is not a post status");
        return -1;
    }
    if (status)
        f->status = (int)s;
    if ((account && (f->account_id = herald_api_parse_id(account)) == 0) ||
        (after && (f->after_id = herald_api_parse_id(after)) == 0)) {
        herald_request_error(req, 400, "invalid_query",
                             "'account' and 'after' must be ids");
        return -1;
    }
    if ((since && herald_api_parse_time(since, &f->since) != 0) ||
        (until && herald_api_parse_time(until, &f->until) != 0)) {
        herald_request_error(req, 400, "invalid_query",
                             "'since' and 'until' must be RFC 3339 times");
        return -1;
    }
    return herald_api_limit(req, LIST_DEFAULT, LIST_MAX, limit);
}

static void
get_posts(struct herald_daemon *d, struct herald_request *req,
          const struct api_params *params)
{
    struct herald_store_post_filter f = {0};
    struct herald_store_post *rows;
    json_t *list, *body;
    size_t limit, n = 0;

    (void)params;
    if (parse_filter(req, &f, &limit) != 0)
        return;
    /* One row more than the page: whether a next page exists. */
    rows = calloc(limit + 1, sizeof(*rows));
    if (!rows ||
        herald_store_post_list(d->store, &f, rows, limit + 1, &n) != 0) {
        free(rows);
        herald_request_error(req, 503, "store_unavailable",
                             "the posts could not be read");
        return;
    }
    list = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(list, herald_api_post_json(d, &rows[i]));
    body = json_pack("{s:o}", "posts", list);
    json_object_set_new(body, "next",
                        n > limit ? json_integer(rows[limit - 1].id)
                                  : json_null());
    for (size_t i = 0; i < n; i++)
        herald_store_post_clear(&rows[i]);
    free(rows);
    herald_request_respond_json(req, 200, body);
}

static int
load_post(struct herald_daemon *d, struct herald_request *req,
          const struct api_params *params, struct herald_store_post *p)
{
    int64_t id = herald_api_parse_id(params->value[0]);

    if (id > 0 && herald_store_post_get(d->store, id, p) == 0)
        return 0;
    herald_request_error(req, 404, "not_found", "no such post");
    return -1;
}

static void
get_post(struct herald_daemon *d, struct herald_request *req,
         const struct api_params *params)
{
    struct herald_store_post p = {0};
    json_t *o, *attempts = NULL;
    size_t i;
    json_t *a;

    if (load_post(d, req, params, &p) != 0)
        return;
    o = herald_api_post_json(d, &p);
    herald_store_post_attempts(d->store, p.id, &attempts);
    json_array_foreach(attempts, i, a)
    {
        json_int_t started =
            json_integer_value(json_object_get(a, "started_at"));
        json_int_t ended = json_integer_value(json_object_get(a, "ended_at"));

        json_object_set_new(a, "started_at", herald_api_time_json(started));
        json_object_set_new(a, "ended_at", herald_api_time_json(ended));
    }
    json_object_set_new(o, "attempts_detail",
                        attempts ? attempts : json_array());
    herald_request_respond_json(req, 200, o);
    herald_store_post_clear(&p);
}

/* Moves a post from one of the from statuses, answering either way. */
static void
change(struct herald_daemon *d, struct herald_request *req,
       const struct api_params *params, unsigned from,
       enum herald_post_status to, int64_t next_at, const char *event,
       const char *refusal)
{
    struct herald_store_post p = {0};
    int64_t id, account_id;
    int rc;

    if (load_post(d, req, params, &p) != 0)
        return;
    id = p.id;
    account_id = p.account_id;
    herald_store_post_clear(&p);

    rc = herald_store_begin(d->store);
    if (rc == 0)
        rc = herald_store_post_move(d->store, id, from, to, NULL, next_at);
    if (rc == 0)
        rc = herald_store_event_append(d->store, event, account_id, id, NULL);
    if (rc == 0)
        rc = herald_store_commit(d->store);
    else
        herald_store_rollback(d->store);

    if (rc == -ESTALE)
        herald_request_error(req, 409, "wrong_status", "%s", refusal);
    else if (rc != 0 || herald_store_post_get(d->store, id, &p) != 0)
        herald_request_error(req, 503, "store_unavailable",
                             "the post could not be changed");
    else
        herald_request_respond_json(req, 200, herald_api_post_json(d, &p));
    herald_store_post_clear(&p);
    if (rc == 0)
        herald_scheduler_kick(d);
}

static void
post_cancel(struct herald_daemon *d, struct herald_request *req,
            const struct api_params *params)
{
    change(d, req, params,
           HERALD_POST_BIT(HERALD_POST_SCHEDULED) |
               HERALD_POST_BIT(HERALD_POST_QUEUED) |
               HERALD_POST_BIT(HERALD_POST_RETRYING) |
               HERALD_POST_BIT(HERALD_POST_BLOCKED),
           HERALD_POST_CANCELED, 0, "post.canceled",
           "only a post that is not publishing or done can be canceled");
}

static void
post_retry(struct herald_daemon *d, struct herald_request *req,
           const struct api_params *params)
{
    change(d, req, params,
           HERALD_POST_BIT(HERALD_POST_FAILED) |
               HERALD_POST_BIT(HERALD_POST_UNKNOWN),
           HERALD_POST_SCHEDULED, herald_api_now_ms(), "post.retried",
           "only a failed or unknown post can be retried");
}

const struct api_route herald_api_post_routes[] = {
    {"POST", "/v1/posts", 0, post_posts},
    {"POST", "/v1/posts/validate", 0, post_validate},
    {"GET", "/v1/posts", 0, get_posts},
    {"GET", "/v1/posts/:id", 0, get_post},
    {"POST", "/v1/posts/:id/cancel", 0, post_cancel},
    {"POST", "/v1/posts/:id/retry", 0, post_retry},
    {NULL, NULL, 0, NULL},
};
