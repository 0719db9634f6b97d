/*
 * linkedin_request.c - the pieces every request to LinkedIn is built from.
 *
 * Used by every operation of the plugin: the headers (the bearer token,
 * and on the versioned REST API the LinkedIn-Version and Rest.li protocol
 * headers), endpoint URLs joined to their configured bases, and
 * urlencoded form bodies. What is built here holds tokens and secrets:
 * it goes to host->http() and nowhere else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkedin.h"

int
li_headers_init(struct li_headers *h, const struct linkedin *li,
                const char *token, int rest, const char *ctype)
{
    size_t n = 0;

    memset(h, 0, sizeof(*h));
    if (token) {
        if (asprintf(&h->auth, "Authorization: Bearer %s", token) < 0) {
            h->auth = NULL;
            return -ENOMEM;
        }
        h->list[n++] = h->auth;
    }
    if (rest) {
        if (asprintf(&h->version, "LinkedIn-Version: %s", li->api_version) <
            0) {
            h->version = NULL;
            return -ENOMEM;
        }
        h->list[n++] = h->version;
        h->list[n++] = "X-Restli-Protocol-Version: 2.0.0";
    }
    if (ctype)
        h->list[n++] = ctype;
    h->list[n] = NULL;
    return 0;
}

void
li_headers_free(struct li_headers *h)
{
    free(h->auth);
    free(h->version);
    memset(h, 0, sizeof(*h));
}

void
li_post_url(const struct linkedin *li, const char *urn, char *buf)
{
    snprintf(buf, LI_MSG_MAX, "%s%s/", li->feed_url, urn);
}

char *
li_url(const char *base, const char *path)
{
    size_t n = strlen(base);
    char *url;

    while (n > 0 && base[n - 1] == '/')
        n--;
    if (asprintf(&url, "%.*s/%s", (int)n, base, path) < 0)
        return NULL;
    return url;
}

char *
li_form(const struct linkedin *li, const char *const *pairs)
{
    size_t cap = 1;
    size_t len = 0;
    char *body = calloc(1, cap);

    for (size_t i = 0; body && pairs[i] && pairs[i + 1]; i += 2) {
        char *value = li->host->url_encode(pairs[i + 1]);
        size_t need = strlen(pairs[i]) + strlen(value ? value : "") + 3;
        char *grown = value ? realloc(body, cap + need) : NULL;

        if (!grown) {
            free(value);
            free(body);
            return NULL;
        }
        body = grown;
        cap += need;
        len += (size_t)snprintf(body + len, cap - len, "%s%s=%s",
                                len ? "&" : "", pairs[i], value);
        free(value);
    }
    return body;
}

static int
send_request(const struct linkedin *li, struct herald_op *op,
             const char *method, const char *url, const struct li_headers *h,
             const char *body, size_t body_len, long timeout_ms,
             int repeatable, herald_http_done_fn done, void *udata)
{
    struct herald_http_request req = {
        .method = method,
        .url = url,
        .headers = h ? h->list : NULL,
        .body = body,
        .body_len = body_len,
        .timeout_ms = timeout_ms ? timeout_ms : li->timeout_ms,
    };

    if (repeatable && HERALD_HOST_HAS(li->host, http_repeatable))
        return li->host->http_repeatable(op, &req, done, udata);
    return li->host->http(op, &req, done, udata);
}

int
li_send(const struct linkedin *li, struct herald_op *op, const char *method,
        const char *url, const struct li_headers *h, const char *body,
        size_t body_len, long timeout_ms, herald_http_done_fn done,
        void *udata)
{
    return send_request(li, op, method, url, h, body, body_len, timeout_ms, 0,
                        done, udata);
}

int
li_send_repeatable(const struct linkedin *li, struct herald_op *op,
                   const char *method, const char *url,
                   const struct li_headers *h, const char *body,
                   size_t body_len, herald_http_done_fn done, void *udata)
{
    return send_request(li, op, method, url, h, body, body_len, 0, 1, done,
                        udata);
}
