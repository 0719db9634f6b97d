/*
 * httpd.h - the HTTP API server, libmicrohttpd driven by the libev loop.
 *
 * The server owns the listening socket, its connections and their
 * limits. It reads a whole request (headers and body, within the limits),
 * then calls the handler once. The handler answers with
 * herald_request_respond() and its helpers, at once or later from another
 * loop callback: a request left unanswered when the handler returns is
 * suspended until it is answered.
 *
 * Calling context: the loop thread only. No thread per request: MHD runs
 * in external-epoll mode and the loop calls it when its epoll fd is ready.
 */
#ifndef HERALD_HTTPD_H
#define HERALD_HTTPD_H

#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "error.h"

struct herald_httpd;
struct herald_request;

struct herald_httpd_limits {
    size_t max_body_bytes;         /* larger bodies get 413 */
    size_t max_header_bytes;       /* larger headers get 431 */
    unsigned connection_timeout_s; /* idle time before a close */
    unsigned request_deadline_s;   /* whole request, headers to answer */
    unsigned max_connections;      /* further connections are refused */
};

/*
 * Called once per complete request. udata is what herald_httpd_start()
 * was given. The request is borrowed until it is answered.
 */
typedef void (*herald_httpd_handler)(struct herald_request *req, void *udata);

/*
 * Listens on address:port (port 0 picks a free port) and starts serving
 * on loop. Returns 0 and *out, or a negative errno value with err saying
 * "cannot listen on 'ADDRESS:PORT': REASON".
 */
int herald_httpd_start(struct ev_loop *loop, const char *address, int port,
                       const struct herald_httpd_limits *limits,
                       herald_httpd_handler handler, void *udata,
                       struct herald_httpd **out, struct herald_error *err);

/* Returns the port actually listened on. */
int herald_httpd_port(const struct herald_httpd *h);

/*
 * Has fn(arg) run before each request is handled and before each answer
 * is given, from then on. When it fails, the request is answered 503
 * store_unavailable instead: the daemon makes the store durable there
 * (store.h, herald_store_flush()), so no answer tells of a change that
 * could still be lost. fn may be NULL.
 */
void herald_httpd_set_before_answer(struct herald_httpd *h,
                                    int (*fn)(void *arg), void *arg);

/* Stops accepting new connections; requests in progress go on. */
void herald_httpd_quiesce(struct herald_httpd *h);

/* Returns the number of requests accepted but not yet answered. */
unsigned herald_httpd_in_flight(const struct herald_httpd *h);

/* Closes every connection and frees the server. */
void herald_httpd_stop(struct herald_httpd *h);

/* The request's method ("GET") and path without the query. */
const char *herald_request_method(const struct herald_request *req);
const char *herald_request_path(const struct herald_request *req);

/* Names the route pattern req matched ("/v1/posts/:id"), which its
 * answer is counted under in the metrics; route must live forever. */
void herald_request_set_route(struct herald_request *req, const char *route);

/* A request header (case-insensitive) or query argument, or NULL.
 * Borrowed until the request is answered. */
const char *herald_request_header(const struct herald_request *req,
                                  const char *name);
const char *herald_request_query(const struct herald_request *req,
                                 const char *name);

/* The body (NUL-terminated after len bytes); borrowed. */
const char *herald_request_body(const struct herald_request *req, size_t *len);

/*
 * Answers the request. The body is copied. Extra headers are
 * "Name: value" strings, NULL-terminated, or NULL. Returns 0, or -EALREADY
 * when the request was already answered, or -ENOMEM.
 */
int herald_request_respond(struct herald_request *req, unsigned status,
                           const char *content_type, const char *body,
                           size_t len, const char *const *headers);

/*
 * Answers with a JSON body. body is a new reference that this call
 * steals. Returns as herald_request_respond().
 */
int herald_request_respond_json(struct herald_request *req, unsigned status,
                                json_t *body);

/*
 * Answers with the API's error shape:
 * {"error": {"code": CODE, "message": MESSAGE}}. The message must not
 * carry a secret. Returns as herald_request_respond().
 */
int herald_request_error(struct herald_request *req, unsigned status,
                         const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
