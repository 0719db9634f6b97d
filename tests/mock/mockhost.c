/*
 * mockhost.c - records plugin requests and completions for unit tests.
 */
#include "mockhost.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOCK_MAX_REQUESTS 32

struct pending {
    herald_http_done_fn done;
    void *udata;
    int answered;
};

/* The op handed to plugins; only its address matters. */
struct herald_op {
    int unused;
};

static struct herald_op the_op;
static struct mock_request requests[MOCK_MAX_REQUESTS];
static struct pending pendings[MOCK_MAX_REQUESTS];
static size_t nrequests;
static struct mock_completion completion;
static char *fields[64];
static size_t nfields;

int64_t mock_now_ms = 1780000000000LL;

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void
free_request(struct mock_request *r)
{
    free(r->method);
    free(r->url);
    free(r->body);
    for (size_t i = 0; r->headers[i]; i++)
        free(r->headers[i]);
    memset(r, 0, sizeof(*r));
}

static void
free_completion(struct mock_completion *c)
{
    free(c->message);
    free(c->remote_id);
    free(c->remote_url);
    free(c->access_token);
    free(c->refresh_token);
    free(c->identity_id);
    free(c->username);
    free(c->display_name);
    json_decref(c->extra);
    json_decref(c->targets);
    json_decref(c->checkpoint);
    memset(c, 0, sizeof(*c));
}

struct herald_op *
mock_op_begin(void)
{
    for (size_t i = 0; i < nrequests; i++)
        free_request(&requests[i]);
    for (size_t i = 0; i < nfields; i++)
        free(fields[i]);
    nfields = 0;
    nrequests = 0;
    memset(pendings, 0, sizeof(pendings));
    free_completion(&completion);
    return &the_op;
}

static void
mock_log(struct herald_op *op, int level, const char *fmt, ...)
{
    va_list ap;

    (void)op;
    if (!getenv("MOCK_VERBOSE"))
        return;
    fprintf(stderr, "plugin log %d: ", level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int
record_http(const struct herald_http_request *req, int repeatable,
            herald_http_done_fn done, void *udata)
{
    struct mock_request *r;

    if (nrequests >= MOCK_MAX_REQUESTS)
        return -1;
    r = &requests[nrequests];
    r->repeatable = repeatable;
    r->method = strdup(req->method);
    r->url = strdup(req->url);
    for (size_t i = 0; req->headers && req->headers[i] && i < MOCK_MAX_HEADERS;
         i++)
        r->headers[i] = strdup(req->headers[i]);
    if (req->body) {
        r->body = malloc(req->body_len + 1);
        memcpy(r->body, req->body, req->body_len);
        r->body[req->body_len] = '\0';
    }
    pendings[nrequests].done = done;
    pendings[nrequests].udata = udata;
    nrequests++;
    return 0;
}

static int
mock_http(struct herald_op *op, const struct herald_http_request *req,
          herald_http_done_fn done, void *udata)
{
    (void)op;
    return record_http(req, 0, done, udata);
}

static int
mock_http_repeatable(struct herald_op *op,
                     const struct herald_http_request *req,
                     herald_http_done_fn done, void *udata)
{
    (void)op;
    return record_http(req, 1, done, udata);
}

/* Headers of a mock response: the NULL-terminated list itself. */
static const char *
mock_response_header(const struct herald_http_response *resp, const char *name)
{
    const char *const *h = resp->headers;
    size_t n = strlen(name);

    for (; h && *h; h++) {
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':') {
            const char *v = *h + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

static int64_t
mock_now(void)
{
    return mock_now_ms;
}

static void
mock_random(void *buf, size_t len)
{
    unsigned char *p = buf;

    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 37 + 11);
}

static json_t *
mock_json_parse(const char *text, size_t len)
{
    return json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
}

static char *
mock_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1);
    char *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

static int
mock_checkpoint(struct herald_op *op, json_t *state)
{
    (void)op;
    json_decref(completion.checkpoint);
    completion.checkpoint = json_deep_copy(state);
    return 0;
}

static void
copy_result(const struct herald_result *r)
{
    if (!r)
        return;
    if (r->credentials) {
        const struct herald_credentials *c = r->credentials;
        completion.has_credentials = 1;
        completion.access_token = dup_or_null(c->access_token);
        completion.refresh_token = dup_or_null(c->refresh_token);
        completion.access_expires_at = c->access_expires_at;
        completion.hard_deadline = c->hard_deadline;
        completion.extra = c->extra ? json_deep_copy(c->extra) : NULL;
    }
    if (r->identity) {
        completion.has_identity = 1;
        completion.identity_id = dup_or_null(r->identity->id);
        completion.username = dup_or_null(r->identity->username);
        completion.display_name = dup_or_null(r->identity->display_name);
    }
    if (r->targets)
        completion.targets = json_deep_copy(r->targets);
}

static void
mock_complete(struct herald_op *op, const struct herald_outcome *outcome,
              const struct herald_result *result)
{
    (void)op;
    completion.completed++;
    if (completion.completed > 1)
        return;
    completion.outcome = *outcome;
    completion.message = dup_or_null(outcome->message);
    completion.remote_id = dup_or_null(outcome->remote_id);
    completion.remote_url = dup_or_null(outcome->remote_url);
    completion.outcome.message = completion.message;
    completion.outcome.remote_id = completion.remote_id;
    completion.outcome.remote_url = completion.remote_url;
    copy_result(result);
}

static const struct herald_host host = {
    .size = sizeof(struct herald_host),
    .log = mock_log,
    .http = mock_http,
    .response_header = mock_response_header,
    .now_ms = mock_now,
    .random = mock_random,
    .json_parse = mock_json_parse,
    .url_encode = mock_url_encode,
    .checkpoint = mock_checkpoint,
    .complete = mock_complete,
    .http_repeatable = mock_http_repeatable,
};

const struct herald_host *
mock_host(void)
{
    return &host;
}

size_t
mock_request_count(void)
{
    return nrequests;
}

const struct mock_request *
mock_request(size_t i)
{
    return i < nrequests ? &requests[i] : NULL;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *
decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

const char *
mock_field(size_t i, const char *name)
{
    const struct mock_request *r = mock_request(i);
    const char *p;
    size_t n = strlen(name);

    if (!r)
        return NULL;
    if (strcmp(r->method, "GET") == 0 || !r->body) {
        p = strchr(r->url, '?');
        p = p ? p + 1 : "";
    } else {
        p = r->body;
    }
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            if (nfields >= sizeof(fields) / sizeof(*fields))
                return NULL;
            fields[nfields] = decode(p + n + 1, len - n - 1);
            return fields[nfields++];
        }
        if (len == n && strncmp(p, name, n) == 0) {
            fields[nfields] = strdup("");
            return fields[nfields++];
        }
        p += len + (end ? 1 : 0);
    }
    return NULL;
}

const char *
mock_header(size_t i, const char *name)
{
    const struct mock_request *r = mock_request(i);
    struct herald_http_response resp = {0};

    if (!r)
        return NULL;
    resp.headers = r->headers;
    return mock_response_header(&resp, name);
}

static struct pending *
oldest_pending(size_t *index)
{
    for (size_t i = 0; i < nrequests; i++) {
        if (!pendings[i].answered) {
            *index = i;
            return &pendings[i];
        }
    }
    return NULL;
}

int
mock_respond(long status, const char *const *headers, const char *body)
{
    return mock_respond_n(status, headers, body ? body : "",
                          body ? strlen(body) : 0);
}

int
mock_respond_n(long status, const char *const *headers, const char *body,
               size_t len)
{
    struct herald_http_response resp = {0};
    size_t i;
    struct pending *p = oldest_pending(&i);
    char *copy;

    if (!p)
        return -1;
    copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, body, len);
    copy[len] = '\0';
    p->answered = 1;
    resp.transport = HERALD_TRANSPORT_OK;
    resp.status = status;
    resp.body = copy;
    resp.body_len = len;
    resp.headers = headers;
    p->done(&the_op, &resp, p->udata);
    free(copy);
    return 0;
}

int
mock_fail(enum herald_transport transport)
{
    struct herald_http_response resp = {0};
    size_t i;
    struct pending *p = oldest_pending(&i);

    if (!p)
        return -1;
    p->answered = 1;
    resp.transport = transport;
    resp.body = "";
    p->done(&the_op, &resp, p->udata);
    return 0;
}

size_t
mock_pending(void)
{
    size_t n = 0;

    for (size_t i = 0; i < nrequests; i++)
        n += pendings[i].answered ? 0 : 1;
    return n;
}

const struct mock_completion *
mock_completion(void)
{
    return &completion;
}
