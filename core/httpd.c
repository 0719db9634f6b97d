/*
 * httpd.c - libmicrohttpd on the libev loop.
 *
 * MHD runs without threads of its own, in epoll mode: its one epoll fd is
 * watched by an ev_io, and an ev_timer wakes it for its own timeouts.
 * After each MHD_run() the timer is re-armed from MHD_get_timeout().
 *
 * A request moves through three steps, all on the loop:
 *   reading   the access callback collects the body up to the limit;
 *   handling  the handler is called once with the complete request;
 *   answered  a stored response is queued on the connection. A request
 *             answered later is suspended in between and resumed by
 *             herald_request_respond(), which kicks MHD from an idle
 *             watcher so the answer leaves without waiting for traffic.
 *
 * Invariant: every request that reached the handler is answered exactly
 * once or its connection is closed; its struct is freed by the completion
 * callback and nowhere else.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result;
#else
typedef enum MHD_Result MHD_Result;
#endif

struct herald_httpd {
    struct ev_loop *loop;
    struct MHD_Daemon *mhd;
    int listen_fd;
    int port;
    struct herald_httpd_limits limits;
    herald_httpd_handler handler;
    void *udata;
    ev_io io;
    ev_timer timer;
    ev_idle kick;
    unsigned in_flight;
    int (*before_answer)(void *arg);
    void *before_answer_arg;
};

struct herald_request {
    struct herald_httpd *httpd;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char *body;
    size_t body_len;
    size_t body_cap;
    int too_big;
    int handled;
    int suspended;
    ev_tstamp started;
    const char *route; /* the route pattern matched, for the metrics */
    struct MHD_Response *response;
    unsigned status;
};

static void run_mhd(struct herald_httpd *h);

static void
kick_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    struct herald_httpd *h = w->data;

    (void)revents;
    ev_idle_stop(loop, w);
    run_mhd(h);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    run_mhd(w->data);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    run_mhd(w->data);
}

static void
run_mhd(struct herald_httpd *h)
{
    MHD_UNSIGNED_LONG_LONG timeout;

    MHD_run(h->mhd);
    ev_timer_stop(h->loop, &h->timer);
    if (MHD_get_timeout(h->mhd, &timeout) == MHD_YES) {
        ev_timer_set(&h->timer, (ev_tstamp)timeout / 1000.0, 0.);
        ev_timer_start(h->loop, &h->timer);
    }
}

static int
add_body(struct herald_request *r, const char *data, size_t len)
{
    size_t need = r->body_len + len + 1;

    if (r->body_len + len > r->httpd->limits.max_body_bytes) {
        r->too_big = 1;
        return 0;
    }
    if (need > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap * 2 : 1024;
        char *grown;

        while (cap < need)
            cap *= 2;
        grown = realloc(r->body, cap);
        if (!grown)
            return -ENOMEM;
        r->body = grown;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static struct herald_request *
new_request(struct herald_httpd *h, struct MHD_Connection *conn,
            const char *method, const char *url)
{
    struct herald_request *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->httpd = h;
    r->conn = conn;
    r->method = method;
    r->path = url;
    r->started = ev_now(h->loop);
    h->in_flight++;
    return r;
}

/* Refuses a body announced as too large before any of it is read. */
static int
announced_too_big(struct herald_request *r)
{
    const char *cl = MHD_lookup_connection_value(
        r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    unsigned long long n;

    if (!cl)
        return 0;
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno != 0 || *end != '\0' || n > r->httpd->limits.max_body_bytes;
}

static void
call_handler(struct herald_request *r)
{
    struct herald_httpd *h = r->httpd;

    r->handled = 1;
    if (h->before_answer && h->before_answer(h->before_answer_arg) != 0) {
        herald_request_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "store_unavailable",
                             "the store cannot save changes now; try again");
        return;
    }
    if (r->too_big) {
        herald_request_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                             "request body is larger than %zu bytes",
                             h->limits.max_body_bytes);
        return;
    }
    h->handler(r, h->udata);
}

static MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
          const char *method, const char *version, const char *upload_data,
          size_t *upload_data_size, void **con_cls)
{
    struct herald_httpd *h = cls;
    struct herald_request *r = *con_cls;

    (void)version;
    if (!r) {
        r = new_request(h, conn, method, url);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        if (announced_too_big(r))
            r->too_big = 1;
        else
            return MHD_YES;
    }

    if (ev_now(h->loop) - r->started > h->limits.request_deadline_s) {
        HLOG(LOG_NOTICE, "httpd", "request deadline passed; closing");
        return MHD_NO;
    }
    if (*upload_data_size > 0) {
        if (!r->too_big && add_body(r, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (!r->handled)
        call_handler(r);
    if (r->response)
        return MHD_queue_response(conn, r->status, r->response);

    /* Answered later: park the connection until then. */
    r->suspended = 1;
    MHD_suspend_connection(conn);
    return MHD_YES;
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct herald_httpd *h = cls;
    struct herald_request *r = *con_cls;

    (void)conn;
    (void)toe;
    if (!r)
        return;
    if (r->response)
        MHD_destroy_response(r->response);
    free(r->body);
    free(r);
    h->in_flight--;
    *con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    if (LOG_NOTICE > herald_log_level)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    herald_log_write(LOG_NOTICE, "httpd", 0, 0, "%s", line);
}

static int
listen_socket(const char *address, int port, int *fd_out, int *port_out)
{
    struct sockaddr_in6 a6 = {0};
    struct sockaddr_in a4 = {0};
    struct sockaddr *sa;
    socklen_t len;
    int one = 1;
    int fd;

    if (inet_pton(AF_INET, address, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a4;
        len = sizeof(a4);
    } else if (inet_pton(AF_INET6, address, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a6;
        len = sizeof(a6);
    } else {
        return -EINVAL;
    }

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, sa, len) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, sa, &len) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    *fd_out = fd;
    *port_out = ntohs(sa->sa_family == AF_INET ? a4.sin_port : a6.sin6_port);
    return 0;
}

static int
start_mhd(struct herald_httpd *h)
{
    /* Headers are parsed in MHD's per-connection memory pool: its size
     * bounds them. */
    size_t pool = h->limits.max_header_bytes + 4096;

    h->mhd = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
        NULL, access_cb, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, h->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
        h->limits.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        h->limits.connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        pool, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h, MHD_OPTION_END);
    return h->mhd ? 0 : -EIO;
}

int
herald_httpd_start(struct ev_loop *loop, const char *address, int port,
                   const struct herald_httpd_limits *limits,
                   herald_httpd_handler handler, void *udata,
                   struct herald_httpd **out, struct herald_error *err)
{
    struct herald_httpd *h = calloc(1, sizeof(*h));
    const union MHD_DaemonInfo *info;
    int rc;

    if (!h)
        return -ENOMEM;
    h->loop = loop;
    h->limits = *limits;
    h->handler = handler;
    h->udata = udata;

    rc = listen_socket(address, port, &h->listen_fd, &h->port);
    if (rc != 0) {
        herald_error_set(err, "cannot listen on '%s:%d': %s", address, port,
                         rc == -EINVAL ? "not an IP address" : strerror(-rc));
        free(h);
        return rc;
    }
    rc = start_mhd(h);
    if (rc != 0) {
        herald_error_set(err, "cannot start the HTTP server on '%s:%d'",
                         address, port);
        close(h->listen_fd);
        free(h);
        return rc;
    }

    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    ev_io_init(&h->io, io_cb, info->epoll_fd, EV_READ);
    h->io.data = h;
    ev_io_start(loop, &h->io);
    ev_timer_init(&h->timer, timer_cb, 0., 0.);
    h->timer.data = h;
    ev_idle_init(&h->kick, kick_cb);
    h->kick.data = h;
    run_mhd(h);
    *out = h;
    return 0;
}

int
herald_httpd_port(const struct herald_httpd *h)
{
    return h->port;
}

unsigned
herald_httpd_in_flight(const struct herald_httpd *h)
{
    return h->in_flight;
}

void
herald_httpd_set_before_answer(struct herald_httpd *h, int (*fn)(void *arg),
                               void *arg)
{
    h->before_answer = fn;
    h->before_answer_arg = arg;
}

void
herald_httpd_quiesce(struct herald_httpd *h)
{
    int fd = (int)MHD_quiesce_daemon(h->mhd);

    if (fd >= 0) {
        close(fd);
        h->listen_fd = -1;
    }
}

void
herald_httpd_stop(struct herald_httpd *h)
{
    if (!h)
        return;
    ev_io_stop(h->loop, &h->io);
    ev_timer_stop(h->loop, &h->timer);
    ev_idle_stop(h->loop, &h->kick);
    MHD_stop_daemon(h->mhd);
    if (h->listen_fd >= 0)
        close(h->listen_fd);
    free(h);
}

const char *
herald_request_method(const struct herald_request *req)
{
    return req->method;
}

const char *
herald_request_path(const struct herald_request *req)
{
    return req->path;
}

void
herald_request_set_route(struct herald_request *req, const char *route)
{
    req->route = route;
}

const char *
herald_request_header(const struct herald_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
herald_request_query(const struct herald_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
herald_request_body(const struct herald_request *req, size_t *len)
{
    *len = req->body_len;
    return req->body ? req->body : "";
}

static int
add_headers(struct MHD_Response *resp, const char *content_type,
            const char *const *headers)
{
    if (content_type &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type) != MHD_YES)
        return -ENOMEM;
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        char name[128];
        size_t n;

        if (!colon || (n = (size_t)(colon - headers[i])) >= sizeof(name))
            return -EINVAL;
        memcpy(name, headers[i], n);
        name[n] = '\0';
        colon++;
        while (*colon == ' ')
            colon++;
        if (MHD_add_response_header(resp, name, colon) != MHD_YES)
            return -ENOMEM;
    }
    return 0;
}

int
herald_request_respond(struct herald_request *req, unsigned status,
                       const char *content_type, const char *body, size_t len,
                       const char *const *headers)
{
    struct MHD_Response *resp;
    int rc;

    if (req->response)
        return -EALREADY;
    if (status < 500 && req->httpd->before_answer &&
        req->httpd->before_answer(req->httpd->before_answer_arg) != 0)
        return herald_request_error(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                                    "store_unavailable",
                                    "the store could not save the change; "
                                    "try again");
    resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
                                           MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return -ENOMEM;
    rc = add_headers(resp, content_type, headers);
    if (rc != 0) {
        MHD_destroy_response(resp);
        return rc;
    }
    req->response = resp;
    req->status = status;
    herald_metrics_api(req->method, req->route, status,
                       ev_time() - req->started);

    if (req->suspended) {
        req->suspended = 0;
        MHD_resume_connection(req->conn);
        ev_idle_start(req->httpd->loop, &req->httpd->kick);
    }
    return 0;
}

int
herald_request_respond_json(struct herald_request *req, unsigned status,
                            json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    int rc;

    json_decref(body);
    if (!text)
        return -ENOMEM;
    rc = herald_request_respond(req, status, "application/json", text,
                                strlen(text), NULL);
    free(text);
    return rc;
}

int
herald_request_error(struct herald_request *req, unsigned status,
                     const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return herald_request_respond_json(
        req, status,
        json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}
