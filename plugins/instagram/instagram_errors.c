/*
 * instagram_errors.c - reads Instagram's answers into typed outcomes.
 *
 * Every request of the plugin ends here: ig_read() hands back the body of
 * a success and turns everything else (a transport failure, a 5xx, the
 * Meta error envelope, the older flat error of api.instagram.com, an
 * unreadable body) into one struct herald_outcome. The table it follows
 * is written out in docs/networks/instagram.md.
 *
 * Invariant: a request that may have published (IG_PUBLISH) never ends
 * in RETRY_LATER when it could have reached the network, because a blind
 * retry could post twice; it ends in UNKNOWN and the core reconciles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "instagram.h"

void
ig_outcome_set(struct ig_outcome *o, enum herald_outcome_kind kind,
               const char *message)
{
    o->out.kind = kind;
    snprintf(o->message, sizeof(o->message), "%s", message ? message : "");
    o->out.message = o->message[0] ? o->message : NULL;
}

/* Reads a JSON integer, or a string holding one (Meta sends both). */
static long
json_long(json_t *v)
{
    if (json_is_integer(v))
        return (long)json_integer_value(v);
    if (json_is_string(v))
        return strtol(json_string_value(v), NULL, 10);
    return 0;
}

/*
 * Finds the error in body: the Meta envelope {"error": {...}}, the flat
 * {"error_type", "code", "error_message"} of api.instagram.com, or an
 * OAuth {"error": "...", "error_description": "..."}. Returns 1 and
 * fills e (strings borrowed from body), or 0 when body holds no error.
 */
static int
find_error(json_t *body, struct ig_error *e)
{
    json_t *err = json_object_get(body, "error");

    memset(e, 0, sizeof(*e));
    if (json_is_object(err)) {
        e->code = json_long(json_object_get(err, "code"));
        e->subcode = json_long(json_object_get(err, "error_subcode"));
        e->transient = json_is_true(json_object_get(err, "is_transient"));
        e->message = json_string_value(json_object_get(err, "message"));
        if (!e->message)
            e->message =
                json_string_value(json_object_get(err, "error_user_msg"));
        return 1;
    }
    if (json_is_string(json_object_get(body, "error_message"))) {
        e->code = json_long(json_object_get(body, "code"));
        e->message = json_string_value(json_object_get(body, "error_message"));
        return 1;
    }
    if (json_is_string(err)) {
        e->message =
            json_string_value(json_object_get(body, "error_description"));
        if (!e->message)
            e->message = json_string_value(err);
        return 1;
    }
    return 0;
}

/* Parses Retry-After: delta seconds or an HTTP date. Returns ms or 0. */
static int64_t
retry_after(const struct ig *ig, const struct herald_http_response *resp)
{
    const char *v = ig->host->response_header(resp, "Retry-After");
    struct tm tm;
    char *end;
    long s;

    if (!v)
        return 0;
    s = strtol(v, &end, 10);
    if (end != v && *end == '\0' && s >= 0)
        return ig->host->now_ms() +
               (s < IG_SECONDS_MAX ? (int64_t)s : IG_SECONDS_MAX) * 1000;
    memset(&tm, 0, sizeof(tm));
    if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        return (int64_t)timegm(&tm) * 1000;
    return 0;
}

/*
 * Reads estimated_time_to_regain_access (minutes) from the
 * X-Business-Use-Case-Usage header, whose documented shape is
 * {"<object id>": [{"type", "call_count", ...,
 * "estimated_time_to_regain_access"}]}. Returns the latest time any
 * object regains access, in ms, or 0.
 */
static int64_t
buc_regain(const struct ig *ig, const struct herald_http_response *resp)
{
    const char *v =
        ig->host->response_header(resp, "X-Business-Use-Case-Usage");
    json_t *usage = v ? ig->host->json_parse(v, strlen(v)) : NULL;
    const char *key;
    json_t *entries;
    long minutes = 0;

    json_object_foreach(usage, key, entries)
    {
        size_t i;
        json_t *entry;

        if (json_is_object(entries)) {
            long m = json_long(
                json_object_get(entries, "estimated_time_to_regain_access"));
            minutes = m > minutes ? m : minutes;
        }
        json_array_foreach(entries, i, entry)
        {
            long m = json_long(
                json_object_get(entry, "estimated_time_to_regain_access"));
            minutes = m > minutes ? m : minutes;
        }
    }
    json_decref(usage);
    if (minutes > IG_SECONDS_MAX / 60)
        minutes = IG_SECONDS_MAX / 60;
    return minutes > 0 ? ig->host->now_ms() + (int64_t)minutes * 60000 : 0;
}

/* The wait a throttled answer advertises, in ms since the epoch, or 0. */
static int64_t
advertised_wait(const struct ig *ig, const struct herald_http_response *resp)
{
    int64_t a = retry_after(ig, resp);
    int64_t b = buc_regain(ig, resp);

    return a > b ? a : b;
}

static void
access_lost(struct ig_outcome *o, enum herald_access_reason reason,
            const char *message)
{
    ig_outcome_set(o, HERALD_OUTCOME_ACCESS_LOST, message);
    o->out.reason = reason;
}

static void
rate_limited(struct ig_outcome *o, enum herald_rate_scope scope,
             int64_t retry_at, const char *message)
{
    ig_outcome_set(o, HERALD_OUTCOME_RATE_LIMITED, message);
    o->out.scope = scope;
    o->out.retry_at = retry_at;
}

/* The subcodes of codes -1 and -2 that the reference says to retry. */
static int
transient_subcode(long subcode)
{
    return subcode == 2207001 || subcode == 2207003 || subcode == 2207032 ||
           subcode == 2207053;
}

/* Reads the Meta envelope of a 2xx or 4xx answer into o. */
static void
classify(const struct ig *ig, const struct herald_http_response *resp,
         const struct ig_error *e, struct ig_outcome *o)
{
    const char *msg = e->message ? e->message : "Instagram refused";
    int64_t now = ig->host->now_ms();

    if (e->code == 190 || e->code == 102) {
        if (e->subcode == 463)
            access_lost(o, HERALD_ACCESS_EXPIRED, msg);
        else if (e->subcode == 460)
            access_lost(o, HERALD_ACCESS_PASSWORD_CHANGED, msg);
        else if (e->subcode == 458)
            access_lost(o, HERALD_ACCESS_APP_REMOVED, msg);
        else
            access_lost(o, HERALD_ACCESS_INVALID, msg);
    } else if (e->code == 10 || (e->code >= 200 && e->code <= 299)) {
        access_lost(o, HERALD_ACCESS_PERMISSION_MISSING, msg);
    } else if (e->code == 9 || e->subcode == 2207042 ||
               e->subcode == 2207051) {
        /* The publishing cap, or a spam block on this account: the
         * publish operation refines the wait from the quota. */
        int64_t at = advertised_wait(ig, resp);
        rate_limited(o, HERALD_RATE_USER, at ? at : now + IG_CAP_FALLBACK_MS,
                     msg);
    } else if (e->code == 4) {
        rate_limited(o, HERALD_RATE_APP, advertised_wait(ig, resp), msg);
    } else if (e->code == 17 || e->code == 32 || e->code == 613 ||
               (e->code >= 80001 && e->code <= 80014)) {
        rate_limited(o, HERALD_RATE_USER, advertised_wait(ig, resp), msg);
    } else if (e->subcode == 2207057) {
        ig_outcome_set(o, HERALD_OUTCOME_REJECTED, msg);
    } else if (e->code == 1 || e->code == 2 || e->code == 9007 ||
               e->subcode == 2207027 ||
               ((e->code == -1 || e->code == -2) &&
                transient_subcode(e->subcode))) {
        ig_outcome_set(o, HERALD_OUTCOME_RETRY_LATER, msg);
        o->out.retry_at = retry_after(ig, resp);
    } else if (e->code == 506) {
        ig_outcome_set(o, HERALD_OUTCOME_DUPLICATE, msg);
    } else if (e->transient) {
        ig_outcome_set(o, HERALD_OUTCOME_RETRY_LATER, msg);
        o->out.retry_at = retry_after(ig, resp);
    } else {
        ig_outcome_set(o, HERALD_OUTCOME_REJECTED, msg);
    }
}

/* Reads a failed answer that carries no error envelope. */
static void
classify_status(const struct ig *ig, const struct herald_http_response *resp,
                enum ig_effect effect, struct ig_outcome *o)
{
    char msg[64];

    snprintf(msg, sizeof(msg), "Instagram answered HTTP %ld", resp->status);
    if (resp->status == 401) {
        access_lost(o, HERALD_ACCESS_INVALID, msg);
    } else if (resp->status == 429) {
        rate_limited(o, HERALD_RATE_USER, advertised_wait(ig, resp), msg);
    } else if (resp->status == 408) {
        ig_outcome_set(o,
                       effect == IG_PUBLISH ? HERALD_OUTCOME_UNKNOWN
                                            : HERALD_OUTCOME_RETRY_LATER,
                       msg);
    } else if (resp->status >= 400 && resp->status < 500) {
        ig_outcome_set(o, HERALD_OUTCOME_REJECTED, msg);
    } else {
        ig_outcome_set(o,
                       effect == IG_PUBLISH ? HERALD_OUTCOME_UNKNOWN
                                            : HERALD_OUTCOME_RETRY_LATER,
                       msg);
    }
}

/* A request that did not end in a response. */
static void
classify_transport(const struct herald_http_response *resp,
                   enum ig_effect effect, struct ig_outcome *o)
{
    switch (resp->transport) {
    case HERALD_TRANSPORT_CONNECT:
        ig_outcome_set(o, HERALD_OUTCOME_RETRY_LATER,
                       "could not connect to Instagram");
        break;
    case HERALD_TRANSPORT_TIMEOUT:
        ig_outcome_set(o,
                       effect == IG_PUBLISH ? HERALD_OUTCOME_UNKNOWN
                                            : HERALD_OUTCOME_RETRY_LATER,
                       "Instagram did not answer in time");
        break;
    case HERALD_TRANSPORT_BROKEN:
        ig_outcome_set(o,
                       effect == IG_PUBLISH ? HERALD_OUTCOME_UNKNOWN
                                            : HERALD_OUTCOME_RETRY_LATER,
                       "the connection to Instagram was lost");
        break;
    default:
        ig_outcome_set(o, HERALD_OUTCOME_RETRY_LATER,
                       "the request was canceled");
        break;
    }
}

/* Replaces a message that quotes a credential. */
static void
scrub(const struct ig *ig, struct ig_outcome *o, const char *secret)
{
    const char *s[] = {secret, ig->client_secret};

    for (size_t i = 0; i < sizeof(s) / sizeof(*s); i++) {
        if (s[i] && s[i][0] && strstr(o->message, s[i])) {
            ig_outcome_set(o, o->out.kind,
                           "Instagram's message was withheld because it "
                           "quoted a credential");
            return;
        }
    }
}

json_t *
ig_read(const struct ig *ig, const struct herald_http_response *resp,
        enum ig_effect effect, const char *secret, struct ig_outcome *o,
        struct ig_error *err)
{
    struct ig_error e = {0};
    json_t *body = NULL;
    int has_error = 0;

    memset(o, 0, sizeof(*o));
    if (err)
        memset(err, 0, sizeof(*err));
    if (resp->transport != HERALD_TRANSPORT_OK) {
        classify_transport(resp, effect, o);
        return NULL;
    }
    o->out.http_status = (int)resp->status;
    if (resp->body && resp->body_len)
        body = ig->host->json_parse(resp->body, resp->body_len);
    if (json_is_object(body))
        has_error = find_error(body, &e);

    if (resp->status >= 200 && resp->status < 300 && !has_error) {
        if (json_is_object(body))
            return body;
        ig_outcome_set(o,
                       effect == IG_PUBLISH ? HERALD_OUTCOME_UNKNOWN
                                            : HERALD_OUTCOME_RETRY_LATER,
                       "Instagram's answer could not be read");
        json_decref(body);
        return NULL;
    }

    if (err)
        *err = e;
    if (resp->status >= 500) {
        classify_status(ig, resp, effect, o);
        if (e.message)
            ig_outcome_set(o, o->out.kind, e.message);
    } else if (has_error) {
        classify(ig, resp, &e, o);
    } else {
        classify_status(ig, resp, effect, o);
    }
    scrub(ig, o, secret);
    if (err)
        err->message = NULL; /* borrowed from body, freed below */
    json_decref(body);
    return NULL;
}
