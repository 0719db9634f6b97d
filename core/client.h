/*
 * client.h - the daemon's outgoing HTTP client.
 *
 * One libcurl multi handle, driven by the libev loop through curl's
 * socket and timer callbacks, carries every request herald sends to a
 * network, and every mail the notifier sends over SMTP. Requests never
 * block the loop; each ends in exactly one call of
 * its completion callback, always from a loop callback and never from
 * inside herald_client_send().
 *
 * Calling context: the loop thread only.
 */
#ifndef HERALD_CLIENT_H
#define HERALD_CLIENT_H

#include <stddef.h>

#include <ev.h>

#include "herald/host.h"

struct herald_client;

/* A request; everything is borrowed and copied by herald_client_send(). */
struct herald_client_request {
    const char *method;
    const char *url;
    const char *const *headers; /* "Name: value", NULL-terminated */
    const char *body;
    size_t body_len;
    long timeout_ms; /* 0: the client's default */
    /* Non-zero: a request other than GET may go over a reused connection
     * (libcurl may then send it twice); zero: it gets a new one. */
    int reuse;
};

/* A finished request, borrowed for the completion callback only. */
struct herald_client_response {
    enum herald_transport transport;
    long status;
    const char *body; /* NUL-terminated after body_len bytes */
    size_t body_len;
    const char *error;   /* curl's reason when transport is not OK */
    const void *headers; /* for herald_client_header() */
};

typedef void (*herald_client_done_fn)(
    const struct herald_client_response *resp, void *udata);

/*
 * Creates a client on loop. default_timeout_ms applies to requests that
 * set none; max_body caps a response body (a larger one ends the request
 * as HERALD_TRANSPORT_BROKEN). Returns 0 and *out (freed with
 * herald_client_free()), or a negative errno value.
 */
int herald_client_new(struct ev_loop *loop, long default_timeout_ms,
                      size_t max_body, struct herald_client **out);

/*
 * Queues a request. done(resp, udata) is called exactly once, later, from
 * a loop callback. Returns 0, or a negative errno value when the request
 * could not be queued (then done is never called): -EINVAL for a missing
 * method or a URL that is not http(s), -ENOMEM.
 */
int herald_client_send(struct herald_client *c,
                       const struct herald_client_request *req,
                       herald_client_done_fn done, void *udata);

/*
 * Returns the value of header name in a response (case-insensitive,
 * surrounding blanks trimmed), borrowed for the callback, or NULL.
 */
const char *herald_client_header(const void *headers, const char *name);

/*
 * A mail for herald_client_send_mail(); everything is borrowed and
 * copied. message is the whole RFC 5322 message with CRLF line ends.
 */
struct herald_client_mail {
    const char *url;     /* "smtp://host:port" or "smtps://host:port" */
    const char *from;    /* envelope sender: a bare address */
    const char *rcpt;    /* the one recipient: a bare address */
    const char *message; /* may hold a one-time link: wiped when done */
    size_t message_len;
    const char *username; /* NULL: no authentication */
    const char *password; /* secret; NULL with no username */
    int require_tls;      /* STARTTLS required on smtp:// (always TLS
                             on smtps://) */
    long timeout_ms;      /* 0: the client's default */
};

/*
 * Queues a mail, sent over SMTP on the same multi handle as requests.
 * done(resp, udata) is called exactly once, later, from a loop callback:
 * resp->transport says whether the server took the mail
 * (HERALD_TRANSPORT_OK), resp->status is the server's last reply code
 * (250, 550, 421...; 0 when none came) and resp->error curl's reason,
 * which never holds the password. Returns 0, or -EINVAL (a URL that is
 * not smtp(s), no sender, no recipient or no message; done is never
 * called), or -ENOMEM.
 */
int herald_client_send_mail(struct herald_client *c,
                            const struct herald_client_mail *mail,
                            herald_client_done_fn done, void *udata);

/* Returns the number of requests in flight. */
size_t herald_client_pending(const struct herald_client *c);

/*
 * Has fn(arg) run before any request or mail leaves, from then on: a
 * request is not sent, and its send fails with fn's negative errno value,
 * when fn fails. The daemon makes the store durable there (store.h,
 * herald_store_flush()). fn may be NULL.
 */
void herald_client_set_before_send(struct herald_client *c,
                                   int (*fn)(void *arg), void *arg);

/*
 * Ends every request in flight: each completion callback runs once with
 * HERALD_TRANSPORT_CANCELED before this returns.
 */
void herald_client_cancel_all(struct herald_client *c);

/* Cancels what is in flight (as above) and frees the client. */
void herald_client_free(struct herald_client *c);

#endif
