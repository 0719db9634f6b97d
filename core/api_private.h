/*
 * api_private.h - what the API's files share: the route table's shape
 * and helpers for reading requests and writing answers.
 *
 * Private to api*.c. Every handler runs on the loop thread, is called
 * after authentication, and answers its request exactly once, at once or
 * later from another loop callback.
 */
#ifndef HERALD_API_PRIVATE_H
#define HERALD_API_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon.h"
#include "httpd.h"
#include "oauth.h"

/* Path parameters: the segments a route's ':' placeholders matched. */
#define API_MAX_PARAMS 4

struct api_params {
    char value[API_MAX_PARAMS][128];
    size_t count;
};

typedef void (*api_handler_fn)(struct herald_daemon *d,
                               struct herald_request *req,
                               const struct api_params *params);

/* Whether a route needs an API key. */
enum {
    API_KEY_NEEDED = 0,
    API_OPEN = 1,
    API_OPEN_IF_METRICS_PUBLIC = 2, /* open when metrics_public is set */
};

struct api_route {
    const char *method;
    const char *pattern; /* "/v1/accounts/:id"; ':' takes one segment */
    int open;            /* API_KEY_NEEDED, API_OPEN or
                            API_OPEN_IF_METRICS_PUBLIC */
    api_handler_fn fn;
};

/* The routes of each part of the API, each ended by a NULL method. */
extern const struct api_route herald_api_oauth_routes[];
extern const struct api_route herald_api_account_routes[];
extern const struct api_route herald_api_event_routes[];
extern const struct api_route herald_api_post_routes[];
extern const struct api_route herald_api_bulk_routes[];
extern const struct api_route herald_api_link_routes[];
extern const struct api_route herald_api_metrics_routes[];

/*
 * Parses the request body as a JSON object. Returns a new reference, or
 * NULL after answering 400 with what is wrong (the caller just returns).
 */
json_t *herald_api_body_object(struct herald_request *req);

/*
 * Reads an optional string member of obj into *out (borrowed). Returns 0,
 * or -1 after answering 400 naming the member (the caller returns).
 */
int herald_api_opt_string(struct herald_request *req, json_t *obj,
                          const char *name, const char **out);

/*
 * Reads the "limit" query parameter into *limit: def when absent, else 1
 * to max. Returns 0, or -1 after answering 400 (the caller returns).
 */
int herald_api_limit(struct herald_request *req, size_t def, size_t max,
                     size_t *limit);

/* Parses a positive decimal id. Returns it, or 0 when s is not one. */
int64_t herald_api_parse_id(const char *s);

/*
 * Parses a query time: RFC 3339 ("2026-12-03T10:00:00Z", offsets and
 * fractions allowed) or milliseconds since the epoch. Returns 0 and *ms,
 * or -1 when s is neither or is not after 1970-01-01T00:00:00Z.
 */
int herald_api_parse_time(const char *s, int64_t *ms);

/* Formats ms since the epoch as RFC 3339 UTC into buf (at least 32
 * bytes); 0 gives JSON null semantics to callers: returns NULL. */
const char *herald_api_format_time(int64_t ms, char *buf, size_t len);

/* A JSON string of an RFC 3339 time, or JSON null for 0. New ref. */
json_t *herald_api_time_json(int64_t ms);

/* An account as the API shows it (never a credential). New reference. */
json_t *herald_api_account_json(struct herald_daemon *d,
                                const struct herald_store_account *a);

/* A post as the API shows it. New reference. */
json_t *herald_api_post_json(struct herald_daemon *d,
                             const struct herald_store_post *p);

/*
 * The HTML page an OAuth callback answers a person with: r's outcome,
 * and for a connected account its network and username, every one
 * HTML-escaped and whole however long. Returns a new NUL-terminated
 * string and its length in *len, or NULL when out of memory.
 */
char *herald_api_callback_page(const struct herald_oauth_result *r,
                               size_t *len);

/*
 * The "Location: URL" header line that sends a person back to
 * r->return_url (which must be set) with the outcome in its query:
 * "status=CODE&account_id=ID" when connected, else
 * "status=error&error=CODE". Returns a new string, or NULL when out of
 * memory.
 */
char *herald_api_callback_location(const struct herald_oauth_result *r);

/* The current wall-clock time in milliseconds since the epoch. */
int64_t herald_api_now_ms(void);

#endif
