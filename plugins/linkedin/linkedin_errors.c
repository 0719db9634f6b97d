/*
 * linkedin_errors.c - LinkedIn's answers read into typed outcomes.
 *
 * Called by every operation of the plugin when a request did not succeed:
 * li_api_outcome() for the REST and userinfo APIs, whose error body is
 * {"message", "serviceErrorCode", "status"} (sometimes with "code"), and
 * li_token_outcome() for the OAuth token endpoint, whose error body is
 * {"error", "error_description"}. The one rule: a message is the
 * network's own reason and never holds a token, a secret or a code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "linkedin.h"

#define DAY_MS 86400000LL

/* Copies s into msg, cut at LI_MSG_MAX, dropping control characters so a
 * message stays one line. */
static void
copy_message(char *msg, const char *s)
{
    size_t o = 0;

    for (; *s && o + 1 < LI_MSG_MAX; s++)
        msg[o++] = (unsigned char)*s < 0x20 ? ' ' : *s;
    while (o > 0 && msg[o - 1] == ' ')
        o--;
    msg[o] = '\0';
}

static json_t *
parse_body(const struct linkedin *li, const struct herald_http_response *resp)
{
    if (!resp->body || resp->body_len == 0)
        return NULL;
    return li->host->json_parse(resp->body, resp->body_len);
}

void
li_body_message(const struct linkedin *li,
                const struct herald_http_response *resp, char *msg)
{
    json_t *body = parse_body(li, resp);
    const char *text = json_string_value(json_object_get(body, "message"));

    if (!text)
        text = json_string_value(json_object_get(body, "error_description"));
    if (text && *text)
        copy_message(msg, text);
    else
        snprintf(msg, LI_MSG_MAX, "LinkedIn answered HTTP %ld", resp->status);
    json_decref(body);
}

/* Fills out for a request that ended below HTTP. */
static void
transport_outcome(const struct herald_http_response *resp, int creates,
                  struct herald_outcome *out, char *msg)
{
    const char *what = "the connection to LinkedIn failed";
    int uncertain = 0;

    switch (resp->transport) {
    case HERALD_TRANSPORT_CONNECT:
        what = "cannot connect to LinkedIn";
        break;
    case HERALD_TRANSPORT_TIMEOUT:
        what = "LinkedIn did not answer in time";
        uncertain = 1;
        break;
    case HERALD_TRANSPORT_BROKEN:
        what = "the connection to LinkedIn broke";
        uncertain = 1;
        break;
    case HERALD_TRANSPORT_CANCELED:
        what = "the request to LinkedIn was canceled";
        break;
    default:
        break;
    }
    out->kind = creates && uncertain ? HERALD_OUTCOME_UNKNOWN
                                     : HERALD_OUTCOME_RETRY_LATER;
    snprintf(msg, LI_MSG_MAX, "%s", what);
    out->message = msg;
}

/* Returns the end of the current UTC day in ms: LinkedIn's daily limits
 * reset at midnight UTC. */
static int64_t
next_midnight(int64_t now)
{
    return (now / DAY_MS + 1) * DAY_MS;
}

/* Fills out for a 429: until Retry-After when given, else midnight UTC. */
static void
rate_limited(const struct linkedin *li,
             const struct herald_http_response *resp, const char *text,
             struct herald_outcome *out)
{
    const char *after = li->host->response_header(resp, "Retry-After");
    int64_t now = li->host->now_ms();
    char *end = NULL;
    long long s = after ? strtoll(after, &end, 10) : -1;

    out->kind = HERALD_OUTCOME_RATE_LIMITED;
    if (after && end != after && *end == '\0' && s >= 0)
        out->retry_at = now + (s < LI_SECONDS_MAX ? s : LI_SECONDS_MAX) * 1000;
    else
        out->retry_at = next_midnight(now);
    /* LinkedIn counts calls per member and per application; only an
     * application-wide throttle names the application. */
    out->scope = text && strstr(text, "APPLICATION") ? HERALD_RATE_APP
                                                     : HERALD_RATE_USER;
}

/* Returns non-zero when the body's inputErrors name code. */
static int
has_input_error(json_t *body, const char *code)
{
    json_t *errors =
        json_object_get(json_object_get(body, "errorDetails"), "inputErrors");
    size_t i;
    json_t *e;

    json_array_foreach(errors, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "code"));
        if (c && strcmp(c, code) == 0)
            return 1;
    }
    return 0;
}

/* Writes the URN a duplicate answer names ("... duplicate of urn:li:...")
 * into id_buf, and its URL into url_buf. */
static void
duplicate_of(const struct linkedin *li, const char *text, char *id_buf,
             char *url_buf)
{
    const char *p = text ? strstr(text, "urn:li:") : NULL;
    size_t n = 0;

    if (!p || !id_buf || !url_buf)
        return;
    while (p[n] && n + 1 < LI_MSG_MAX && p[n] != ' ' && p[n] != ',' &&
           p[n] != '"' && p[n] != ')' && !(p[n] == '.' && !p[n + 1]))
        n++;
    memcpy(id_buf, p, n);
    id_buf[n] = '\0';
    li_post_url(li, id_buf, url_buf);
}

/* Fills out for a 401, whose serviceErrorCode says why the token failed. */
static void
unauthorized(json_t *body, const char *text, const struct li_call *call,
             struct herald_outcome *out)
{
    json_int_t sec =
        json_integer_value(json_object_get(body, "serviceErrorCode"));
    const char *code = json_string_value(json_object_get(body, "code"));

    out->kind = HERALD_OUTCOME_ACCESS_LOST;
    if (sec == 65601 || (code && strcmp(code, "REVOKED_ACCESS_TOKEN") == 0)) {
        out->reason = HERALD_ACCESS_REVOKED;
    } else if (sec == 65602 ||
               (code && strcmp(code, "EXPIRED_ACCESS_TOKEN") == 0) ||
               (text && strcasestr(text, "expired"))) {
        if (call->has_refresh)
            out->kind = HERALD_OUTCOME_TOKEN_EXPIRED;
        else
            out->reason = HERALD_ACCESS_EXPIRED;
    } else {
        out->reason = HERALD_ACCESS_INVALID;
    }
}

void
li_api_outcome(const struct linkedin *li,
               const struct herald_http_response *resp,
               const struct li_call *call, struct herald_outcome *out,
               char *msg, char *id_buf, char *url_buf)
{
    json_t *body;
    const char *text;
    json_int_t sec;

    memset(out, 0, sizeof(*out));
    if (resp->transport != HERALD_TRANSPORT_OK) {
        transport_outcome(resp, call->creates, out, msg);
        return;
    }
    out->http_status = (int)resp->status;
    li_body_message(li, resp, msg);
    out->message = msg;
    body = parse_body(li, resp);
    text = json_string_value(json_object_get(body, "message"));
    sec = json_integer_value(json_object_get(body, "serviceErrorCode"));

    if (resp->status == 401) {
        unauthorized(body, text, call, out);
    } else if (resp->status == 403) {
        out->kind = HERALD_OUTCOME_REJECTED;
        if (sec == 100 && !call->as_organization) {
            out->kind = HERALD_OUTCOME_ACCESS_LOST;
            out->reason = HERALD_ACCESS_PERMISSION_MISSING;
        }
    } else if (resp->status == 429) {
        rate_limited(li, resp, text, out);
    } else if (resp->status == 422 &&
               (has_input_error(body, "DUPLICATE_POST") ||
                (text && strcasestr(text, "duplicate")))) {
        out->kind = HERALD_OUTCOME_DUPLICATE;
        duplicate_of(li, text, id_buf, url_buf);
        if (id_buf && *id_buf) {
            out->remote_id = id_buf;
            out->remote_url = url_buf;
        }
    } else if (resp->status >= 500 || resp->status == 408) {
        out->kind = call->creates ? HERALD_OUTCOME_UNKNOWN
                                  : HERALD_OUTCOME_RETRY_LATER;
    } else if (resp->status >= 200 && resp->status < 300) {
        /* A success the caller could not read. */
        out->kind = call->creates ? HERALD_OUTCOME_UNKNOWN
                                  : HERALD_OUTCOME_RETRY_LATER;
        snprintf(msg, LI_MSG_MAX,
                 "LinkedIn answered HTTP %ld with a body herald cannot read",
                 resp->status);
    } else {
        out->kind = HERALD_OUTCOME_REJECTED;
    }
    json_decref(body);
}

/* Reads why the refresh grant failed for good. LinkedIn says "Token has
 * been expired or revoked." for both; the deadline tells them apart. */
static enum herald_access_reason
dead_refresh_reason(const struct linkedin *li, const char *text,
                    int64_t deadline)
{
    int says_expired = text && strcasestr(text, "expired");
    int says_revoked = text && strcasestr(text, "revoked");

    if (deadline > 0)
        return li->host->now_ms() >= deadline ? HERALD_ACCESS_EXPIRED
                                              : HERALD_ACCESS_REVOKED;
    return says_revoked && !says_expired ? HERALD_ACCESS_REVOKED
                                         : HERALD_ACCESS_EXPIRED;
}

void
li_token_outcome(const struct linkedin *li,
                 const struct herald_http_response *resp, int refreshing,
                 int64_t deadline, struct herald_outcome *out, char *msg)
{
    json_t *body;
    const char *error;
    const char *text;

    memset(out, 0, sizeof(*out));
    if (resp->transport != HERALD_TRANSPORT_OK) {
        transport_outcome(resp, 0, out, msg);
        return;
    }
    out->http_status = (int)resp->status;
    out->message = msg;
    body = parse_body(li, resp);
    error = json_string_value(json_object_get(body, "error"));
    text = json_string_value(json_object_get(body, "error_description"));
    if (!text)
        text = json_string_value(json_object_get(body, "message"));
    if (error && text)
        snprintf(msg, LI_MSG_MAX, "%s: %s", error, text);
    else
        li_body_message(li, resp, msg);
    copy_message(msg, msg);

    if (resp->status == 429) {
        rate_limited(li, resp, text, out);
    } else if (resp->status >= 500 || resp->status == 408 ||
               (resp->status >= 200 && resp->status < 300)) {
        out->kind = HERALD_OUTCOME_RETRY_LATER;
        if (resp->status < 300)
            snprintf(msg, LI_MSG_MAX,
                     "the token endpoint answered HTTP %ld without a token",
                     resp->status);
    } else if (refreshing && error && strcmp(error, "invalid_grant") == 0) {
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason = dead_refresh_reason(li, text, deadline);
    } else if (refreshing && resp->status == 400) {
        /* A refresh token LinkedIn does not accept cannot be retried. */
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason = HERALD_ACCESS_INVALID;
    } else {
        out->kind = HERALD_OUTCOME_REJECTED;
    }
    json_decref(body);
}
