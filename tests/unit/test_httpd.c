/*
 * test_httpd.c - the API server and the HTTP client on one libev loop.
 *
 * A real server on a loopback port answers requests sent by the real
 * client, both driven by the same loop, as in the daemon: GET and POST,
 * headers both ways, an answer given later from a timer, the body limit,
 * a client timeout, a refused connection and cancellation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "check.h"
#include "client.h"
#include "httpd.h"

struct result {
    int done;
    enum herald_transport transport;
    long status;
    char body[256];
    char header[128];
};

static struct ev_loop *loop;
static struct herald_request *parked;
static ev_timer later;

static void
answer_later(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    herald_request_respond(parked, 200, "text/plain", "late", 4, NULL);
}

static void
handler(struct herald_request *req, void *udata)
{
    const char *path = herald_request_path(req);
    static const char *const extra[] = {"X-Reply: yes", NULL};
    size_t len;
    const char *body;

    (void)udata;
    if (strcmp(path, "/echo") == 0) {
        body = herald_request_body(req, &len);
        herald_request_respond(req, 201, "text/plain", body, len, extra);
    } else if (strcmp(path, "/header") == 0) {
        const char *v = herald_request_header(req, "x-probe");
        const char *q = herald_request_query(req, "q");
        char out[128];
        snprintf(out, sizeof(out), "%s/%s", v ? v : "-", q ? q : "-");
        herald_request_respond(req, 200, "text/plain", out, strlen(out), NULL);
    } else if (strcmp(path, "/later") == 0) {
        parked = req;
        ev_timer_init(&later, answer_later, 0.05, 0.);
        ev_timer_start(loop, &later);
    } else if (strcmp(path, "/never") == 0) {
        parked = req;
    } else {
        herald_request_error(req, 404, "not_found", "no route for '%s'", path);
    }
}

/* The hooks that make the store durable: how often each ran, and what
 * it answers. */
static int barrier_calls, barrier_rc;

static int
barrier(void *arg)
{
    (void)arg;
    barrier_calls++;
    return barrier_rc;
}

static void
done(const struct herald_client_response *resp, void *udata)
{
    struct result *r = udata;
    const char *h = herald_client_header(resp->headers, "x-reply");

    r->done++;
    r->transport = resp->transport;
    r->status = resp->status;
    snprintf(r->body, sizeof(r->body), "%.*s", (int)resp->body_len,
             resp->body);
    snprintf(r->header, sizeof(r->header), "%s", h ? h : "");
}

static void
wait_for(struct result *r)
{
    while (!r->done)
        ev_run(loop, EVRUN_ONCE);
}

static void
send_request(struct herald_client *c, const char *method, const char *url,
             const char *body, long timeout_ms, struct result *r)
{
    static const char *const headers[] = {"X-Probe: seen", NULL};
    struct herald_client_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = timeout_ms,
    };

    memset(r, 0, sizeof(*r));
    CHECK(herald_client_send(c, &req, done, r) == 0);
    CHECK(r->done == 0); /* never completed inside send */
}

int
main(void)
{
    struct herald_httpd_limits limits = {64, 8192, 5, 10, 16};
    struct herald_error err = {""};
    struct herald_httpd *h;
    struct herald_client *c;
    struct result r;
    char url[256];
    int port;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    loop = ev_default_loop(0);
    CHECK(herald_httpd_start(loop, "127.0.0.1", 0, &limits, handler, NULL, &h,
                             &err) == 0);
    port = herald_httpd_port(h);
    CHECK(port > 0);
    CHECK(herald_client_new(loop, 2000, 1 << 20, &c) == 0);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
    send_request(c, "POST", url, "hello", 0, &r);
    wait_for(&r);
    CHECK(r.transport == HERALD_TRANSPORT_OK);
    CHECK(r.status == 201);
    CHECK_STR(r.body, "hello");
    CHECK_STR(r.header, "yes");

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/header?q=a%%20b", port);
    send_request(c, "GET", url, NULL, 0, &r);
    wait_for(&r);
    CHECK_STR(r.body, "seen/a b");

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/later", port);
    send_request(c, "GET", url, NULL, 0, &r);
    wait_for(&r);
    CHECK(r.status == 200);
    CHECK_STR(r.body, "late");

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/nothing", port);
    send_request(c, "GET", url, NULL, 0, &r);
    wait_for(&r);
    CHECK(r.status == 404);
    CHECK_STR(r.body, "{\"error\":{\"code\":\"not_found\",\"message\":"
                      "\"no route for '/nothing'\"}}");

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
    send_request(
        c, "POST", url,
        "this body is longer than the sixty-four bytes the limit allows "
        "to be read",
        0, &r);
    wait_for(&r);
    CHECK(r.status == 413);
    CHECK_CONTAINS(r.body, "\"code\":\"body_too_large\"");

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/never", port);
    send_request(c, "GET", url, NULL, 150, &r);
    wait_for(&r);
    CHECK(r.transport == HERALD_TRANSPORT_TIMEOUT);
    CHECK(r.status == 0);
    ev_run(loop, EVRUN_NOWAIT);
    herald_request_respond(parked, 200, "text/plain", "", 0, NULL);

    send_request(c, "GET", "http://127.0.0.1:1/", NULL, 0, &r);
    wait_for(&r);
    CHECK(r.transport == HERALD_TRANSPORT_CONNECT);

    send_request(c, "GET", url, NULL, 0, &r);
    CHECK(herald_client_pending(c) == 1);
    herald_client_cancel_all(c);
    CHECK(r.done == 1);
    CHECK(r.transport == HERALD_TRANSPORT_CANCELED);
    CHECK(herald_client_pending(c) == 0);

    struct herald_client_request bad = {.method = "GET",
                                        .url = "file:///etc/passwd"};
    CHECK(herald_client_send(c, &bad, done, &r) == -EINVAL);

    /* Before a request leaves and before an answer is given: the hook
     * runs, and a failing hook stops the request, or turns the answer
     * into 503. */
    herald_client_set_before_send(c, barrier, NULL);
    herald_httpd_set_before_answer(h, barrier, NULL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
    send_request(c, "POST", url, "kept", 0, &r);
    wait_for(&r);
    CHECK(r.status == 201);
    CHECK_STR(r.body, "kept");
    CHECK(barrier_calls == 3); /* the send, the handling, the answer */

    barrier_rc = -EIO;
    struct herald_client_request stopped = {.method = "GET", .url = url};
    CHECK(herald_client_send(c, &stopped, done, &r) == -EIO);
    CHECK(herald_client_pending(c) == 0);
    herald_client_set_before_send(c, NULL, NULL);
    send_request(c, "POST", url, "lost", 0, &r);
    wait_for(&r);
    CHECK(r.status == 503);
    CHECK_CONTAINS(r.body, "\"code\":\"store_unavailable\"");
    herald_httpd_set_before_answer(h, NULL, NULL);

    herald_client_free(c);
    herald_httpd_stop(h);
    ev_loop_destroy(loop);
    curl_global_cleanup();
    return check_done();
}
