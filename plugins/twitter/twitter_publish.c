/*
 * twitter_publish.c - posting to X: one POST /2/tweets with a JSON body.
 *
 * The text sent is the post's text with its link, if any, appended after
 * one space (X shows the link as a card and counts it as 23 characters).
 * Media are not supported (the descriptor declares HERALD_MEDIA_NONE).
 *
 * X has no idempotency key and no way to find a post by anything the
 * plugin could record beforehand, so a request that may have reached X
 * without a readable answer ends as UNKNOWN, never RETRY_LATER: a blind
 * retry could post twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "twitter.h"

/* Builds the body {"text": "..."}: a new string, or NULL. */
static char *
tweet_body(const struct herald_post *post)
{
    const char *text = post->text ? post->text : "";
    int has_link = post->link && post->link[0];
    char *joined = NULL;
    json_t *body;
    char *out = NULL;

    if (asprintf(&joined, "%s%s%s", text, has_link && text[0] ? " " : "",
                 has_link ? post->link : "") < 0)
        return NULL;
    body = json_pack("{s:s}", "text", joined);
    if (body)
        out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(joined);
    return out;
}

/* Builds the URL a post is shown at: under the author's username when
 * known (saved in credentials.extra at exchange), else the id-only form. */
static char *
post_url(const struct tw_call *call, const char *id)
{
    const json_t *extra = call->account->creds->extra;
    const char *user = json_string_value(json_object_get(extra, "username"));
    char *url = NULL;
    int n;

    if (user && user[0])
        n = asprintf(&url, "%s/%s/status/%s", call->tw->web_base, user, id);
    else
        n = asprintf(&url, "%s/i/web/status/%s", call->tw->web_base, id);
    return n < 0 ? NULL : url;
}

/* Returns whether id is a post id: 1 to 19 digits. */
static int
post_id(const char *id)
{
    size_t n = id ? strspn(id, "0123456789") : 0;

    return n >= 1 && n <= 19 && id[n] == '\0';
}

static void
publish_done(struct herald_op *op, const struct herald_http_response *resp,
             void *udata)
{
    struct tw_call *call = udata;
    struct herald_outcome out = {.http_status = (int)resp->status};
    json_t *body = NULL;
    const char *id;
    char *url;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK ||
        (resp->status != 201 && resp->status != 200)) {
        tw_read_error(call, resp, TW_CTX_CREATE, &out);
        tw_finish(call, &out, NULL);
        return;
    }

    body = call->tw->host->json_parse(resp->body, resp->body_len);
    id = json_string_value(
        json_object_get(json_object_get(body, "data"), "id"));
    if (!post_id(id)) {
        /* X said yes but not to what: the post may well exist. */
        out.kind = HERALD_OUTCOME_UNKNOWN;
        out.message = "X accepted the post without a readable id";
        tw_finish(call, &out, NULL);
        json_decref(body);
        return;
    }

    url = post_url(call, id);
    out.kind = HERALD_OUTCOME_DONE;
    out.remote_id = id;
    out.remote_url = url;
    call->tw->host->log(call->op, LOG_DEBUG, "published as post %s", id);
    tw_finish(call, &out, NULL);
    free(url);
    json_decref(body);
}

/* Publishes a text post: POST {api}/tweets. */
int
tw_publish(void *state, struct herald_op *op,
           const struct herald_account *account,
           const struct herald_post *post)
{
    struct twitter *tw = state;
    struct tw_call *call;
    char *url = NULL;
    char *auth = NULL;
    char *body = NULL;
    const char *headers[4];
    struct herald_http_request req = {.method = "POST"};
    int rc = -ENOMEM;

    if (!account->creds || !account->creds->access_token)
        return -EINVAL;
    call = tw_call_new(tw, op, account);
    if (!call)
        return -ENOMEM;
    if (post->media && post->media[0]) {
        tw_finish_simple(call, HERALD_OUTCOME_REJECTED,
                         "this X plugin posts text only; media are not "
                         "supported");
        return 0;
    }
    if ((!post->text || !post->text[0]) && (!post->link || !post->link[0])) {
        tw_finish_simple(call, HERALD_OUTCOME_REJECTED,
                         "an X post needs text");
        return 0;
    }

    url = tw_api_url(tw, "tweets");
    auth = tw_bearer_header(account->creds->access_token);
    body = tweet_body(post);
    if (url && auth && body) {
        headers[0] = auth;
        headers[1] = "Content-Type: application/json";
        headers[2] = "Accept: application/json";
        headers[3] = NULL;
        req.url = url;
        req.headers = headers;
        req.body = body;
        req.body_len = strlen(body);
        /* X refuses a repeated post (403 duplicate content), so the
         * create may share a connection. */
        rc = HERALD_HOST_HAS(tw->host, http_repeatable)
                 ? tw->host->http_repeatable(op, &req, publish_done, call)
                 : tw->host->http(op, &req, publish_done, call);
    }
    free(body);
    tw_free_secret(auth);
    free(url);
    if (rc < 0)
        free(call);
    return rc;
}
