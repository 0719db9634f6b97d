/*
 * oauth.h - connecting and reconnecting accounts: the OAuth 2.0
 * authorization code flow from the core's side.
 *
 * herald_oauth_start() makes a single-use state (random, bound to the
 * network, the owner and, for a reauthorization, the account; valid for
 * ten minutes), a PKCE verifier when the network uses PKCE (stored
 * sealed with the state), and asks the plugin for the login URL.
 * herald_oauth_finish() takes the network's redirect back: it checks and
 * consumes the state, has the plugin exchange the code (with every
 * follow-up step and the identity), and stores the account as active.
 *
 * Invariant: a callback that fails any check stores nothing and leaves
 * every existing account as it was; a reauthorization that brings back
 * another identity than the account's is refused.
 *
 * Calling context: the loop thread.
 */
#ifndef HERALD_OAUTH_H
#define HERALD_OAUTH_H

#include <stdint.h>

#include "daemon.h"

/* How long a state stays valid. */
#define HERALD_OAUTH_STATE_TTL_MS (10 * 60 * 1000)

/* What starts an authorization. Strings are borrowed for the call. */
struct herald_oauth_request {
    const char *network;
    const char *owner_id;    /* the calling app's id of the person */
    const char *owner_email; /* where notices go; may be NULL */
    const char *return_url;  /* where the browser goes after; may be NULL */
    int64_t account_id;      /* account to reauthorize; 0 for a new one */
};

/*
 * Starts an authorization and returns the network's login URL in *url
 * (malloc()ed; the caller frees it). Returns 0, or a negative errno value
 * with err saying why: -ENOENT (no such network, or not enabled),
 * -EINVAL (bad input), -EPERM (return_url not allowed by the
 * configuration), -EIO (the store failed).
 */
int herald_oauth_start(struct herald_daemon *d,
                       const struct herald_oauth_request *req, char **url,
                       struct herald_error *err);

/* How a callback ended. Strings are borrowed for the done callback. */
struct herald_oauth_result {
    unsigned status;        /* HTTP status to answer with */
    const char *code;       /* stable: "connected", "invalid_state", ... */
    const char *message;    /* for people; never a secret */
    const char *network;    /* display name of the network, or NULL */
    int64_t account_id;     /* the account connected, or 0 */
    const char *username;   /* its username, or NULL */
    const char *return_url; /* where to send the browser, or NULL */
};

typedef void (*herald_oauth_done_fn)(const struct herald_oauth_result *r,
                                     void *udata);

/* The query parameters of a callback; each may be NULL. Borrowed. */
struct herald_oauth_callback {
    const char *state;
    const char *code;
    const char *error;
    const char *error_description;
};

/*
 * Completes an authorization for network from its callback parameters.
 * done(result, udata) is called exactly once, before this returns when the
 * callback is refused at once, or later from the loop when the plugin has
 * exchanged the code.
 */
void herald_oauth_finish(struct herald_daemon *d, const char *network,
                         const struct herald_oauth_callback *cb,
                         herald_oauth_done_fn done, void *udata);

#endif
