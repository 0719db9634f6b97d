/*
 * facebook.h - what the files of the Facebook plugin share.
 *
 * The plugin is split by job: facebook.c holds the descriptor, the
 * configuration, the login URL, the identity check and revocation;
 * facebook_request.c builds Graph API URLs, form bodies and requests;
 * facebook_errors.c reads every Graph API reply into a typed outcome;
 * facebook_exchange.c runs the code exchange and its follow-up steps and
 * the re-exchange behind refresh(); facebook_publish.c posts to a Page.
 *
 * Nothing here is exported from the shared object: only the entry symbol
 * is. Every function runs on the core's loop thread.
 *
 * The one rule every file keeps: no token, secret or code ever reaches a
 * log line or an outcome message. Completions go through fb_complete(),
 * which withholds a network message that quotes a secret.
 */
#ifndef HERALD_FACEBOOK_H
#define HERALD_FACEBOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "herald/plugin.h"

/* Assumed lifetime of a long-lived user token whose expires_in is
 * missing: Meta documents "about 60 days". */
#define FB_LONG_LIVED_MS (60LL * 24 * 3600 * 1000)

/* The most seconds a number of seconds from the network is read as
 * (past the year 5000): a larger one would overflow a time in ms. */
#define FB_SECONDS_MAX 100000000000LL

/* The plugin's state, made by init() from the validated configuration. */
struct fb {
    const struct herald_host *host;
    const char *client_id;     /* borrowed from the config */
    const char *client_secret; /* borrowed from the config */
    const char *version;       /* "v25.0", borrowed from the config */
    const json_t *scopes;      /* array of strings, borrowed */
    char *login_base;          /* owned, no trailing slash */
    char *graph_base;          /* owned, no trailing slash */
    long long pages_limit;     /* limit= of /me/accounts */
    long long pages_requests;  /* most /me/accounts requests per exchange */
};

/* A growing string. On allocation failure it sets failed and stops
 * growing; the caller checks failed once at the end. */
struct fb_buf {
    char *s;
    size_t len;
    size_t cap;
    int failed;
};

/* Appends s. */
void fb_buf_add(struct fb_buf *b, const char *s);

/* Appends "name=value" with value percent-encoded, preceded by '&'
 * unless the buffer is empty or ends with '?'. A NULL value appends
 * nothing. */
void fb_buf_param(struct fb_buf *b, const struct fb *fb, const char *name,
                  const char *value);

/* Starts a Graph API URL: "{graph_base}/{version}{path}". path starts
 * with '/'. */
void fb_buf_graph(struct fb_buf *b, const struct fb *fb, const char *path);

/* Frees the buffer's string and empties it. */
void fb_buf_free(struct fb_buf *b);

/*
 * Sends one request for op: method and url as given (what names it in
 * the debug log, such as "GET /me"; never the URL), with the bearer
 * token in an Authorization header when bearer is not NULL, and form (an
 * urlencoded body) when not NULL. Returns 0, or a negative errno value
 * when the request was not queued (done will not be called).
 */
int fb_send(const struct fb *fb, struct herald_op *op, const char *what,
            const char *method, const char *url, const char *bearer,
            const char *form, herald_http_done_fn done, void *udata);

/* An outcome with room for its message. */
struct fb_outcome {
    struct herald_outcome o;
    char message[512];
};

/* Sets kind and a message (formatted; never pass a secret). */
void fb_outcome_set(struct fb_outcome *out, enum herald_outcome_kind kind,
                    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* How a request counts for reading its failure. */
enum fb_call {
    FB_CALL_READ = 0,   /* a retry cannot do harm */
    FB_CALL_CREATE = 1, /* may create a post: an unclear end is UNKNOWN */
};

/*
 * Reads a response. Returns a new reference to its JSON object when the
 * request succeeded (2xx with a JSON object that carries no "error"), and
 * NULL otherwise, with *out filled with the typed outcome: transport
 * failures, the Meta error envelope read by code, subcode and
 * is_transient, usage headers for rate limits, other statuses. what names
 * the request in messages ("GET /me").
 */
json_t *fb_read(const struct fb *fb, const struct herald_http_response *resp,
                enum fb_call call, const char *what, struct fb_outcome *out);

/* Fills *out for a 2xx reply that lacks what the step needs: UNKNOWN for
 * a create, RETRY_LATER otherwise. */
void fb_unreadable(const struct herald_http_response *resp, enum fb_call call,
                   const char *what, struct fb_outcome *out);

/* Fills *out with RETRY_LATER for a follow-up request that could not be
 * queued (rc from host->http()). */
void fb_unsent(int rc, const char *what, struct fb_outcome *out);

/*
 * Completes op with out and result (may be NULL), after replacing the
 * message with a neutral one if it quotes any of the nsecrets strings
 * in secrets (NULL entries are skipped). After this call op is invalid.
 */
void fb_complete(const struct fb *fb, struct herald_op *op,
                 struct fb_outcome *out, const struct herald_result *result,
                 const char *const *secrets, size_t nsecrets);

/*
 * The descriptor's operations that live in their own files. Each returns
 * 0 when the operation started (it completes exactly once, possibly
 * before returning) or a negative errno value when it could not start
 * (no completion). state is the struct fb; req, account and post are
 * borrowed from the core until completion.
 */

/* Code exchange, long-lived exchange, identity, Pages
 * (facebook_exchange.c). */
int fb_exchange(void *state, struct herald_op *op,
                const struct herald_exchange_request *req);

/* Re-exchanges a still valid long-lived token; ACCESS_LOST EXPIRED once
 * it has ended (facebook_exchange.c). */
int fb_refresh(void *state, struct herald_op *op,
               const struct herald_account *account);

/* Posts to the Page post->target with its Page token
 * (facebook_publish.c). */
int fb_publish(void *state, struct herald_op *op,
               const struct herald_account *account,
               const struct herald_post *post);

#endif
