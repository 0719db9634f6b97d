/*
 * twitter_token.c - X's OAuth 2.0 token endpoint: exchange, refresh and
 * revoke.
 *
 *   exchange:  POST token_url (authorization_code + code_verifier)
 *              -> GET /2/users/me with the new token -> DONE
 *   refresh:   POST token_url (refresh_token) -> DONE with the rotated
 *              refresh token
 *   revoke:    POST revoke_url (the refresh token, then the access token)
 *
 * Every token endpoint request carries client_id in the body and, for a
 * confidential client, HTTP Basic client_id:client_secret (tw_post_form).
 * The rule to keep: a refresh token is used once. X kills it when it
 * answers, and presenting it again can revoke the whole chain, so the
 * core must commit the credentials of a DONE refresh before anything else
 * uses the account.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "twitter.h"

/* Identity requests an exchange sends at most: the code cannot be used
 * twice, so a transient failure right after it is retried once, now. */
#define TW_IDENTITY_ATTEMPTS 2

/* Returns a non-empty string member of obj, or NULL. */
static const char *
nonempty(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s && s[0] ? s : NULL;
}

/* Returns expires_in of a token answer in seconds (a number or a numeric
 * string) cut to TW_SECONDS_MAX, or 0 when absent or unreadable. */
static int64_t
expires_in(const json_t *token)
{
    const json_t *v = json_object_get(token, "expires_in");
    const char *s = json_string_value(v);
    char *end;
    long long n;

    if (json_is_number(v) && json_number_value(v) >= TW_SECONDS_MAX)
        return TW_SECONDS_MAX;
    if (json_is_number(v))
        return json_number_value(v) > 0 ? (int64_t)json_number_value(v) : 0;
    if (!s)
        return 0;
    n = strtoll(s, &end, 10);
    if (n > TW_SECONDS_MAX)
        n = TW_SECONDS_MAX;
    return end != s && *end == '\0' && n > 0 ? n : 0;
}

/*
 * Reads a token answer into *c (strings borrowed from token). Without a
 * refresh token (offline.access not granted) the person must log in again
 * when the access token ends, which becomes the hard deadline. Returns 0,
 * or -1 when the answer has no access token.
 */
static int
read_credentials(const struct twitter *tw, const json_t *token,
                 struct herald_credentials *c)
{
    int64_t ttl = expires_in(token);

    c->access_token = nonempty(token, "access_token");
    c->refresh_token = nonempty(token, "refresh_token");
    c->access_expires_at = ttl ? tw->host->now_ms() + ttl * 1000 : 0;
    c->hard_deadline = c->refresh_token ? 0 : c->access_expires_at;
    return c->access_token ? 0 : -1;
}

/* ---- exchange ----------------------------------------------------- */

static void exchange_identity_done(struct herald_op *op,
                                   const struct herald_http_response *resp,
                                   void *udata);

/* Sends the identity request of an exchange; 0 or a negative errno. */
static int
exchange_identity(struct tw_call *call)
{
    call->attempts++;
    return tw_get_me(call, nonempty(call->token, "access_token"),
                     exchange_identity_done);
}

/* Completes an exchange with the credentials and the identity. */
static void
exchange_finish(struct tw_call *call, const struct herald_identity *id)
{
    struct herald_credentials creds = {0};
    struct herald_result result = {.credentials = &creds, .identity = id};
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = 200};

    read_credentials(call->tw, call->token, &creds);
    /* The username lets publish() build https://x.com/<name>/status/<id>. */
    creds.extra = json_pack("{s:s}", "username", id->username);
    if (!creds.refresh_token)
        call->tw->host->log(call->op, LOG_NOTICE,
                            "X granted no refresh token (no offline.access): "
                            "the account must reconnect when its access "
                            "token ends");
    tw_finish(call, &out, &result);
    json_decref(creds.extra);
}

static void
exchange_identity_done(struct herald_op *op,
                       const struct herald_http_response *resp, void *udata)
{
    struct tw_call *call = udata;
    struct herald_outcome out = {0};
    struct herald_identity id = {0};
    json_t *body = NULL;
    int transient =
        resp->transport != HERALD_TRANSPORT_OK || resp->status >= 500;

    (void)op;
    if (transient && call->attempts < TW_IDENTITY_ATTEMPTS &&
        exchange_identity(call) == 0)
        return;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200 &&
        tw_read_identity(call->tw, resp, &body, &id) == 0) {
        exchange_finish(call, &id);
        json_decref(body);
        return;
    }
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200) {
        out.kind = HERALD_OUTCOME_RETRY_LATER;
        out.http_status = 200;
        out.message = "X answered /users/me without an id and username";
    } else {
        tw_read_error(call, resp, TW_CTX_NEW_TOKEN, &out);
    }
    tw_finish(call, &out, NULL);
}

static void
exchange_token_done(struct herald_op *op,
                    const struct herald_http_response *resp, void *udata)
{
    struct tw_call *call = udata;
    struct herald_outcome out = {0};

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status != 200) {
        tw_read_error(call, resp, TW_CTX_EXCHANGE, &out);
        tw_finish(call, &out, NULL);
        return;
    }
    call->token = call->tw->host->json_parse(resp->body, resp->body_len);
    if (!nonempty(call->token, "access_token")) {
        tw_finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                         "X's token answer has no access_token");
        return;
    }
    if (exchange_identity(call) < 0)
        tw_finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                         "could not send the identity request");
}

/* Exchanges the code: POST token_url with the PKCE verifier. */
int
tw_exchange(void *state, struct herald_op *op,
            const struct herald_exchange_request *req)
{
    struct twitter *tw = state;
    struct tw_call *call;
    char *form = NULL;
    int rc;

    if (!req->code || !req->code_verifier || !req->redirect_uri)
        return -EINVAL;
    call = tw_call_new(tw, op, NULL);
    if (!call)
        return -ENOMEM;
    call->exchange = req;

    rc = tw_form_add(tw, &form, "code", req->code);
    if (rc == 0)
        rc = tw_form_add(tw, &form, "grant_type", "authorization_code");
    if (rc == 0)
        rc = tw_form_add(tw, &form, "client_id", tw->client_id);
    if (rc == 0)
        rc = tw_form_add(tw, &form, "redirect_uri", req->redirect_uri);
    if (rc == 0)
        rc = tw_form_add(tw, &form, "code_verifier", req->code_verifier);
    if (rc == 0)
        rc = tw_post_form(call, tw->token_url, form, exchange_token_done);
    tw_free_secret(form);
    if (rc < 0)
        free(call);
    return rc;
}

/* ---- refresh ------------------------------------------------------ */

static void
refresh_done(struct herald_op *op, const struct herald_http_response *resp,
             void *udata)
{
    struct tw_call *call = udata;
    struct herald_outcome out = {0};
    struct herald_credentials creds = {0};
    struct herald_result result = {.credentials = &creds};

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status != 200) {
        tw_read_error(call, resp, TW_CTX_REFRESH, &out);
        tw_finish(call, &out, NULL);
        return;
    }
    call->token = call->tw->host->json_parse(resp->body, resp->body_len);
    if (read_credentials(call->tw, call->token, &creds) < 0) {
        /* The old refresh token may be spent already; nothing to keep. */
        tw_finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                         "X's refresh answer has no access_token");
        return;
    }
    if (!creds.refresh_token)
        call->tw->host->log(call->op, LOG_WARNING,
                            "X's refresh answer has no new refresh token: "
                            "the account must reconnect when its access "
                            "token ends");
    creds.extra = call->account->creds->extra;
    out.kind = HERALD_OUTCOME_DONE;
    out.http_status = 200;
    tw_finish(call, &out, &result);
}

/* Renews the access token with the refresh token, which X rotates. */
int
tw_refresh(void *state, struct herald_op *op,
           const struct herald_account *account)
{
    struct twitter *tw = state;
    const char *refresh =
        account->creds ? account->creds->refresh_token : NULL;
    struct tw_call *call = tw_call_new(tw, op, account);
    char *form = NULL;
    int rc;

    if (!call)
        return -ENOMEM;
    if (!refresh || !refresh[0]) {
        struct herald_outcome out = {
            .kind = HERALD_OUTCOME_ACCESS_LOST,
            .reason = HERALD_ACCESS_EXPIRED,
            .message = "no refresh token: offline.access was not granted",
        };
        tw_finish(call, &out, NULL);
        return 0;
    }

    rc = tw_form_add(tw, &form, "grant_type", "refresh_token");
    if (rc == 0)
        rc = tw_form_add(tw, &form, "refresh_token", refresh);
    if (rc == 0)
        rc = tw_form_add(tw, &form, "client_id", tw->client_id);
    if (rc == 0)
        rc = tw_post_form(call, tw->token_url, form, refresh_done);
    tw_free_secret(form);
    if (rc < 0)
        free(call);
    return rc;
}

/* ---- revoke ------------------------------------------------------- */

/* The tokens revoke() sends, in order: the refresh token first, so the
 * chain dies even if the second request fails. */
static const char *
revoke_token(const struct tw_call *call, int step, const char **hint)
{
    const struct herald_credentials *c = call->account->creds;
    const char *t = NULL;

    if (!c)
        return NULL;
    if (step == 0) {
        t = c->refresh_token;
        *hint = "refresh_token";
    } else if (step == 1) {
        t = c->access_token;
        *hint = "access_token";
    }
    return t && t[0] ? t : NULL;
}

static void revoke_done(struct herald_op *op,
                        const struct herald_http_response *resp, void *udata);

/*
 * Sends the revocation of the next token from call->step on. Returns 0
 * when a request went out, 1 when no token is left, or a negative errno.
 */
static int
revoke_next(struct tw_call *call)
{
    struct twitter *tw = call->tw;
    const char *hint = NULL;
    const char *token = NULL;
    char *form = NULL;
    int rc;

    while (call->step < 2 && !(token = revoke_token(call, call->step, &hint)))
        call->step++;
    if (!token)
        return 1;

    rc = tw_form_add(tw, &form, "token", token);
    if (rc == 0)
        rc = tw_form_add(tw, &form, "token_type_hint", hint);
    if (rc == 0)
        rc = tw_form_add(tw, &form, "client_id", tw->client_id);
    if (rc == 0)
        rc = tw_post_form(call, tw->revoke_url, form, revoke_done);
    tw_free_secret(form);
    return rc;
}

static void
revoke_done(struct herald_op *op, const struct herald_http_response *resp,
            void *udata)
{
    struct tw_call *call = udata;
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE,
                                 .http_status = (int)resp->status};
    int rc;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status < 200 ||
        resp->status > 299)
        tw_read_error(call, resp, TW_CTX_REVOKE, &out);
    if (out.kind != HERALD_OUTCOME_DONE) {
        tw_finish(call, &out, NULL);
        return;
    }

    call->step++;
    rc = revoke_next(call);
    if (rc == 1)
        tw_finish(call, &out, NULL);
    else if (rc < 0)
        tw_finish_simple(call, HERALD_OUTCOME_RETRY_LATER,
                         "could not send the revocation request");
}

/* Revokes the account's tokens at X when the account is removed. */
int
tw_revoke(void *state, struct herald_op *op,
          const struct herald_account *account)
{
    struct tw_call *call = tw_call_new(state, op, account);
    int rc;

    if (!call)
        return -ENOMEM;
    rc = revoke_next(call);
    if (rc == 1) {
        tw_finish_simple(call, HERALD_OUTCOME_DONE, NULL);
        return 0;
    }
    if (rc < 0)
        free(call);
    return rc;
}
