/*
 * linkedin_publish.c - creating a post with the Posts API.
 *
 * The core calls li_publish() for one post of one account. A text or link
 * post is one request; a post with an image is four, each started from
 * the callback of the one before:
 *
 *   POST {rest_url}/images?action=initializeUpload   -> upload URL, URN
 *   GET  <the post's image URL>                      -> the bytes
 *   PUT  <upload URL>                                -> stored at LinkedIn
 *   host->checkpoint({"image": URN, "author": URN})
 *   POST {rest_url}/posts                            -> 201, x-restli-id
 *
 * A retried attempt whose checkpoint names an uploaded image for the same
 * author skips straight to the last request. The commentary is escaped
 * (li_escape_commentary) because LinkedIn silently cuts a post at the
 * first reserved character of its "little" text format left unescaped.
 *
 * Invariant: only the last request can create a post, so only its
 * uncertain failures (timeout, broken connection, 5xx, unreadable 2xx)
 * end UNKNOWN; every other step ends RETRY_LATER when transient.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "linkedin.h"

#define JSON_TYPE  "Content-Type: application/json"
#define BYTES_TYPE "Content-Type: application/octet-stream"
#define PERSON_URN "urn:li:person:"
#define ORG_URN    "urn:li:organization:"

/* The state of one publish operation. */
struct li_pub {
    struct linkedin *li;
    struct herald_op *op;
    const struct herald_account *account; /* borrowed until complete() */
    const struct herald_post *post;       /* borrowed until complete() */
    char *author;                         /* person or organization URN */
    int as_org;
    char *image;      /* urn:li:image:..., once known */
    char *upload_url; /* where the image bytes go */
    char msg[LI_MSG_MAX];
    char id_buf[LI_MSG_MAX];
    char url_buf[LI_MSG_MAX];
};

char *
li_escape_commentary(const char *text)
{
    static const char reserved[] = "\\|{}@[]()<>#*_~";
    size_t n = 0;
    char *out;
    char *o;

    for (const char *p = text; *p; p++)
        n += strchr(reserved, *p) ? 2 : 1;
    out = malloc(n + 1);
    if (!out)
        return NULL;
    o = out;
    for (const char *p = text; *p; p++) {
        if (strchr(reserved, *p))
            *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

static void
pub_free(struct li_pub *p)
{
    free(p->author);
    free(p->image);
    free(p->upload_url);
    free(p);
}

/* Ends the operation with out and frees p. */
static void
pub_end(struct li_pub *p, const struct herald_outcome *out)
{
    p->li->host->complete(p->op, out, NULL);
    pub_free(p);
}

/* Ends the operation with kind and a message of the plugin's own. */
static void
pub_end_with(struct li_pub *p, enum herald_outcome_kind kind, const char *why)
{
    struct herald_outcome out = {.kind = kind, .message = why};

    pub_end(p, &out);
}

/* Ends the operation as LinkedIn's failed answer says. */
static void
pub_end_failed(struct li_pub *p, const struct herald_http_response *resp,
               int creates)
{
    struct herald_outcome out;
    struct li_call call = {
        .creates = creates,
        .has_refresh = p->account->creds->refresh_token != NULL,
        .as_organization = p->as_org,
    };

    li_api_outcome(p->li, resp, &call, &out, p->msg, p->id_buf, p->url_buf);
    pub_end(p, &out);
}

/* Returns the length of the scheme://host:port part of url, or 0. */
static size_t
origin_len(const char *url)
{
    const char *p = strstr(url, "://");

    if (!p)
        return 0;
    p += 3;
    while (*p && *p != '/' && *p != '?' && *p != '#')
        p++;
    return (size_t)(p - url);
}

/* Returns non-zero when url is on the same origin as base. */
static int
same_origin(const char *url, const char *base)
{
    size_t n = origin_len(url);

    return n > 0 && n == origin_len(base) && strncasecmp(url, base, n) == 0;
}

/* Returns the post's JSON body as text (malloc()ed), or NULL when the
 * text is not UTF-8 or memory ran out. */
static char *
post_body(struct li_pub *p)
{
    const struct herald_post *post = p->post;
    const char *link = post->link && *post->link ? post->link : NULL;
    char *text = NULL;
    char *commentary;
    json_t *body;
    json_t *content = NULL;
    char *dumped = NULL;

    /* One content per post: with an image, a link goes into the text. */
    if (p->image && link) {
        if (asprintf(&text, "%s\n\n%s", post->text, link) < 0)
            return NULL;
    }
    commentary = li_escape_commentary(text ? text : post->text);
    free(text);
    if (!commentary)
        return NULL;
    if (p->image)
        content = json_pack("{s:{s:s}}", "media", "id", p->image);
    else if (link)
        content = json_pack("{s:{s:s, s:s}}", "article", "source", link,
                            "title", link);
    body = json_pack("{s:s, s:s, s:s, s:{s:s, s:[], s:[]}, s:s, s:b}",
                     "author", p->author, "commentary", commentary,
                     "visibility", "PUBLIC", "distribution",
                     "feedDistribution", "MAIN_FEED", "targetEntities",
                     "thirdPartyDistributionChannels", "lifecycleState",
                     "PUBLISHED", "isReshareDisabledByAuthor", 0);
    free(commentary);
    if (body && content)
        json_object_set(body, "content", content);
    if (body && (content || (!p->image && !link)))
        dumped = json_dumps(body, JSON_COMPACT);
    json_decref(content);
    json_decref(body);
    return dumped;
}

static void
create_done(struct herald_op *op, const struct herald_http_response *resp,
            void *udata)
{
    struct li_pub *p = udata;
    struct herald_outcome out = {.kind = HERALD_OUTCOME_DONE};
    const char *urn = NULL;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK &&
        (resp->status == 201 || resp->status == 200))
        urn = p->li->host->response_header(resp, "x-restli-id");
    if (!urn || !*urn) {
        pub_end_failed(p, resp, 1);
        return;
    }
    snprintf(p->id_buf, sizeof(p->id_buf), "%s", urn);
    li_post_url(p->li, p->id_buf, p->url_buf);
    out.http_status = (int)resp->status;
    out.remote_id = p->id_buf;
    out.remote_url = p->url_buf;
    pub_end(p, &out);
}

/* Sends the request that creates the post. */
static void
create_post(struct li_pub *p)
{
    struct li_headers h;
    char *url = li_url(p->li->rest_url, "posts");
    char *body = post_body(p);
    int rc = url && body ? 0 : -ENOMEM;

    if (rc == 0) {
        rc = li_headers_init(&h, p->li, p->account->creds->access_token, 1,
                             JSON_TYPE);
        if (rc == 0)
            rc = li_send_repeatable(p->li, p->op, "POST", url, &h, body,
                                    strlen(body), create_done, p);
        li_headers_free(&h);
    }
    free(url);
    free(body);
    if (rc != 0)
        pub_end_with(p, HERALD_OUTCOME_RETRY_LATER,
                     "cannot send the post to LinkedIn");
}

/* Records the uploaded image before the post may be created. */
static void
checkpoint_then_create(struct li_pub *p)
{
    json_t *state =
        json_pack("{s:s, s:s}", "image", p->image, "author", p->author);
    int rc = state ? p->li->host->checkpoint(p->op, state) : -ENOMEM;

    json_decref(state);
    if (rc != 0) {
        pub_end_with(p, HERALD_OUTCOME_RETRY_LATER,
                     "cannot record the uploaded image before posting");
        return;
    }
    create_post(p);
}

static void
upload_done(struct herald_op *op, const struct herald_http_response *resp,
            void *udata)
{
    struct li_pub *p = udata;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status < 200 ||
        resp->status >= 300) {
        pub_end_failed(p, resp, 0);
        return;
    }
    checkpoint_then_create(p);
}

/* Ends the operation after the image could not be fetched. */
static void
fetch_failed(struct li_pub *p, const struct herald_http_response *resp)
{
    struct herald_outcome out = {.kind = HERALD_OUTCOME_RETRY_LATER,
                                 .http_status = (int)resp->status,
                                 .message = p->msg};

    if (resp->transport != HERALD_TRANSPORT_OK)
        snprintf(p->msg, sizeof(p->msg), "cannot fetch the post's image");
    else if (resp->status >= 500 || resp->status == 408 || resp->status == 429)
        snprintf(p->msg, sizeof(p->msg),
                 "cannot fetch the post's image: HTTP %ld", resp->status);
    else if (resp->status == 200)
        snprintf(p->msg, sizeof(p->msg), "the post's image is empty");
    else
        snprintf(p->msg, sizeof(p->msg),
                 "cannot fetch the post's image: HTTP %ld", resp->status);
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status < 500 &&
        resp->status != 408 && resp->status != 429)
        out.kind = HERALD_OUTCOME_REJECTED;
    pub_end(p, &out);
}

static void
fetch_done(struct herald_op *op, const struct herald_http_response *resp,
           void *udata)
{
    struct li_pub *p = udata;
    struct li_headers h;
    int rc;

    (void)op;
    if (resp->transport != HERALD_TRANSPORT_OK || resp->status != 200 ||
        resp->body_len == 0) {
        fetch_failed(p, resp);
        return;
    }
    /* The token goes only to an upload URL on LinkedIn's own hosts. */
    rc = li_headers_init(
        &h, p->li,
        same_origin(p->upload_url, p->li->rest_url) ||
                same_origin(p->upload_url, p->li->authorize_url)
            ? p->account->creds->access_token
            : NULL,
        0, BYTES_TYPE);
    if (rc == 0)
        rc = li_send(p->li, p->op, "PUT", p->upload_url, &h, resp->body,
                     resp->body_len, p->li->upload_timeout_ms, upload_done, p);
    li_headers_free(&h);
    if (rc != 0)
        pub_end_with(p, HERALD_OUTCOME_RETRY_LATER,
                     "cannot send the image to LinkedIn");
}

static void
initialize_done(struct herald_op *op, const struct herald_http_response *resp,
                void *udata)
{
    struct li_pub *p = udata;
    json_t *body = NULL;
    json_t *value;
    const char *upload = NULL;
    const char *image = NULL;
    int rc;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200) {
        body = p->li->host->json_parse(resp->body, resp->body_len);
        value = json_object_get(body, "value");
        upload = json_string_value(json_object_get(value, "uploadUrl"));
        image = json_string_value(json_object_get(value, "image"));
    }
    if (!upload || !image || !*upload || !*image) {
        json_decref(body);
        pub_end_failed(p, resp, 0);
        return;
    }
    p->upload_url = strdup(upload);
    p->image = strdup(image);
    json_decref(body);
    rc = p->upload_url && p->image ? 0 : -ENOMEM;
    if (rc == 0)
        rc = li_send(p->li, p->op, "GET", p->post->media[0], NULL, NULL, 0,
                     p->li->upload_timeout_ms, fetch_done, p);
    if (rc != 0)
        pub_end_with(p, HERALD_OUTCOME_RETRY_LATER,
                     "cannot fetch the post's image");
}

/* Starts the upload of the post's image; returns as host->http(). */
static int
initialize_upload(struct li_pub *p)
{
    struct li_headers h;
    char *url = li_url(p->li->rest_url, "images?action=initializeUpload");
    json_t *req =
        json_pack("{s:{s:s}}", "initializeUploadRequest", "owner", p->author);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    int rc = url && body ? 0 : -ENOMEM;

    if (rc == 0) {
        rc = li_headers_init(&h, p->li, p->account->creds->access_token, 1,
                             JSON_TYPE);
        if (rc == 0)
            rc = li_send(p->li, p->op, "POST", url, &h, body, strlen(body), 0,
                         initialize_done, p);
        li_headers_free(&h);
    }
    json_decref(req);
    free(body);
    free(url);
    return rc;
}

/* Returns non-zero when the account's targets hold organization id. */
static int
is_target(const struct herald_account *account, const char *id)
{
    size_t i;
    json_t *t;

    json_array_foreach(account->targets, i, t)
    {
        const char *tid = json_string_value(json_object_get(t, "id"));
        if (tid && strcmp(tid, id) == 0)
            return 1;
    }
    return 0;
}

/* Sets p->author from the post's target, or the member. Returns 0,
 * -ENOMEM, or -EINVAL with *why saying why the post cannot be written as
 * that target. */
static int
choose_author(struct li_pub *p, const char **why)
{
    const char *target = p->post->target;
    int n;

    if (!target || !*target) {
        n = asprintf(&p->author, "%s%s", PERSON_URN, p->account->remote_id);
        return n < 0 ? -ENOMEM : 0;
    }
    if (strncmp(target, ORG_URN, strlen(ORG_URN)) == 0)
        target += strlen(ORG_URN);
    if (!p->li->organizations) {
        *why = "posting as an organization is not enabled for LinkedIn "
               "(set \"organizations\" in the network file)";
        return -EINVAL;
    }
    /* An organization the member does not administer would answer 403,
     * which must not disconnect the member's own account. */
    if (!is_target(p->account, target)) {
        *why = "the target is not an organization this member administers "
               "(reauthorize to refresh the list)";
        return -EINVAL;
    }
    p->as_org = 1;
    n = asprintf(&p->author, "%s%s", ORG_URN, target);
    return n < 0 ? -ENOMEM : 0;
}

/* Returns non-zero when s is NULL or valid UTF-8. */
static int
is_utf8(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;

    json_decref(j);
    return !s || j != NULL;
}

/* Returns the checkpointed image URN for the same author, or NULL. */
static const char *
checkpointed_image(const struct li_pub *p)
{
    json_t *cp = p->post->checkpoint;
    const char *image = json_string_value(json_object_get(cp, "image"));
    const char *author = json_string_value(json_object_get(cp, "author"));

    if (image && *image && author && strcmp(author, p->author) == 0)
        return image;
    return NULL;
}

int
li_publish(void *state, struct herald_op *op,
           const struct herald_account *account,
           const struct herald_post *post)
{
    struct linkedin *li = state;
    struct li_pub *p = calloc(1, sizeof(*p));
    const char *why = NULL;
    const char *image;
    size_t nmedia = 0;
    int rc = 0;

    if (!p)
        return -ENOMEM;
    p->li = li;
    p->op = op;
    p->account = account;
    p->post = post;
    while (post->media && post->media[nmedia])
        nmedia++;

    if (!post->text || !*post->text)
        why = "a LinkedIn post needs text";
    else if (!is_utf8(post->text) || !is_utf8(post->link))
        why = "the post's text or link is not valid UTF-8";
    else if (nmedia > 1)
        why = "a LinkedIn post carries at most one image";
    else if (!account->remote_id || !*account->remote_id)
        why = "the account has no LinkedIn member id";
    if (!why)
        rc = choose_author(p, &why);
    if (rc == -ENOMEM) {
        pub_free(p);
        return rc;
    }
    if (why) {
        pub_end_with(p, HERALD_OUTCOME_REJECTED, why);
        return 0;
    }

    if (nmedia == 0) {
        create_post(p);
        return 0;
    }
    image = checkpointed_image(p);
    if (image) {
        p->image = strdup(image);
        if (!p->image) {
            pub_free(p);
            return -ENOMEM;
        }
        create_post(p);
        return 0;
    }
    if (initialize_upload(p) != 0) {
        pub_free(p);
        return -EIO;
    }
    return 0;
}
