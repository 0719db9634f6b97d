/*
 * facebook_publish.c - publishes a post to one of the account's Pages.
 *
 * The post's target is a Page id from the account's targets; its Page
 * token comes from credentials.extra {"pages": {"<page id>": "<token>"}}.
 * One request creates the post, with the Page token as bearer:
 *
 *   text and/or link  POST /{page-id}/feed    message, link
 *   one image         POST /{page-id}/photos  url, caption
 *
 * A photo has no link field, so a link sent with an image ends the
 * caption, after a blank line. Facebook answers {"id": "{page}_{post}"}
 * (photos: {"id": "{photo}", "post_id": "{page}_{post}"}); the post id is
 * the remote id and https://www.facebook.com/{id} the remote URL.
 *
 * The request may create the post, so an unclear end (timeout, lost
 * connection, an unexplained 5xx, an unreadable 2xx) is UNKNOWN, never
 * RETRY_LATER: a blind retry could post twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facebook.h"

#define FB_POST_URL "https://www.facebook.com/"

struct publish {
    struct fb *fb;
    struct herald_op *op;
    const char *page_token; /* borrowed from the account until complete() */
    int photo;
    char what[128]; /* "POST /{page-id}/feed", for messages */
};

/* Completes the operation at once, before any request. */
static int
refuse(struct fb *fb, struct herald_op *op, const char *message)
{
    struct fb_outcome out = {0};

    fb_outcome_set(&out, HERALD_OUTCOME_REJECTED, "%s", message);
    fb_complete(fb, op, &out, NULL, NULL, 0);
    return 0;
}

static void
publish_done(struct herald_op *op, const struct herald_http_response *resp,
             void *udata)
{
    struct publish *p = udata;
    struct fb_outcome out;
    const char *secrets[] = {p->page_token, p->fb->client_secret};
    const char *id = NULL;
    char url[sizeof(out.message)];
    json_t *body;

    (void)op;
    body = fb_read(p->fb, resp, FB_CALL_CREATE, p->what, &out);
    if (body && p->photo)
        id = json_string_value(json_object_get(body, "post_id"));
    if (body && !id)
        id = json_string_value(json_object_get(body, "id"));
    if (id && *id && strlen(id) < sizeof(url) - sizeof(FB_POST_URL)) {
        snprintf(url, sizeof(url), FB_POST_URL "%s", id);
        fb_outcome_set(&out, HERALD_OUTCOME_DONE, "%s", "");
        out.o.remote_id = id;
        out.o.remote_url = url;
    } else if (body) {
        fb_unreadable(resp, FB_CALL_CREATE, p->what, &out);
    }
    fb_complete(p->fb, p->op, &out, NULL, secrets, 2);
    json_decref(body);
    free(p);
}

/* Builds the form of a feed post or a photo post. */
static void
build_form(struct fb_buf *form, const struct fb *fb,
           const struct herald_post *post, const char *text, const char *link)
{
    struct fb_buf caption = {0};

    if (!post->media || !post->media[0]) {
        fb_buf_param(form, fb, "message", text);
        fb_buf_param(form, fb, "link", link);
        return;
    }
    fb_buf_param(form, fb, "url", post->media[0]);
    if (text)
        fb_buf_add(&caption, text);
    if (text && link)
        fb_buf_add(&caption, "\n\n");
    if (link)
        fb_buf_add(&caption, link);
    if (caption.failed)
        form->failed = 1;
    else if (caption.len)
        fb_buf_param(form, fb, "caption", caption.s);
    fb_buf_free(&caption);
}

/* Sends the one request that creates the post. */
static int
send_post(struct publish *p, const char *target,
          const struct herald_post *post, const char *text, const char *link)
{
    struct fb_buf url = {0};
    struct fb_buf form = {0};
    char *page = p->fb->host->url_encode(target);
    const char *edge = p->photo ? "/photos" : "/feed";
    int rc = -ENOMEM;

    if (page) {
        snprintf(p->what, sizeof(p->what), "POST /%.64s%s", page, edge);
        fb_buf_graph(&url, p->fb, "/");
        fb_buf_add(&url, page);
        fb_buf_add(&url, edge);
        build_form(&form, p->fb, post, text, link);
        if (!url.failed && !form.failed)
            rc = fb_send(p->fb, p->op, p->what, "POST", url.s, p->page_token,
                         form.s ? form.s : "", publish_done, p);
    }
    free(page);
    fb_buf_free(&url);
    fb_buf_free(&form);
    return rc;
}

int
fb_publish(void *state, struct herald_op *op,
           const struct herald_account *account,
           const struct herald_post *post)
{
    struct fb *fb = state;
    json_t *extra = account->creds ? account->creds->extra : NULL;
    const char *token;
    const char *text = post->text && *post->text ? post->text : NULL;
    const char *link = post->link && *post->link ? post->link : NULL;
    int photo = post->media && post->media[0];
    struct publish *p;
    int rc;

    if (!post->target || !*post->target)
        return refuse(fb, op, "a Facebook post needs a target Page");
    token = json_string_value(
        json_object_get(json_object_get(extra, "pages"), post->target));
    if (!token || !*token)
        return refuse(fb, op,
                      "the target is not one of the account's Facebook "
                      "Pages; reconnect the account to refresh its Pages");
    if (photo && post->media[1])
        return refuse(fb, op, "Facebook posts here carry one image at most");
    if (!text && !link && !photo)
        return refuse(fb, op,
                      "a Facebook post needs text, a link or an "
                      "image");
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->fb = fb;
    p->op = op;
    p->page_token = token;
    p->photo = photo;
    rc = send_post(p, post->target, post, text, link);
    if (rc < 0)
        free(p);
    return rc;
}
