/*
 * client.c - libcurl's multi-socket interface on a libev loop.
 *
 * curl tells us which sockets to watch (socket_cb) and when to wake it
 * (timer_cb); libev tells curl when a socket is ready (io_cb) or the
 * timer fired (timeout_cb), and each of those hands control back to
 * curl_multi_socket_action() and then reaps finished transfers.
 *
 * Mail goes the same way: herald_client_send_mail() configures an SMTP
 * transfer that uploads the message through read_cb, on the same multi
 * handle, so sending mail never blocks the loop either.
 *
 * Invariant: curl is never re-entered from one of its own callbacks.
 * timer_cb only arms an ev_timer, even for a timeout of zero, so
 * curl_multi_socket_action() always runs from a loop callback, and so do
 * the completion callbacks.
 */
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "log.h"

struct herald_client {
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer timer;
    long default_timeout_ms;
    size_t max_body;
    size_t pending;
    struct transfer *transfers; /* doubly linked, for cancel_all */
    int (*before_send)(void *arg);
    void *before_send_arg;
};

/* One request in flight. */
struct transfer {
    struct herald_client *client;
    CURL *easy;
    struct curl_slist *request_headers;
    struct curl_slist *rcpt; /* mail: the recipient */
    char *body_copy;         /* the request body, or the mail */
    size_t upload_len;       /* mail: bytes of body_copy */
    size_t upload_off;       /* mail: bytes handed to curl so far */
    int mail;                /* an SMTP transfer */
    char *body;
    size_t body_len;
    size_t body_cap;
    int too_big;
    struct curl_slist *response_headers;
    char error[CURL_ERROR_SIZE];
    herald_client_done_fn done;
    void *udata;
    struct transfer *prev;
    struct transfer *next;
};

/* The libev watcher curl asked for on one socket. */
struct sock_watch {
    ev_io io;
    struct herald_client *client;
};

static void check_finished(struct herald_client *c);

static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct herald_client *c = w->data;
    int running;

    (void)loop;
    (void)revents;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_finished(c);
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct herald_client *c = userp;

    (void)multi;
    ev_timer_stop(c->loop, &c->timer);
    if (timeout_ms >= 0) {
        /* Milliseconds to seconds in floating point: nothing truncated. */
        ev_timer_set(&c->timer, (ev_tstamp)timeout_ms / 1000.0, 0.);
        ev_timer_start(c->loop, &c->timer);
    }
    return 0;
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct sock_watch *sw = (struct sock_watch *)w;
    struct herald_client *c = sw->client;
    int flags = 0;
    int running;

    (void)loop;
    if (revents & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (revents & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, w->fd, flags, &running);
    check_finished(c);
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct herald_client *c = userp;
    struct sock_watch *sw = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (sw) {
            ev_io_stop(c->loop, &sw->io);
            free(sw);
            curl_multi_assign(c->multi, s, NULL);
        }
        return 0;
    }

    if (!sw) {
        sw = calloc(1, sizeof(*sw));
        if (!sw)
            return -1;
        sw->client = c;
        curl_multi_assign(c->multi, s, sw);
    } else {
        ev_io_stop(c->loop, &sw->io);
    }
    if (what & CURL_POLL_IN)
        events |= EV_READ;
    if (what & CURL_POLL_OUT)
        events |= EV_WRITE;
    ev_io_init(&sw->io, io_cb, s, events);
    ev_io_start(c->loop, &sw->io);
    return 0;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t len = size * nmemb;
    size_t need = t->body_len + len + 1;

    if (t->body_len + len > t->client->max_body) {
        t->too_big = 1;
        return 0;
    }
    if (need > t->body_cap) {
        size_t cap = t->body_cap ? t->body_cap * 2 : 4096;
        char *grown;

        while (cap < need)
            cap *= 2;
        grown = realloc(t->body, cap);
        if (!grown)
            return 0;
        t->body = grown;
        t->body_cap = cap;
    }
    memcpy(t->body + t->body_len, data, len);
    t->body_len += len;
    t->body[t->body_len] = '\0';
    return len;
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t len = size * nmemb;
    char *line;
    struct curl_slist *grown;

    /* A new status line starts a new header block (after 1xx, redirects). */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        curl_slist_free_all(t->response_headers);
        t->response_headers = NULL;
    }
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    if (len == 0 || !memchr(data, ':', len))
        return size * nmemb;
    line = strndup(data, len);
    if (!line)
        return 0;
    grown = curl_slist_append(t->response_headers, line);
    free(line);
    if (!grown)
        return 0;
    t->response_headers = grown;
    return size * nmemb;
}

const char *
herald_client_header(const void *headers, const char *name)
{
    const struct curl_slist *h = headers;
    size_t n = strlen(name);
    const char *found = NULL;

    /* The last occurrence wins, as for a repeated rate-limit header. */
    for (; h; h = h->next) {
        if (strncasecmp(h->data, name, n) == 0 && h->data[n] == ':') {
            found = h->data + n + 1;
            while (*found == ' ' || *found == '\t')
                found++;
        }
    }
    return found;
}

static enum herald_transport
transport_of(CURLcode code, const struct transfer *t)
{
    switch (code) {
    case CURLE_OK:
        return HERALD_TRANSPORT_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
        return HERALD_TRANSPORT_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HERALD_TRANSPORT_TIMEOUT;
    default:
        (void)t;
        return HERALD_TRANSPORT_BROKEN;
    }
}

static void
unlink_transfer(struct herald_client *c, struct transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        c->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    c->pending--;
}

static void
free_transfer(struct transfer *t)
{
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->request_headers);
    curl_slist_free_all(t->rcpt);
    /* A mail may carry a one-time link. */
    if (t->mail && t->body_copy)
        sodium_memzero(t->body_copy, t->upload_len);
    curl_slist_free_all(t->response_headers);
    free(t->body_copy);
    free(t->body);
    free(t);
}

/* Removes t from curl and the list, reports it, and frees it. */
static void
finish(struct herald_client *c, struct transfer *t,
       enum herald_transport transport)
{
    struct herald_client_response resp = {0};
    long status = 0;

    curl_multi_remove_handle(c->multi, t->easy);
    unlink_transfer(c, t);
    /* An SMTP server's refusal has a code worth keeping too. */
    if (transport == HERALD_TRANSPORT_OK || t->mail)
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (t->too_big)
        snprintf(t->error, sizeof(t->error),
                 "response body larger than %zu bytes", c->max_body);

    resp.transport = transport;
    resp.status = status;
    resp.body = t->body ? t->body : "";
    resp.body_len = t->body_len;
    resp.error = t->error[0] ? t->error : NULL;
    resp.headers = t->response_headers;
    t->done(&resp, t->udata);
    free_transfer(t);
}

static void
check_finished(struct herald_client *c)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left))) {
        struct transfer *t;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        finish(c, t,
               t->too_big ? HERALD_TRANSPORT_BROKEN
                          : transport_of(msg->data.result, t));
    }
}

int
herald_client_new(struct ev_loop *loop, long default_timeout_ms,
                  size_t max_body, struct herald_client **out)
{
    struct herald_client *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        return -ENOMEM;
    }
    c->loop = loop;
    c->default_timeout_ms = default_timeout_ms;
    c->max_body = max_body;
    ev_timer_init(&c->timer, timeout_cb, 0., 0.);
    c->timer.data = c;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    *out = c;
    return 0;
}

static int
valid_request(const struct herald_client_request *req)
{
    if (!req->method || !*req->method || !req->url)
        return 0;
    return strncmp(req->url, "http://", 7) == 0 ||
           strncmp(req->url, "https://", 8) == 0;
}

static int
set_headers(struct transfer *t, const char *const *headers)
{
    /* curl adds "Expect: 100-continue" to larger bodies; networks do not
     * need the extra round trip. */
    t->request_headers = curl_slist_append(NULL, "Expect:");
    if (!t->request_headers)
        return -ENOMEM;
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *grown =
            curl_slist_append(t->request_headers, headers[i]);
        if (!grown)
            return -ENOMEM;
        t->request_headers = grown;
    }
    return 0;
}

static int
set_body(struct transfer *t, const struct herald_client_request *req)
{
    if (!req->body)
        return 0;
    t->body_copy = malloc(req->body_len + 1);
    if (!t->body_copy)
        return -ENOMEM;
    memcpy(t->body_copy, req->body, req->body_len);
    t->body_copy[req->body_len] = '\0';
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)req->body_len);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body_copy);
    return 0;
}

static int
configure(struct herald_client *c, struct transfer *t,
          const struct herald_client_request *req)
{
    long timeout =
        req->timeout_ms > 0 ? req->timeout_ms : c->default_timeout_ms;
    CURL *e = t->easy;
    int rc;

    rc = set_headers(t, req->headers);
    if (rc == 0)
        rc = set_body(t, req);
    if (rc != 0)
        return rc;

    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    if (strcmp(req->method, "GET") == 0 && !req->body)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (!req->reuse)
        /*
         * libcurl silently sends a request again when a reused connection
         * turns out dead before any answer. For a request that may create
         * a post that could publish it twice, so such a request gets a
         * connection of its own unless the caller says a repeat is
         * harmless.
         */
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->request_headers);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < 10000 ? timeout : 10000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "herald/" HERALD_VERSION);
    return 0;
}

/* Makes a transfer with its easy handle. Returns it, or NULL. */
static struct transfer *
new_transfer(struct herald_client *c, herald_client_done_fn done, void *udata)
{
    struct transfer *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->client = c;
    t->done = done;
    t->udata = udata;
    t->easy = curl_easy_init();
    if (!t->easy) {
        free(t);
        return NULL;
    }
    return t;
}

/*
 * Hands a configured transfer (rc 0) to curl and links it in; frees it
 * on any failure. Returns 0 or a negative errno value.
 */
static int
start_transfer(struct herald_client *c, struct transfer *t, int rc)
{
    if (rc == 0 && c->before_send)
        rc = c->before_send(c->before_send_arg);
    if (rc == 0 && curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
        rc = -ENOMEM;
    if (rc != 0) {
        free_transfer(t);
        return rc;
    }

    t->next = c->transfers;
    if (t->next)
        t->next->prev = t;
    c->transfers = t;
    c->pending++;
    return 0;
}

int
herald_client_send(struct herald_client *c,
                   const struct herald_client_request *req,
                   herald_client_done_fn done, void *udata)
{
    struct transfer *t;

    if (!valid_request(req) || !done)
        return -EINVAL;
    t = new_transfer(c, done, udata);
    if (!t)
        return -ENOMEM;
    return start_transfer(c, t, configure(c, t, req));
}

/* Hands curl the next piece of the mail. */
static size_t
read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    struct transfer *t = userp;
    size_t room = size * nitems;
    size_t left = t->upload_len - t->upload_off;
    size_t n = left < room ? left : room;

    memcpy(buf, t->body_copy + t->upload_off, n);
    t->upload_off += n;
    return n;
}

static int
valid_mail(const struct herald_client_mail *m)
{
    if (!m->url || !m->from || !*m->from || !m->rcpt || !*m->rcpt ||
        !m->message || m->message_len == 0)
        return 0;
    return strncmp(m->url, "smtp://", 7) == 0 ||
           strncmp(m->url, "smtps://", 8) == 0;
}

static int
configure_mail(struct herald_client *c, struct transfer *t,
               const struct herald_client_mail *m)
{
    long timeout = m->timeout_ms > 0 ? m->timeout_ms : c->default_timeout_ms;
    int tls = m->require_tls || strncmp(m->url, "smtps://", 8) == 0;
    CURL *e = t->easy;

    t->mail = 1;
    t->rcpt = curl_slist_append(NULL, m->rcpt);
    t->body_copy = malloc(m->message_len);
    if (!t->rcpt || !t->body_copy)
        return -ENOMEM;
    memcpy(t->body_copy, m->message, m->message_len);
    t->upload_len = m->message_len;

    curl_easy_setopt(e, CURLOPT_URL, m->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, m->from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, t);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->message_len);
    if (tls)
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (m->username) {
        curl_easy_setopt(e, CURLOPT_USERNAME, m->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, m->password ? m->password : "");
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < 10000 ? timeout : 10000L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    return 0;
}

int
herald_client_send_mail(struct herald_client *c,
                        const struct herald_client_mail *mail,
                        herald_client_done_fn done, void *udata)
{
    struct transfer *t;

    if (!valid_mail(mail) || !done)
        return -EINVAL;
    t = new_transfer(c, done, udata);
    if (!t)
        return -ENOMEM;
    return start_transfer(c, t, configure_mail(c, t, mail));
}

size_t
herald_client_pending(const struct herald_client *c)
{
    return c->pending;
}

void
herald_client_set_before_send(struct herald_client *c, int (*fn)(void *arg),
                              void *arg)
{
    c->before_send = fn;
    c->before_send_arg = arg;
}

void
herald_client_cancel_all(struct herald_client *c)
{
    while (c->transfers) {
        struct transfer *t = c->transfers;

        snprintf(t->error, sizeof(t->error), "canceled at shutdown");
        finish(c, t, HERALD_TRANSPORT_CANCELED);
    }
}

void
herald_client_free(struct herald_client *c)
{
    if (!c)
        return;
    herald_client_cancel_all(c);
    ev_timer_stop(c->loop, &c->timer);
    curl_multi_cleanup(c->multi);
    free(c);
}
