/*
 * facebook_errors.c - reads Graph API replies into typed outcomes.
 *
 * Facebook answers token, permission, throttling and most client errors
 * with HTTP 400 (sometimes 403 or 500) and the Meta error envelope
 *
 *     {"error": {"message", "type", "code", "error_subcode",
 *                "is_transient", "fbtrace_id"}}
 *
 * so the outcome is decided on code, subcode and is_transient, never on
 * the status alone. The table (docs/networks/facebook.md has it too):
 *
 *   190 or 102, subcode 463      ACCESS_LOST EXPIRED (no refresh exists)
 *   190 or 102, subcode 460      ACCESS_LOST PASSWORD_CHANGED
 *   190 or 102, subcode 458      ACCESS_LOST APP_REMOVED
 *   190 or 102, anything else    ACCESS_LOST INVALID
 *   10, 200-299                  ACCESS_LOST PERMISSION_MISSING
 *   4, 341                       RATE_LIMITED, scope APP
 *   17, 32, 613, 80001-80014     RATE_LIMITED, scope USER
 *   506                          DUPLICATE
 *   368, 100                     REJECTED
 *   1, 2, or is_transient        RETRY_LATER
 *   any other code               REJECTED (RETRY_LATER on 5xx; UNKNOWN on
 *                                5xx to a request that may create a post)
 *
 * Rate-limit outcomes carry retry_at from estimated_time_to_regain_access
 * (minutes) in the usage headers, or 0 to let the core back off.
 *
 * Called by the operation files from their HTTP callbacks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "facebook.h"

/* The longest wait a usage header may impose: a week. */
#define FB_MAX_REGAIN_MIN (7LL * 24 * 60)

/* Cuts a UTF-8 sequence that truncation left incomplete at the end. */
static void
trim_utf8(char *s)
{
    size_t len = strlen(s);
    size_t i = len;
    size_t need;
    unsigned char lead;

    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    lead = (unsigned char)s[i - 1];
    if (lead < 0x80)
        return;
    need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (len - (i - 1) < need)
        s[i - 1] = '\0';
}

void
fb_outcome_set(struct fb_outcome *out, enum herald_outcome_kind kind,
               const char *fmt, ...)
{
    va_list ap;

    out->o.kind = kind;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
    trim_utf8(out->message);
}

/* The largest estimated_time_to_regain_access anywhere in v. */
static double
regain_minutes(json_t *v, int depth)
{
    double best = 0;
    double m;
    const char *key;
    json_t *item;
    size_t i;

    if (depth > 4)
        return 0;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            if (strcmp(key, "estimated_time_to_regain_access") == 0)
                m = json_number_value(item);
            else
                m = regain_minutes(item, depth + 1);
            best = m > best ? m : best;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            m = regain_minutes(item, depth + 1);
            best = m > best ? m : best;
        }
    }
    return best;
}

/* When a throttled caller may try again, from the usage headers, or 0
 * when they do not say. */
static int64_t
regain_at(const struct fb *fb, const struct herald_http_response *resp)
{
    static const char *const names[] = {"X-Business-Use-Case-Usage",
                                        "X-App-Usage", "X-Page-Usage"};
    double best = 0;
    double m;
    const char *h;
    json_t *usage;

    if (!resp->headers)
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        h = fb->host->response_header(resp, names[i]);
        if (!h)
            continue;
        usage = fb->host->json_parse(h, strlen(h));
        m = regain_minutes(usage, 0);
        json_decref(usage);
        best = m > best ? m : best;
    }
    if (best <= 0)
        return 0;
    if (best > FB_MAX_REGAIN_MIN)
        best = FB_MAX_REGAIN_MIN;
    return fb->host->now_ms() + (int64_t)(best * 60000.0);
}

static void
read_transport(const struct herald_http_response *resp, enum fb_call call,
               const char *what, struct fb_outcome *out)
{
    switch (resp->transport) {
    case HERALD_TRANSPORT_CONNECT:
        fb_outcome_set(out, HERALD_OUTCOME_RETRY_LATER,
                       "%s: cannot connect to Facebook", what);
        return;
    case HERALD_TRANSPORT_TIMEOUT:
    case HERALD_TRANSPORT_BROKEN:
        if (call == FB_CALL_CREATE) {
            fb_outcome_set(out, HERALD_OUTCOME_UNKNOWN,
                           "%s: %s before the answer; the post may have "
                           "been published",
                           what,
                           resp->transport == HERALD_TRANSPORT_TIMEOUT
                               ? "timed out"
                               : "connection lost");
            return;
        }
        fb_outcome_set(out, HERALD_OUTCOME_RETRY_LATER, "%s: %s", what,
                       resp->transport == HERALD_TRANSPORT_TIMEOUT
                           ? "timed out"
                           : "connection lost");
        return;
    default:
        fb_outcome_set(out, HERALD_OUTCOME_RETRY_LATER, "%s: canceled", what);
        return;
    }
}

static long long
int_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return -1;
}

static enum herald_access_reason
token_reason(long long subcode)
{
    switch (subcode) {
    case 463:
        return HERALD_ACCESS_EXPIRED;
    case 460:
        return HERALD_ACCESS_PASSWORD_CHANGED;
    case 458:
        return HERALD_ACCESS_APP_REMOVED;
    default:
        return HERALD_ACCESS_INVALID;
    }
}

/* Decides the outcome of a Meta error envelope (see the table above). */
static void
read_envelope(const struct fb *fb, const struct herald_http_response *resp,
              enum fb_call call, json_t *err, struct fb_outcome *out)
{
    long long code = int_member(err, "code");
    long long sub = int_member(err, "error_subcode");
    int transient = json_is_true(json_object_get(err, "is_transient"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    enum herald_outcome_kind kind;

    if (code == 190 || code == 102) {
        kind = HERALD_OUTCOME_ACCESS_LOST;
        out->o.reason = token_reason(sub);
    } else if (code == 10 || (code >= 200 && code <= 299)) {
        kind = HERALD_OUTCOME_ACCESS_LOST;
        out->o.reason = HERALD_ACCESS_PERMISSION_MISSING;
    } else if (code == 4 || code == 341) {
        kind = HERALD_OUTCOME_RATE_LIMITED;
        out->o.scope = HERALD_RATE_APP;
    } else if (code == 17 || code == 32 || code == 613 ||
               (code >= 80001 && code <= 80014)) {
        kind = HERALD_OUTCOME_RATE_LIMITED;
        out->o.scope = HERALD_RATE_USER;
    } else if (code == 506) {
        kind = HERALD_OUTCOME_DUPLICATE;
    } else if (code == 368 || code == 100) {
        kind = HERALD_OUTCOME_REJECTED;
    } else if (code == 1 || code == 2 || transient) {
        kind = HERALD_OUTCOME_RETRY_LATER;
    } else if (resp->status >= 500) {
        kind = call == FB_CALL_CREATE ? HERALD_OUTCOME_UNKNOWN
                                      : HERALD_OUTCOME_RETRY_LATER;
    } else {
        kind = HERALD_OUTCOME_REJECTED;
    }
    if (kind == HERALD_OUTCOME_RATE_LIMITED)
        out->o.retry_at = regain_at(fb, resp);
    if (msg && *msg)
        fb_outcome_set(out, kind, "%s", msg);
    else
        fb_outcome_set(out, kind, "Graph API error %lld (subcode %lld)", code,
                       sub);
}

/* A non-2xx reply without the envelope: a proxy, or a broken server. */
static void
read_status(const struct fb *fb, const struct herald_http_response *resp,
            enum fb_call call, const char *what, struct fb_outcome *out)
{
    if (resp->status == 429) {
        fb_outcome_set(out, HERALD_OUTCOME_RATE_LIMITED,
                       "%s: HTTP 429 too many requests", what);
        out->o.scope = HERALD_RATE_USER;
        out->o.retry_at = regain_at(fb, resp);
    } else if (resp->status >= 500 && call == FB_CALL_CREATE) {
        fb_outcome_set(out, HERALD_OUTCOME_UNKNOWN,
                       "%s: HTTP %ld; the post may have been published", what,
                       resp->status);
    } else if (resp->status >= 500) {
        fb_outcome_set(out, HERALD_OUTCOME_RETRY_LATER, "%s: HTTP %ld", what,
                       resp->status);
    } else {
        fb_outcome_set(out, HERALD_OUTCOME_REJECTED,
                       "%s: HTTP %ld without a Graph API error", what,
                       resp->status);
    }
}

json_t *
fb_read(const struct fb *fb, const struct herald_http_response *resp,
        enum fb_call call, const char *what, struct fb_outcome *out)
{
    json_t *body;
    json_t *err;

    memset(out, 0, sizeof(*out));
    if (resp->transport != HERALD_TRANSPORT_OK) {
        read_transport(resp, call, what, out);
        return NULL;
    }
    out->o.http_status = (int)resp->status;
    body = resp->body_len ? fb->host->json_parse(resp->body, resp->body_len)
                          : NULL;
    err = json_object_get(body, "error");
    if (json_is_object(err)) {
        read_envelope(fb, resp, call, err, out);
        json_decref(body);
        return NULL;
    }
    if (resp->status >= 200 && resp->status < 300) {
        if (json_is_object(body))
            return body;
        json_decref(body);
        fb_unreadable(resp, call, what, out);
        return NULL;
    }
    json_decref(body);
    read_status(fb, resp, call, what, out);
    return NULL;
}

void
fb_unreadable(const struct herald_http_response *resp, enum fb_call call,
              const char *what, struct fb_outcome *out)
{
    out->o.http_status = (int)resp->status;
    if (call == FB_CALL_CREATE)
        fb_outcome_set(out, HERALD_OUTCOME_UNKNOWN,
                       "%s: HTTP %ld with an answer that cannot be read; "
                       "the post may have been published",
                       what, resp->status);
    else
        fb_outcome_set(out, HERALD_OUTCOME_RETRY_LATER,
                       "%s: HTTP %ld with an answer that cannot be read", what,
                       resp->status);
}

void
fb_unsent(int rc, const char *what, struct fb_outcome *out)
{
    memset(out, 0, sizeof(*out));
    fb_outcome_set(out, HERALD_OUTCOME_RETRY_LATER,
                   "%s: cannot send the request (%s)", what, strerror(-rc));
}

void
fb_complete(const struct fb *fb, struct herald_op *op, struct fb_outcome *out,
            const struct herald_result *result, const char *const *secrets,
            size_t nsecrets)
{
    for (size_t i = 0; i < nsecrets; i++) {
        if (!secrets[i] || !*secrets[i] || !strstr(out->message, secrets[i]))
            continue;
        snprintf(out->message, sizeof(out->message),
                 "Facebook's message was withheld because it quoted a "
                 "credential");
        fb->host->log(op, LOG_WARNING,
                      "withheld a network message that quoted a credential");
        break;
    }
    out->o.message = out->message[0] ? out->message : NULL;
    if (out->o.kind != HERALD_OUTCOME_DONE && out->o.kind != 0)
        fb->host->log(op, LOG_DEBUG, "outcome %d: %s", (int)out->o.kind,
                      out->message);
    fb->host->complete(op, &out->o, result);
}
