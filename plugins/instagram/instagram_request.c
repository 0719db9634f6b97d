/*
 * instagram_request.c - building and sending the plugin's requests.
 *
 * Query strings and form bodies (every value percent-encoded by the
 * host), absolute URLs, the headers each request carries, and the small
 * readers and wipers the other files share. Called from every operation
 * of instagram.c and instagram_publish.c, on the core's loop thread.
 *
 * Invariant: a string that may hold a token (a URL, a form body) is
 * wiped with ig_free_secret() before it is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instagram.h"

char *
ig_form(const struct ig *ig, const char *const *kv)
{
    char *enc[16] = {0};
    size_t n = 0, len = 1, at = 0;
    char *out = NULL;

    for (size_t i = 0; kv[i]; i += 2)
        n++;
    if (n > sizeof(enc) / sizeof(*enc))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!kv[2 * i + 1])
            continue;
        enc[i] = ig->host->url_encode(kv[2 * i + 1]);
        if (!enc[i])
            goto out;
        len += strlen(kv[2 * i]) + strlen(enc[i]) + 2;
    }
    out = malloc(len);
    if (!out)
        goto out;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (enc[i])
            at += (size_t)sprintf(out + at, "%s%s=%s", at ? "&" : "",
                                  kv[2 * i], enc[i]);
    }

out:
    for (size_t i = 0; i < n; i++)
        ig_free_secret(enc[i]);
    return out;
}

char *
ig_url(const struct ig *ig, const char *base, const char *path,
       const char *const *kv)
{
    char *query = kv ? ig_form(ig, kv) : NULL;
    char *url = NULL;

    if (kv && !query)
        return NULL;
    if (asprintf(&url, "%s%s%s%s", base, path ? path : "",
                 query && *query ? "?" : "", query ? query : "") < 0)
        url = NULL;
    ig_free_secret(query);
    return url;
}

int
ig_send(const struct ig *ig, struct herald_op *op, const char *method,
        const char *url, const char *body, herald_http_done_fn done,
        void *udata)
{
    static const char *const form_headers[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json", NULL};
    static const char *const plain_headers[] = {"Accept: application/json",
                                                NULL};
    struct herald_http_request req = {
        .method = method,
        .url = url,
        .headers = body ? form_headers : plain_headers,
        .body = body,
        .body_len = body ? strlen(body) : 0,
    };

    return ig->host->http(op, &req, done, udata);
}

const char *
ig_json_id(json_t *obj, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(obj, key);

    if (json_is_string(v) && json_string_length(v) > 0 &&
        json_string_length(v) < len) {
        snprintf(buf, len, "%s", json_string_value(v));
        return buf;
    }
    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return NULL;
}

void
ig_free_secret(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}
