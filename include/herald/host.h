/*
 * herald/host.h - what the core lends a plugin.
 *
 * The core hands each plugin one constant struct herald_host at init().
 * Through it a plugin logs, sends HTTP requests on the core's event loop,
 * reads the clock, draws random bytes, parses JSON and ends operations.
 * A plugin keeps the pointer until fini() and never calls into the core
 * any other way.
 *
 * Every function here is called on the core's loop thread: from inside a
 * descriptor operation or from a callback the core invoked. None blocks.
 *
 * Compatibility: members are only appended; a plugin that needs a member
 * newer than its host checks host->size first.
 */
#ifndef HERALD_HOST_H
#define HERALD_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One running operation (exchange, identity, refresh, publish, lookup or
 * revoke). Opaque and owned by the core; valid from the operation's start
 * until the plugin calls host->complete() on it.
 */
struct herald_op;

/* An outgoing HTTP request. Everything is borrowed for the call that
 * sends it; the core copies what it needs. */
struct herald_http_request {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *url;    /* absolute http(s) URL */
    /* "Name: value" strings, NULL-terminated; may be NULL. */
    const char *const *headers;
    const char *body; /* may be NULL */
    size_t body_len;
    /* Whole-request deadline in milliseconds; 0 takes the core's
     * default. */
    long timeout_ms;
};

/* How a request ended below HTTP. */
enum herald_transport {
    HERALD_TRANSPORT_OK = 0,       /* a complete response arrived */
    HERALD_TRANSPORT_CONNECT = 1,  /* never connected: nothing was sent */
    HERALD_TRANSPORT_TIMEOUT = 2,  /* deadline passed; may have arrived */
    HERALD_TRANSPORT_BROKEN = 3,   /* connection lost mid-way */
    HERALD_TRANSPORT_CANCELED = 4, /* the core is shutting down */
};

/* A response, borrowed for the duration of the completion callback. */
struct herald_http_response {
    enum herald_transport transport;
    long status; /* HTTP status; 0 unless transport is OK */
    const char *body;
    size_t body_len;
    /* Opaque; read with host->response_header(). */
    const void *headers;
};

/*
 * Called once when a request ends, in any way. op is the operation the
 * request was sent for, udata what the plugin passed with it.
 */
typedef void (*herald_http_done_fn)(struct herald_op *op,
                                    const struct herald_http_response *resp,
                                    void *udata);

struct herald_outcome;
struct herald_result;

struct herald_host {
    uint32_t size; /* sizeof(struct herald_host) as the core built it */

    /*
     * Logs one line at a syslog level (LOG_ERR .. LOG_DEBUG) under the
     * plugin's name and the operation's account and post ids (op may be
     * NULL). Never pass a token, secret, code or request body.
     */
    void (*log)(struct herald_op *op, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /*
     * Sends a request on the core's loop. done is called exactly once,
     * later, never from inside this call. Returns 0, or a negative errno
     * value when the request could not be queued (done is then not
     * called).
     */
    int (*http)(struct herald_op *op, const struct herald_http_request *req,
                herald_http_done_fn done, void *udata);

    /*
     * Returns the value of response header name (case-insensitive),
     * borrowed for the callback, or NULL when absent.
     */
    const char *(*response_header)(const struct herald_http_response *resp,
                                   const char *name);

    /* Wall-clock time in milliseconds since the epoch. */
    int64_t (*now_ms)(void);

    /* Fills buf with len cryptographically random bytes. */
    void (*random)(void *buf, size_t len);

    /*
     * Parses len bytes of JSON. Returns a new reference (the caller
     * json_decref()s it), or NULL when the text is not JSON.
     */
    json_t *(*json_parse)(const char *text, size_t len);

    /*
     * Percent-encodes s for a URL query or form body (RFC 3986 unreserved
     * characters stay). Returns a malloc()ed string the caller frees, or
     * NULL when out of memory.
     */
    char *(*url_encode)(const char *s);

    /*
     * Records intermediate state of a publish attempt (such as a media
     * container id) durably before returning, so a crash can be
     * reconciled. state is borrowed. Returns 0, or a negative errno value
     * when it could not be stored: the plugin must then not send the
     * request that would create the post, and completes with RETRY_LATER.
     */
    int (*checkpoint)(struct herald_op *op, json_t *state);

    /*
     * Ends the operation with its typed outcome; result carries what the
     * operation produced on DONE (may be NULL). Both are borrowed. After
     * this call op is invalid. Called exactly once per started operation.
     */
    void (*complete)(struct herald_op *op,
                     const struct herald_outcome *outcome,
                     const struct herald_result *result);

    /*
     * Since ABI 1.1 (check size first, see HERALD_HOST_HAS()). As http,
     * for a request the network answers harmlessly when it arrives twice:
     * it refuses the repeat as a duplicate, or the request carries an
     * idempotency key. Such a request may go over a reused connection,
     * on which the transfer library may send it again by itself when the
     * connection turns out closed; http gives a request that may create
     * a post a connection of its own instead. Where the operator does
     * not allow resends (resend_unknown false) it is sent as http sends.
     */
    int (*http_repeatable)(struct herald_op *op,
                           const struct herald_http_request *req,
                           herald_http_done_fn done, void *udata);
};

/* Whether host, as the core built it, has member (a function pointer). */
#define HERALD_HOST_HAS(host, member)                                         \
    ((host)->size >=                                                          \
         offsetof(struct herald_host, member) + sizeof((host)->member) &&     \
     (host)->member != NULL)

#ifdef __cplusplus
}
#endif

#endif
