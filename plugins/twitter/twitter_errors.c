/*
 * twitter_errors.c - reads X's error answers into typed outcomes.
 *
 * X answers API errors with problem JSON ({"title", "detail", "type",
 * "status", "errors": [...]}) and token endpoint errors with OAuth JSON
 * ({"error", "error_description"}). Which outcome a status means depends
 * on where it came from (enum tw_context): a 401 from the API is an
 * access token a refresh may renew, a 400 invalid_request from a refresh
 * is a dead refresh chain, a 5xx on a post creation may have posted.
 * docs/networks/twitter.md has the table this file implements.
 *
 * Every message handed out is copied into the call and scrubbed of the
 * call's secrets first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "twitter.h"

/* What a parsed error body says. Strings borrow from the body. */
struct tw_problem {
    const char *error;       /* OAuth "error" */
    const char *description; /* OAuth "error_description" */
    const char *title;
    const char *detail;
    const char *type;
    const char *first_message; /* errors[0].message */
};

/* Returns whether s contains the secret (NULL or empty never matches). */
static int
leaks(const char *s, const char *secret)
{
    return secret && secret[0] && strstr(s, secret);
}

/* Returns whether text holds any secret the call knows. */
static int
holds_secret(const struct tw_call *call, const char *text)
{
    const struct herald_credentials *creds =
        call->account ? call->account->creds : NULL;
    const char *secret =
        json_string_value(json_object_get(call->tw->config, "client_secret"));

    if (leaks(text, secret))
        return 1;
    if (creds && (leaks(text, creds->access_token) ||
                  leaks(text, creds->refresh_token)))
        return 1;
    if (call->exchange && (leaks(text, call->exchange->code) ||
                           leaks(text, call->exchange->code_verifier)))
        return 1;
    return leaks(text, json_string_value(
                           json_object_get(call->token, "access_token"))) ||
           leaks(text, json_string_value(
                           json_object_get(call->token, "refresh_token")));
}

const char *
tw_set_message(struct tw_call *call, const char *text)
{
    size_t n = strlen(text);

    if (holds_secret(call, text))
        text = "X's answer repeated a credential; its text is withheld";
    n = strlen(text);
    if (n > TW_MESSAGE_MAX) {
        n = TW_MESSAGE_MAX;
        /* Never cut a UTF-8 sequence in two. */
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(call->message, text, n);
    call->message[n] = '\0';
    return call->message;
}

/* Returns header name as a non-negative integer, cut to TW_SECONDS_MAX,
 * or -1. */
static long long
header_int(const struct tw_call *call, const struct herald_http_response *resp,
           const char *name)
{
    const char *v = call->tw->host->response_header(resp, name);
    char *end;
    long long n;

    if (!v)
        return -1;
    n = strtoll(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == v || *end != '\0' || n < 0)
        return -1;
    return n < TW_SECONDS_MAX ? n : TW_SECONDS_MAX;
}

/* The time Retry-After (delta seconds) names, in ms, or 0. */
static int64_t
retry_after(const struct tw_call *call,
            const struct herald_http_response *resp)
{
    long long s = header_int(call, resp, "Retry-After");

    return s < 0 ? 0 : call->tw->host->now_ms() + s * 1000;
}

/*
 * Fills a RATE_LIMITED outcome from X's headers. A window whose remaining
 * count is 0 is exhausted: the latest reset among exhausted windows is
 * when to try again, and an exhausted app-wide 24-hour window makes the
 * limit the whole app's. Without a remaining count, x-rate-limit-reset
 * (the 15-minute per-user window) is used, then Retry-After.
 */
static void
read_rate_limit(const struct tw_call *call,
                const struct herald_http_response *resp,
                const struct tw_problem *p, struct herald_outcome *out)
{
    static const struct {
        const char *remaining;
        const char *reset;
        enum herald_rate_scope scope;
    } windows[] = {
        {"x-rate-limit-remaining", "x-rate-limit-reset", HERALD_RATE_USER},
        {"x-user-limit-24hour-remaining", "x-user-limit-24hour-reset",
         HERALD_RATE_USER},
        {"x-app-limit-24hour-remaining", "x-app-limit-24hour-reset",
         HERALD_RATE_APP},
    };
    int64_t until = 0;
    int exhausted = 0;

    out->kind = HERALD_OUTCOME_RATE_LIMITED;
    out->scope = HERALD_RATE_USER;
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        long long left = header_int(call, resp, windows[i].remaining);
        long long reset = header_int(call, resp, windows[i].reset);

        if (left != 0 || reset <= 0)
            continue;
        exhausted = 1;
        if (reset * 1000 > until)
            until = reset * 1000;
        if (windows[i].scope == HERALD_RATE_APP)
            out->scope = HERALD_RATE_APP;
    }
    if (!exhausted) {
        long long reset = header_int(call, resp, "x-rate-limit-reset");

        until = reset > 0 ? reset * 1000 : 0;
    }
    if (!until)
        until = retry_after(call, resp);
    /* A reset already past says nothing: let the core back off. */
    if (until <= call->tw->host->now_ms())
        until = 0;
    /* The monthly usage cap is the app's (its project's), not a user's. */
    if (p->type && strstr(p->type, "/usage-capped"))
        out->scope = HERALD_RATE_APP;
    out->retry_at = until;
}

/* Reads the fields of an error body; *p borrows from body. */
static void
read_problem(const json_t *body, struct tw_problem *p)
{
    const json_t *first = json_array_get(json_object_get(body, "errors"), 0);

    p->error = json_string_value(json_object_get(body, "error"));
    p->description =
        json_string_value(json_object_get(body, "error_description"));
    p->title = json_string_value(json_object_get(body, "title"));
    p->detail = json_string_value(json_object_get(body, "detail"));
    p->type = json_string_value(json_object_get(body, "type"));
    p->first_message = json_string_value(json_object_get(first, "message"));
}

/* Returns whether a raw body is short plain text worth quoting. */
static int
plain_text(const struct herald_http_response *resp)
{
    if (resp->body_len == 0 || resp->body_len > 200)
        return 0;
    for (size_t i = 0; i < resp->body_len; i++)
        if ((unsigned char)resp->body[i] < 0x20 || resp->body[i] == 0x7f)
            return 0;
    return 1;
}

/* Sets out->message to X's most specific reason text. */
static void
set_reason(struct tw_call *call, const struct herald_http_response *resp,
           const struct tw_problem *p, struct herald_outcome *out)
{
    char text[TW_MESSAGE_MAX + 64];

    if (p->description)
        snprintf(text, sizeof(text), "%s: %s", p->error ? p->error : "error",
                 p->description);
    else if (p->first_message)
        snprintf(text, sizeof(text), "%s", p->first_message);
    else if (p->detail)
        snprintf(text, sizeof(text), "%s", p->detail);
    else if (p->title)
        snprintf(text, sizeof(text), "%s", p->title);
    else if (p->error)
        snprintf(text, sizeof(text), "%s", p->error);
    else if (plain_text(resp))
        snprintf(text, sizeof(text), "HTTP %ld: %.*s", resp->status,
                 (int)resp->body_len, resp->body);
    else
        snprintf(text, sizeof(text), "HTTP %ld from X", resp->status);
    out->message = tw_set_message(call, text);
}

/* The outcome of a request that got no complete answer. */
static void
read_transport(const struct herald_http_response *resp, enum tw_context ctx,
               struct herald_outcome *out)
{
    static const char *const texts[] = {
        [HERALD_TRANSPORT_CONNECT] = "could not connect to X",
        [HERALD_TRANSPORT_TIMEOUT] = "X did not answer in time",
        [HERALD_TRANSPORT_BROKEN] = "the connection to X broke",
        [HERALD_TRANSPORT_CANCELED] = "the request was canceled at shutdown",
    };
    unsigned t = (unsigned)resp->transport;

    out->http_status = 0;
    out->message = t < sizeof(texts) / sizeof(texts[0]) && texts[t]
                       ? texts[t]
                       : "the request to X failed";
    /* Anything but a failed connect may have reached X. */
    if (ctx == TW_CTX_CREATE && resp->transport != HERALD_TRANSPORT_CONNECT)
        out->kind = HERALD_OUTCOME_UNKNOWN;
    else
        out->kind = HERALD_OUTCOME_RETRY_LATER;
}

/* Whether err is one of the OAuth codes X uses for a bad code or token. */
static int
bad_grant(const char *err)
{
    return err && (strcmp(err, "invalid_request") == 0 ||
                   strcmp(err, "invalid_grant") == 0);
}

/* Classifies an answer of the token or revocation endpoint. */
static void
read_token_error(struct tw_call *call, const struct herald_http_response *resp,
                 enum tw_context ctx, const struct tw_problem *p,
                 struct herald_outcome *out)
{
    long status = resp->status;
    const char *err = p->error ? p->error : "";

    if (status == 429) {
        read_rate_limit(call, resp, p, out);
    } else if (status >= 500 || status == 408 || status < 400) {
        out->kind = HERALD_OUTCOME_RETRY_LATER;
        out->retry_at = retry_after(call, resp);
    } else if (status == 401 || strcmp(err, "invalid_client") == 0 ||
               strcmp(err, "unauthorized_client") == 0) {
        /* The app's own credentials: no person can fix this. */
        out->kind = HERALD_OUTCOME_REJECTED;
        call->tw->host->log(call->op, LOG_WARNING,
                            "X refused the app's client authentication "
                            "(HTTP %ld): check 'client_id', "
                            "'client_secret' and 'confidential_client'",
                            status);
    } else if (status == 400 && bad_grant(p->error) && ctx == TW_CTX_REFRESH) {
        /* A used, expired or revoked refresh token: the chain is dead. */
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason = HERALD_ACCESS_REVOKED;
    } else if (status == 400 && bad_grant(p->error) && ctx == TW_CTX_REVOKE) {
        /* The token is already unknown: nothing is left to revoke. */
        out->kind = HERALD_OUTCOME_DONE;
    } else {
        out->kind = HERALD_OUTCOME_REJECTED;
    }
}

/* Whether a 403 is X's bare "Forbidden": a scope the token lacks. */
static int
bare_forbidden(const struct tw_problem *p)
{
    int blank = !p->type || strcmp(p->type, "about:blank") == 0;

    return blank && !p->first_message &&
           (!p->detail || strcmp(p->detail, "Forbidden") == 0);
}

/* Whether the body says the text was already posted. */
static int
duplicate(const struct tw_problem *p)
{
    return (p->detail && strcasestr(p->detail, "duplicate content")) ||
           (p->first_message &&
            strcasestr(p->first_message, "duplicate content"));
}

/* The outcome of a 401 from the API. */
static void
read_unauthorized(const struct tw_call *call, enum tw_context ctx,
                  struct herald_outcome *out)
{
    const struct herald_credentials *creds =
        call->account ? call->account->creds : NULL;
    int64_t now = call->tw->host->now_ms();

    /* X's 401 is the same for expired, revoked and unknown tokens. */
    if (ctx == TW_CTX_NEW_TOKEN || !creds) {
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason = HERALD_ACCESS_INVALID;
    } else if (creds->refresh_token && creds->refresh_token[0]) {
        out->kind = HERALD_OUTCOME_TOKEN_EXPIRED;
    } else {
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason =
            creds->access_expires_at && now >= creds->access_expires_at
                ? HERALD_ACCESS_EXPIRED
                : HERALD_ACCESS_REVOKED;
    }
}

/* The outcome of a 403 from the API. */
static void
read_forbidden(const struct tw_problem *p, enum tw_context ctx,
               struct herald_outcome *out)
{
    if (ctx == TW_CTX_CREATE && duplicate(p)) {
        out->kind = HERALD_OUTCOME_DUPLICATE;
    } else if (p->type && strstr(p->type, "/unsupported-authentication")) {
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason = HERALD_ACCESS_INVALID;
    } else if (bare_forbidden(p)) {
        out->kind = HERALD_OUTCOME_ACCESS_LOST;
        out->reason = HERALD_ACCESS_PERMISSION_MISSING;
    } else {
        /* client-forbidden (the app's access level), "not permitted",
         * a locked account, a text X refuses: permanent for this call. */
        out->kind = HERALD_OUTCOME_REJECTED;
    }
}

/* Classifies an answer of the API (users/me, tweets). */
static void
read_api_error(struct tw_call *call, const struct herald_http_response *resp,
               enum tw_context ctx, const struct tw_problem *p,
               struct herald_outcome *out)
{
    long status = resp->status;
    int create = ctx == TW_CTX_CREATE;

    if (status == 401) {
        read_unauthorized(call, ctx, out);
    } else if (status == 403) {
        read_forbidden(p, ctx, out);
    } else if (status == 429) {
        read_rate_limit(call, resp, p, out);
    } else if (status == 408) {
        /* X gave up waiting for the request: it was not processed. */
        out->kind = HERALD_OUTCOME_RETRY_LATER;
        out->retry_at = retry_after(call, resp);
    } else if (status >= 400 && status < 500) {
        out->kind = HERALD_OUTCOME_REJECTED;
    } else {
        /* 5xx, or a success the caller could not read. */
        out->kind =
            create ? HERALD_OUTCOME_UNKNOWN : HERALD_OUTCOME_RETRY_LATER;
        out->retry_at = create ? 0 : retry_after(call, resp);
    }
}

void
tw_read_error(struct tw_call *call, const struct herald_http_response *resp,
              enum tw_context ctx, struct herald_outcome *out)
{
    struct tw_problem p = {0};
    json_t *body;

    out->kind = HERALD_OUTCOME_RETRY_LATER;
    out->reason = 0;
    out->scope = 0;
    out->retry_at = 0;
    out->http_status = (int)resp->status;
    if (resp->transport != HERALD_TRANSPORT_OK) {
        read_transport(resp, ctx, out);
        return;
    }

    body = call->tw->host->json_parse(resp->body, resp->body_len);
    read_problem(body, &p);
    set_reason(call, resp, &p, out);
    if (ctx == TW_CTX_EXCHANGE || ctx == TW_CTX_REFRESH ||
        ctx == TW_CTX_REVOKE)
        read_token_error(call, resp, ctx, &p, out);
    else
        read_api_error(call, resp, ctx, &p, out);
    call->tw->host->log(call->op, LOG_DEBUG, "X answered HTTP %ld: %s",
                        resp->status, out->message);
    json_decref(body);
}
