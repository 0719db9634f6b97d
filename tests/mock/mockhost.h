/*
 * mockhost.h - a stand-in for the core, for unit tests of one plugin.
 *
 * It implements struct herald_host without a loop or sockets: a plugin's
 * host->http() call is recorded (method, URL, headers, body) and stays
 * pending until the test answers it with mock_respond(); host->complete()
 * records the outcome and a copy of the result. A test therefore checks
 * the exact requests a plugin sends and how it reads each reply.
 *
 * Single-threaded; one operation at a time.
 */
#ifndef HERALD_MOCKHOST_H
#define HERALD_MOCKHOST_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

#define MOCK_MAX_HEADERS 16

/* One request the plugin sent. Strings are owned by the mock. */
struct mock_request {
    char *method;
    char *url;
    char *headers[MOCK_MAX_HEADERS + 1];
    char *body;
    int repeatable; /* sent through host->http_repeatable() */
};

/* What complete() received, copied. */
struct mock_completion {
    int completed; /* how many times complete() was called */
    struct herald_outcome outcome;
    char *message;
    char *remote_id;
    char *remote_url;
    int has_credentials;
    char *access_token;
    char *refresh_token;
    int64_t access_expires_at;
    int64_t hard_deadline;
    json_t *extra; /* new reference or NULL */
    int has_identity;
    char *identity_id;
    char *username;
    char *display_name;
    json_t *targets;    /* new reference or NULL */
    json_t *checkpoint; /* the last checkpoint() state, or NULL */
};

/* The host to hand to the plugin's init(). */
const struct herald_host *mock_host(void);

/* The wall clock the host reports, in ms; tests may set it. */
extern int64_t mock_now_ms;

/* Starts a new operation: forgets requests and completion. Returns it. */
struct herald_op *mock_op_begin(void);

/* Number of requests sent in this operation, and the i-th of them. */
size_t mock_request_count(void);
const struct mock_request *mock_request(size_t i);

/* Returns the value of a form or query field name of request i (URL
 * query for GET, urlencoded body otherwise), decoded, or NULL. The
 * string lives until the next mock_op_begin(). */
const char *mock_field(size_t i, const char *name);

/* Returns the value of header name in request i, or NULL. */
const char *mock_header(size_t i, const char *name);

/* Answers the oldest unanswered request. headers: "Name: value"
 * strings, NULL-terminated, or NULL. Returns 0, or -1 when none is
 * pending. */
int mock_respond(long status, const char *const *headers, const char *body);

/* As mock_respond(), with a body of len bytes that may hold NUL bytes.
 * The plugin sees a copy of exactly len bytes followed by a NUL, as the
 * core's client hands it. */
int mock_respond_n(long status, const char *const *headers, const char *body,
                   size_t len);

/* Ends the oldest unanswered request with a transport failure. */
int mock_fail(enum herald_transport transport);

/* Number of requests sent but not answered yet. */
size_t mock_pending(void);

/* The completion of the current operation. */
const struct mock_completion *mock_completion(void);

#endif
