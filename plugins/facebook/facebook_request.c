/*
 * facebook_request.c - builds the Facebook plugin's requests.
 *
 * Every URL the plugin calls starts from a configured base and the
 * configured Graph API version, and every query or form value is
 * percent-encoded by the host. Tokens travel in an Authorization header,
 * except on the token endpoint, where the network expects the client
 * secret, the code and the token to exchange in the query string.
 *
 * Called from the operation files on the loop thread. The header array
 * holding a token lives on the stack and is wiped before returning; the
 * host copies the request before host->http() returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "facebook.h"

static void
buf_reserve(struct fb_buf *b, size_t more)
{
    size_t cap;
    char *s;

    if (b->failed || b->len + more + 1 <= b->cap)
        return;
    cap = b->cap ? b->cap : 128;
    while (cap < b->len + more + 1)
        cap *= 2;
    s = realloc(b->s, cap);
    if (!s) {
        b->failed = 1;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void
fb_buf_add(struct fb_buf *b, const char *s)
{
    size_t n = strlen(s);

    buf_reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

void
fb_buf_param(struct fb_buf *b, const struct fb *fb, const char *name,
             const char *value)
{
    char *enc;

    if (!value)
        return;
    enc = fb->host->url_encode(value);
    if (!enc) {
        b->failed = 1;
        return;
    }
    if (b->len > 0 && b->s[b->len - 1] != '?')
        fb_buf_add(b, "&");
    fb_buf_add(b, name);
    fb_buf_add(b, "=");
    fb_buf_add(b, enc);
    free(enc);
}

void
fb_buf_graph(struct fb_buf *b, const struct fb *fb, const char *path)
{
    fb_buf_add(b, fb->graph_base);
    fb_buf_add(b, "/");
    fb_buf_add(b, fb->version);
    fb_buf_add(b, path);
}

void
fb_buf_free(struct fb_buf *b)
{
    if (b->s)
        memset(b->s, 0, b->cap);
    free(b->s);
    memset(b, 0, sizeof(*b));
}

int
fb_send(const struct fb *fb, struct herald_op *op, const char *what,
        const char *method, const char *url, const char *bearer,
        const char *form, herald_http_done_fn done, void *udata)
{
    struct fb_buf auth = {0};
    const char *headers[4];
    size_t n = 0;
    struct herald_http_request req = {.method = method, .url = url};
    int rc;

    headers[n++] = "Accept: application/json";
    if (bearer) {
        fb_buf_add(&auth, "Authorization: Bearer ");
        fb_buf_add(&auth, bearer);
        if (auth.failed) {
            fb_buf_free(&auth);
            return -ENOMEM;
        }
        headers[n++] = auth.s;
    }
    if (form) {
        headers[n++] = "Content-Type: application/x-www-form-urlencoded";
        req.body = form;
        req.body_len = strlen(form);
    }
    headers[n] = NULL;
    req.headers = headers;
    fb->host->log(op, LOG_DEBUG, "sending %s", what);
    rc = fb->host->http(op, &req, done, udata);
    fb_buf_free(&auth);
    return rc;
}
