/*
 * instagram_publish.c - publishing an image post, and looking one up.
 *
 * A post goes out in up to four requests, one after the other:
 *
 *   CREATE   POST /{ig-user-id}/media (image_url, caption) -> container id,
 *            recorded with host->checkpoint() before anything else
 *   POLL     GET /{container-id}?fields=status_code,status, repeated while
 *            IN_PROGRESS, at most container_poll_limit times per attempt
 *   PUBLISH  POST /{ig-user-id}/media_publish?creation_id=... -> media id,
 *            recorded in the checkpoint too
 *   LINK     GET /{media-id}?fields=permalink -> the post's URL
 *
 * An attempt that finds a container in post->checkpoint resumes at POLL,
 * so a container is published at most once; one that finds a media id is
 * already done. A container that expired (EXPIRED, or subcode 2207020) is
 * replaced by a new one once per attempt. A refusal for the publishing cap
 * reads content_publishing_limit to learn when the rolling window frees a
 * slot (QUOTA). lookup() reads the container's status_code once.
 *
 * Invariant: media_publish is sent only for a container recorded in the
 * checkpoint, and only after the container was seen FINISHED.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "instagram.h"

/* Probes of content_publishing_limit after a publishing-cap refusal. */
#define IG_QUOTA_PROBES 8

/* Margin added to a computed quota wait, in seconds. */
#define IG_QUOTA_MARGIN_S 60

/* The wait when the quota shows a free slot the network just refused. */
#define IG_QUOTA_FREE_WAIT_MS (15LL * 60 * 1000)

struct ig_pub {
    struct ig *ig;
    struct herald_op *op;
    const struct herald_account *account; /* borrowed until complete() */
    const struct herald_post *post;       /* borrowed until complete() */
    int lookup;                           /* 1: a lookup(), not a publish */
    char container[64];
    char media[64];
    long polls;
    int renewed; /* a new container replaced an expired one */

    /* The publishing-cap search: the outcome to end with, and the
     * bounds (seconds after the window's start) of when a slot frees. */
    struct ig_outcome cap;
    int64_t q_now_s;
    int64_t q_window_s;
    int64_t q_lo;
    int64_t q_hi;
    long q_total;
    int q_probes;
};

static const char *
token_of(const struct ig_pub *p)
{
    return p->account->creds->access_token;
}

/* Ends the operation with o and frees p. */
static void
pub_end(struct ig_pub *p, struct ig_outcome *o)
{
    p->ig->host->complete(p->op, &o->out, NULL);
    free(p);
}

static void
pub_end_kind(struct ig_pub *p, enum herald_outcome_kind kind,
             const char *message)
{
    struct ig_outcome o;

    memset(&o, 0, sizeof(o));
    ig_outcome_set(&o, kind, message);
    pub_end(p, &o);
}

/* Sends a request of the operation; on failure to queue, ends it. */
static void
pub_send(struct ig_pub *p, const char *method, char *url, char *body,
         herald_http_done_fn done)
{
    int rc = url ? ig_send(p->ig, p->op, method, url, body, done, p) : -ENOMEM;

    ig_free_secret(url);
    ig_free_secret(body);
    if (rc != 0)
        pub_end_kind(p, HERALD_OUTCOME_RETRY_LATER,
                     "could not send a request to Instagram");
}

/* Records the container (and media, once known) durably. */
static int
pub_checkpoint(struct ig_pub *p)
{
    json_t *state = json_pack("{ss}", "container_id", p->container);
    int rc;

    if (!state)
        return -ENOMEM;
    if (p->media[0])
        json_object_set_new(state, "media_id", json_string(p->media));
    rc = p->ig->host->checkpoint(p->op, state);
    json_decref(state);
    return rc;
}

static void pub_create(struct ig_pub *p);
static void pub_poll(struct ig_pub *p);
static void quota_start(struct ig_pub *p, const struct ig_outcome *cap);

static int
is_cap(const struct ig_error *e)
{
    return e->code == 9 || e->subcode == 2207042;
}

/* Replaces an expired container by a new one, once per attempt. */
static void
pub_renew(struct ig_pub *p)
{
    if (p->renewed)
        return pub_end_kind(p, HERALD_OUTCOME_REJECTED,
                            "the new media container expired too");
    p->ig->host->log(p->op, LOG_NOTICE,
                     "instagram: container %s expired, making a new one",
                     p->container);
    p->renewed = 1;
    p->container[0] = '\0';
    p->polls = 0;
    pub_create(p);
}

/* ---- LINK ------------------------------------------------------------ */

static void
link_done(struct herald_op *op, const struct herald_http_response *resp,
          void *udata)
{
    struct ig_pub *p = udata;
    struct ig_outcome o;
    json_t *body = ig_read(p->ig, resp, IG_READ, token_of(p), &o, NULL);
    const char *link = json_string_value(json_object_get(body, "permalink"));

    (void)op;
    memset(&o, 0, sizeof(o));
    ig_outcome_set(&o, HERALD_OUTCOME_DONE, NULL);
    o.out.remote_id = p->media;
    o.out.remote_url = link && *link ? link : IG_FALLBACK_URL;
    p->ig->host->complete(p->op, &o.out, NULL);
    json_decref(body);
    free(p);
}

/* Reads the media's permalink, then ends DONE whatever the answer. */
static void
pub_link(struct ig_pub *p)
{
    const char *kv[] = {"fields", "permalink", "access_token", token_of(p),
                        NULL};
    char path[80];

    snprintf(path, sizeof(path), "/%s", p->media);
    pub_send(p, "GET", ig_url(p->ig, p->ig->api_prefix, path, kv), NULL,
             link_done);
}

/* ---- PUBLISH --------------------------------------------------------- */

static void
publish_done(struct herald_op *op, const struct herald_http_response *resp,
             void *udata)
{
    struct ig_pub *p = udata;
    struct ig_outcome o;
    struct ig_error e;
    json_t *body = ig_read(p->ig, resp, IG_PUBLISH, token_of(p), &o, &e);
    char idbuf[64];
    const char *id = ig_json_id(body, "id", idbuf, sizeof(idbuf));

    (void)op;
    /* Only an answer (not a 5xx or a lost connection) proves that
     * nothing was published. */
    if (!body && o.out.kind != HERALD_OUTCOME_UNKNOWN && e.subcode == 2207020)
        return pub_renew(p);
    if (!body && o.out.kind != HERALD_OUTCOME_UNKNOWN && is_cap(&e))
        return quota_start(p, &o);
    if (!body)
        return pub_end(p, &o);
    json_decref(body);
    if (!id) {
        ig_outcome_set(&o, HERALD_OUTCOME_UNKNOWN,
                       "Instagram's media_publish answer has no id");
        return pub_end(p, &o);
    }

    snprintf(p->media, sizeof(p->media), "%s", id);
    p->ig->host->log(p->op, LOG_INFO, "instagram: published media %s",
                     p->media);
    if (pub_checkpoint(p) != 0)
        p->ig->host->log(p->op, LOG_WARNING,
                         "instagram: could not record media %s", p->media);
    pub_link(p);
}

static void
pub_publish(struct ig_pub *p)
{
    const char *query[] = {"creation_id", p->container, NULL};
    const char *form[] = {"access_token", token_of(p), NULL};
    char path[160];

    snprintf(path, sizeof(path), "/%s/media_publish", p->account->remote_id);
    pub_send(p, "POST", ig_url(p->ig, p->ig->api_prefix, path, query),
             ig_form(p->ig, form), publish_done);
}

/* ---- POLL ------------------------------------------------------------ */

/* What lookup() concludes from a container's status_code. */
static void
lookup_status(struct ig_pub *p, const char *code, const char *status)
{
    struct ig_outcome o;

    memset(&o, 0, sizeof(o));
    if (strcmp(code, "PUBLISHED") == 0) {
        ig_outcome_set(&o, HERALD_OUTCOME_DONE,
                       "published; the container does not name the media");
        o.out.remote_url = IG_FALLBACK_URL;
    } else if (strcmp(code, "FINISHED") == 0 ||
               strcmp(code, "IN_PROGRESS") == 0) {
        ig_outcome_set(&o, HERALD_OUTCOME_REJECTED, "not published");
    } else if (strcmp(code, "EXPIRED") == 0 || strcmp(code, "ERROR") == 0) {
        ig_outcome_set(&o, HERALD_OUTCOME_REJECTED,
                       status ? status : "the container failed");
    } else {
        ig_outcome_set(&o, HERALD_OUTCOME_UNKNOWN,
                       "the container's status is not one Instagram "
                       "documents");
    }
    pub_end(p, &o);
}

static void
poll_done(struct herald_op *op, const struct herald_http_response *resp,
          void *udata)
{
    struct ig_pub *p = udata;
    struct ig_outcome o;
    struct ig_error e;
    json_t *body = ig_read(p->ig, resp, IG_READ, token_of(p), &o, &e);
    const char *s = json_string_value(json_object_get(body, "status_code"));
    const char *status = json_string_value(json_object_get(body, "status"));
    char code[32];
    char msg[200];

    (void)op;
    if (!body && e.subcode == 2207020 && !p->lookup)
        return pub_renew(p);
    if (!body)
        return pub_end(p, &o);
    snprintf(code, sizeof(code), "%s", s ? s : "");
    snprintf(msg, sizeof(msg), "%s", status ? status : code);
    json_decref(body);
    if (!code[0]) {
        ig_outcome_set(&o,
                       p->lookup ? HERALD_OUTCOME_UNKNOWN
                                 : HERALD_OUTCOME_RETRY_LATER,
                       "Instagram's container answer has no status_code");
        return pub_end(p, &o);
    }
    if (p->lookup)
        return lookup_status(p, code, msg);

    if (strcmp(code, "FINISHED") == 0)
        return pub_publish(p);
    if (strcmp(code, "IN_PROGRESS") == 0) {
        if (++p->polls < p->ig->poll_limit)
            return pub_poll(p);
        return pub_end_kind(p, HERALD_OUTCOME_RETRY_LATER,
                            "the media container is still being processed");
    }
    if (strcmp(code, "PUBLISHED") == 0) {
        ig_outcome_set(&o, HERALD_OUTCOME_DUPLICATE,
                       "an earlier attempt published this container");
        o.out.remote_url = IG_FALLBACK_URL;
        return pub_end(p, &o);
    }
    if (strcmp(code, "EXPIRED") == 0)
        return pub_renew(p);
    pub_end_kind(p, HERALD_OUTCOME_REJECTED, msg);
}

static void
pub_poll(struct ig_pub *p)
{
    const char *kv[] = {"fields", "status_code,status", "access_token",
                        token_of(p), NULL};
    char path[80];

    snprintf(path, sizeof(path), "/%s", p->container);
    pub_send(p, "GET", ig_url(p->ig, p->ig->api_prefix, path, kv), NULL,
             poll_done);
}

/* ---- CREATE ---------------------------------------------------------- */

static void
create_done(struct herald_op *op, const struct herald_http_response *resp,
            void *udata)
{
    struct ig_pub *p = udata;
    struct ig_outcome o;
    struct ig_error e;
    json_t *body = ig_read(p->ig, resp, IG_READ, token_of(p), &o, &e);
    char idbuf[64];
    const char *id = ig_json_id(body, "id", idbuf, sizeof(idbuf));

    (void)op;
    if (!body && is_cap(&e))
        return quota_start(p, &o);
    if (!body)
        return pub_end(p, &o);
    json_decref(body);
    if (!id) {
        ig_outcome_set(&o, HERALD_OUTCOME_RETRY_LATER,
                       "Instagram's container answer has no id");
        return pub_end(p, &o);
    }

    snprintf(p->container, sizeof(p->container), "%s", id);
    if (pub_checkpoint(p) != 0)
        return pub_end_kind(p, HERALD_OUTCOME_RETRY_LATER,
                            "could not record the media container");
    p->ig->host->log(p->op, LOG_DEBUG, "instagram: container %s",
                     p->container);
    pub_poll(p);
}

/* Counts the code points of UTF-8 text. */
static size_t
codepoints(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The caption: the text, then the link on its own paragraph. NULL when
 * out of memory; the caller frees it. */
static char *
caption_of(const struct herald_post *post)
{
    const char *text = post->text ? post->text : "";
    const char *link = post->link;
    char *c = NULL;

    if (!link || !*link)
        return strdup(text);
    if (asprintf(&c, "%s%s%s", text, *text ? "\n\n" : "", link) < 0)
        return NULL;
    return c;
}

static void
pub_create(struct ig_pub *p)
{
    char *caption = caption_of(p->post);
    const char *kv[] = {"image_url",
                        p->post->media[0],
                        "caption",
                        caption && *caption ? caption : NULL,
                        "access_token",
                        token_of(p),
                        NULL};
    char path[160];
    char *body;

    if (!caption)
        return pub_end_kind(p, HERALD_OUTCOME_RETRY_LATER, "out of memory");
    snprintf(path, sizeof(path), "/%s/media", p->account->remote_id);
    body = ig_form(p->ig, kv);
    free(caption);
    pub_send(p, "POST", ig_url(p->ig, p->ig->api_prefix, path, NULL), body,
             create_done);
}

/* ---- QUOTA ----------------------------------------------------------- */

/* Reads {"data": [{"quota_usage", "config": {"quota_total",
 * "quota_duration"}}]}. Returns 0, or -1 when a number is missing. */
static int
quota_read(json_t *body, long *usage, long *total, int64_t *duration)
{
    json_t *d = json_array_get(json_object_get(body, "data"), 0);
    json_t *config = json_object_get(d, "config");
    json_t *u = json_object_get(d, "quota_usage");
    json_t *t = json_object_get(config, "quota_total");
    json_t *w = json_object_get(config, "quota_duration");

    if (!json_is_integer(u) || !json_is_integer(t))
        return -1;
    *usage = (long)json_integer_value(u);
    *total = (long)json_integer_value(t);
    if (duration)
        *duration = json_is_integer(w) && json_integer_value(w) > 0
                        ? json_integer_value(w)
                        : 86400;
    return 0;
}

/* Ends with the cap outcome, waiting until retry_at. */
static void
quota_end(struct ig_pub *p, int64_t retry_at)
{
    if (retry_at > 0)
        p->cap.out.retry_at = retry_at;
    p->cap.out.message = p->cap.message[0] ? p->cap.message : NULL;
    p->ig->host->complete(p->op, &p->cap.out, NULL);
    free(p);
}

static void quota_probe(struct ig_pub *p);

/* A probe with since = window start + mid: fewer than quota_total posts
 * since then means a slot is free once that moment leaves the window. */
static void
probe_done(struct herald_op *op, const struct herald_http_response *resp,
           void *udata)
{
    struct ig_pub *p = udata;
    struct ig_outcome o;
    json_t *body = ig_read(p->ig, resp, IG_READ, token_of(p), &o, NULL);
    int64_t mid = (p->q_lo + p->q_hi) / 2;
    long usage, total;

    (void)op;
    if (!body || quota_read(body, &usage, &total, NULL) != 0) {
        json_decref(body);
        /* q_hi is always a safe answer. */
        return quota_end(p, (p->q_now_s + p->q_hi + IG_QUOTA_MARGIN_S) * 1000);
    }
    json_decref(body);
    if (usage >= p->q_total)
        p->q_lo = mid;
    else
        p->q_hi = mid;
    if (++p->q_probes < IG_QUOTA_PROBES && p->q_hi - p->q_lo > 60)
        return quota_probe(p);
    quota_end(p, (p->q_now_s + p->q_hi + IG_QUOTA_MARGIN_S) * 1000);
}

static void
quota_probe(struct ig_pub *p)
{
    char since[32];
    const char *kv[] = {"fields",       "quota_usage,config", "since", since,
                        "access_token", token_of(p),          NULL};
    char path[160];

    snprintf(
        since, sizeof(since), "%lld",
        (long long)(p->q_now_s - p->q_window_s + (p->q_lo + p->q_hi) / 2));
    snprintf(path, sizeof(path), "/%s/content_publishing_limit",
             p->account->remote_id);
    pub_send(p, "GET", ig_url(p->ig, p->ig->api_prefix, path, kv), NULL,
             probe_done);
}

static void
quota_done(struct herald_op *op, const struct herald_http_response *resp,
           void *udata)
{
    struct ig_pub *p = udata;
    struct ig_outcome o;
    json_t *body = ig_read(p->ig, resp, IG_READ, token_of(p), &o, NULL);
    long usage, total;
    int64_t window;

    (void)op;
    if (!body || quota_read(body, &usage, &total, &window) != 0) {
        json_decref(body);
        return quota_end(p, 0);
    }
    json_decref(body);
    if (usage < total)
        return quota_end(p, p->ig->host->now_ms() + IG_QUOTA_FREE_WAIT_MS);
    p->q_now_s = p->ig->host->now_ms() / 1000;
    p->q_window_s = window;
    p->q_total = total;
    p->q_lo = 0;
    p->q_hi = window;
    p->q_probes = 0;
    quota_probe(p);
}

/* The publishing cap was reached: learn from the quota when a slot
 * frees, ending with cap (its retry_at is the fallback). */
static void
quota_start(struct ig_pub *p, const struct ig_outcome *cap)
{
    const char *kv[] = {"fields", "quota_usage,config", "access_token",
                        token_of(p), NULL};
    char path[160];

    p->cap = *cap;
    snprintf(path, sizeof(path), "/%s/content_publishing_limit",
             p->account->remote_id);
    pub_send(p, "GET", ig_url(p->ig, p->ig->api_prefix, path, kv), NULL,
             quota_done);
}

/* ---- operations ------------------------------------------------------ */

/* Reads the checkpoint of an earlier attempt into p. */
static void
pub_resume(struct ig_pub *p)
{
    json_t *cp = p->post->checkpoint;
    char buf[64];

    if (ig_json_id(cp, "container_id", buf, sizeof(buf)))
        snprintf(p->container, sizeof(p->container), "%s", buf);
    if (ig_json_id(cp, "media_id", buf, sizeof(buf)))
        snprintf(p->media, sizeof(p->media), "%s", buf);
}

/* Checks what every publish and lookup needs. Returns a message saying
 * what is wrong, or NULL. */
static const char *
pub_invalid(const struct herald_account *account,
            const struct herald_post *post)
{
    if (!account->creds || !account->creds->access_token)
        return "no access token stored";
    if (!account->remote_id || !*account->remote_id ||
        strlen(account->remote_id) > 64)
        return "the account has no Instagram user id";
    (void)post;
    return NULL;
}

static struct ig_pub *
pub_new(struct ig *ig, struct herald_op *op,
        const struct herald_account *account, const struct herald_post *post)
{
    struct ig_pub *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->ig = ig;
    p->op = op;
    p->account = account;
    p->post = post;
    pub_resume(p);
    return p;
}

int
ig_publish(void *state, struct herald_op *op,
           const struct herald_account *account,
           const struct herald_post *post)
{
    struct ig *ig = state;
    const char *invalid = pub_invalid(account, post);
    struct ig_pub *p;
    char *caption;
    size_t length;

    if (!invalid && (!post->media || !post->media[0] || !*post->media[0]))
        invalid = "an Instagram post needs an image";
    if (!invalid && post->media[1])
        invalid = "an Instagram post takes one image; carousels are not "
                  "supported";
    caption = invalid ? NULL : caption_of(post);
    if (!invalid && !caption)
        return -ENOMEM;
    length = caption ? codepoints(caption) : 0;
    free(caption);
    if (!invalid && length > 2200)
        invalid = "the caption (text and link) is longer than 2200 "
                  "characters";

    p = pub_new(ig, op, account, post);
    if (!p)
        return -ENOMEM;
    if (!account->creds || !account->creds->access_token) {
        struct ig_outcome o;

        memset(&o, 0, sizeof(o));
        ig_outcome_set(&o, HERALD_OUTCOME_ACCESS_LOST, invalid);
        o.out.reason = HERALD_ACCESS_INVALID;
        pub_end(p, &o);
    } else if (invalid) {
        pub_end_kind(p, HERALD_OUTCOME_REJECTED, invalid);
    } else if (p->media[0]) {
        pub_link(p);
    } else if (p->container[0]) {
        pub_poll(p);
    } else {
        pub_create(p);
    }
    return 0;
}

int
ig_lookup(void *state, struct herald_op *op,
          const struct herald_account *account, const struct herald_post *post)
{
    struct ig *ig = state;
    const char *invalid = pub_invalid(account, post);
    struct ig_pub *p = pub_new(ig, op, account, post);

    if (!p)
        return -ENOMEM;
    p->lookup = 1;
    if (invalid)
        pub_end_kind(p, HERALD_OUTCOME_UNKNOWN, invalid);
    else if (p->media[0])
        pub_link(p);
    else if (p->container[0])
        pub_poll(p);
    else
        pub_end_kind(p, HERALD_OUTCOME_REJECTED,
                     "not published: no media container was recorded");
    return 0;
}
