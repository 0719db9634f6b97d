/*
 * hostapi.c - what plugins call: logging, HTTP, clock, random bytes,
 * JSON, checkpoints and completion.
 *
 * Each request a plugin sends is tied to its op. The op counts its
 * requests in flight; complete() marks it done. Whichever comes last,
 * the final response or the completion, frees the op.
 */
#include "hostapi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "client.h"
#include "clock.h"
#include "crypto.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"

struct herald_op {
    struct herald_network *net;
    int64_t account_id;
    int64_t post_id;
    int64_t attempt_id;
    herald_op_done_fn done;
    void *udata;
    unsigned requests; /* in flight */
    int completed;
};

/* One plugin request: where its response goes. */
struct pending {
    struct herald_op *op;
    herald_http_done_fn done;
    void *udata;
};

static struct herald_daemon *daemon_ref;

static void
maybe_free(struct herald_op *op)
{
    if (op->completed && op->requests == 0)
        free(op);
}

static void
host_log(struct herald_op *op, int level, const char *fmt, ...)
{
    const char *sub = op ? op->net->plugin->name : "plugin";
    va_list ap;

    if (level > herald_log_level)
        return;
    va_start(ap, fmt);
    herald_log_vwrite(level, sub, op ? op->account_id : 0,
                      op ? op->post_id : 0, fmt, ap);
    va_end(ap);
}

static void
response_cb(const struct herald_client_response *resp, void *udata)
{
    struct pending *p = udata;
    struct herald_op *op = p->op;
    struct herald_http_response out = {
        .transport = resp->transport,
        .status = resp->status,
        .body = resp->body,
        .body_len = resp->body_len,
        .headers = resp->headers,
    };

    herald_metrics_request(op->net->plugin->name,
                           resp->transport == HERALD_TRANSPORT_OK,
                           resp->status);
    /* The request still counts while its callback runs, so a complete()
     * from inside the callback cannot free the op under our feet. */
    if (!op->completed)
        p->done(op, &out, p->udata);
    else
        HLOG_ACCOUNT(LOG_DEBUG, op->net->plugin->name, op->account_id,
                     op->post_id, "response after completion dropped");
    op->requests--;
    free(p);
    maybe_free(op);
}

static int
send_http(struct herald_op *op, const struct herald_http_request *req,
          int repeatable, herald_http_done_fn done, void *udata)
{
    struct herald_client_request creq = {
        .method = req->method,
        .url = req->url,
        .headers = req->headers,
        .body = req->body,
        .body_len = req->body_len,
        .timeout_ms = req->timeout_ms,
        /* A repeat is harmless, and the operator allows resends. */
        .reuse = repeatable && daemon_ref && daemon_ref->cfg->resend_unknown,
    };
    struct pending *p;
    int rc;

    if (!daemon_ref || !daemon_ref->client || op->completed || !done)
        return -EINVAL;
    p = malloc(sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->op = op;
    p->done = done;
    p->udata = udata;
    rc = herald_client_send(daemon_ref->client, &creq, response_cb, p);
    if (rc != 0) {
        free(p);
        return rc;
    }
    op->requests++;
    return 0;
}

static int
host_http(struct herald_op *op, const struct herald_http_request *req,
          herald_http_done_fn done, void *udata)
{
    return send_http(op, req, 0, done, udata);
}

static int
host_http_repeatable(struct herald_op *op,
                     const struct herald_http_request *req,
                     herald_http_done_fn done, void *udata)
{
    return send_http(op, req, 1, done, udata);
}

static const char *
host_response_header(const struct herald_http_response *resp, const char *name)
{
    return herald_client_header(resp->headers, name);
}

static int64_t
host_now_ms(void)
{
    return herald_clock_now_ms();
}

static json_t *
host_json_parse(const char *text, size_t len)
{
    return json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
}

static char *
host_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);
    char *o = out;

    if (!out)
        return NULL;
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
host_checkpoint(struct herald_op *op, json_t *state)
{
    sqlite3_stmt *stmt = NULL;
    char *text;
    int rc = -EIO;

    if (!daemon_ref || op->attempt_id <= 0 || op->completed)
        return -EINVAL;
    text = json_dumps(state, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    if (sqlite3_prepare_v2(herald_store_db(daemon_ref->store),
                           "UPDATE attempts SET checkpoint = ?1 WHERE id = ?2",
                           -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_bind_text(stmt, 1, text, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_int64(stmt, 2, op->attempt_id) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_DONE)
        rc = 0;
    sqlite3_finalize(stmt);
    free(text);
    return rc;
}

static void
host_complete(struct herald_op *op, const struct herald_outcome *outcome,
              const struct herald_result *result)
{
    if (op->completed) {
        HLOG(LOG_ERR, op->net->plugin->name,
             "operation completed twice; the second outcome is ignored");
        return;
    }
    op->completed = 1;
    if (outcome->kind == HERALD_OUTCOME_RATE_LIMITED)
        herald_metrics_rate_limit(op->net->plugin->name,
                                  outcome->retry_at - herald_clock_now_ms());
    op->done(op, outcome, result, op->udata);
    maybe_free(op);
}

static const struct herald_host host_api = {
    .size = sizeof(struct herald_host),
    .log = host_log,
    .http = host_http,
    .http_repeatable = host_http_repeatable,
    .response_header = host_response_header,
    .now_ms = host_now_ms,
    .random = herald_crypto_random,
    .json_parse = host_json_parse,
    .url_encode = host_url_encode,
    .checkpoint = host_checkpoint,
    .complete = host_complete,
};

int
herald_host_init(struct herald_daemon *d)
{
    daemon_ref = d;
    return 0;
}

void
herald_host_fini(void)
{
    daemon_ref = NULL;
}

const struct herald_host *
herald_host_api(void)
{
    return &host_api;
}

struct herald_op *
herald_op_new(struct herald_network *net, int64_t account_id, int64_t post_id,
              int64_t attempt_id, herald_op_done_fn done, void *udata)
{
    struct herald_op *op = calloc(1, sizeof(*op));

    if (!op)
        return NULL;
    op->net = net;
    op->account_id = account_id;
    op->post_id = post_id;
    op->attempt_id = attempt_id;
    op->done = done;
    op->udata = udata;
    return op;
}

void
herald_op_abandon(struct herald_op *op)
{
    op->completed = 1;
    maybe_free(op);
}
