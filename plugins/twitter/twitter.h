/*
 * twitter.h - what the files of the X plugin share.
 *
 * twitter.c holds the descriptor, the configuration, the authorization URL,
 * the identity operation and the request helpers; twitter_token.c the
 * token endpoint (exchange, refresh, revoke); twitter_publish.c posting;
 * twitter_errors.c turns X's error answers into typed outcomes.
 *
 * Every operation owns one struct tw_call from its start until
 * tw_finish(), which calls host->complete() exactly once and frees it.
 * Nothing here may put a token, secret, code or verifier into a log line
 * or an outcome message.
 */
#ifndef HERALD_TWITTER_H
#define HERALD_TWITTER_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

/* The plugin's state: the host and the configuration, read at init(). */
struct twitter {
    const struct herald_host *host;
    const json_t *config; /* borrowed until fini() */
    const char *client_id;
    const char *authorize_url;
    const char *token_url;
    const char *revoke_url;
    const char *api_base;    /* "https://api.x.com" */
    const char *api_version; /* "2" */
    const char *web_base;    /* "https://x.com" */
    int confidential;        /* HTTP Basic client authentication */
    char *basic_header;      /* "Authorization: Basic ...", secret */
};

/* Where a response is read, which decides what an error means. */
enum tw_context {
    TW_CTX_EXCHANGE,  /* token endpoint, authorization_code grant */
    TW_CTX_REFRESH,   /* token endpoint, refresh_token grant */
    TW_CTX_REVOKE,    /* revocation endpoint */
    TW_CTX_NEW_TOKEN, /* API call with a token just issued */
    TW_CTX_API,       /* API call that changes nothing */
    TW_CTX_CREATE,    /* API call that may create a post */
};

/* One running operation. */
struct tw_call {
    struct twitter *tw;
    struct herald_op *op;
    const struct herald_account *account; /* borrowed; NULL for exchange */
    json_t *token; /* exchange: the token response, new reference */
    /* exchange: the request, borrowed until complete() */
    const struct herald_exchange_request *exchange;
    int attempts;      /* exchange: identity requests sent */
    int step;          /* revoke: which token is being revoked */
    char message[512]; /* the outcome message, when one is built */
};

/* Outcome messages are cut to this many bytes. */
#define TW_MESSAGE_MAX 400

/* The most seconds a number of seconds from the network is read as
 * (past the year 5000): a larger one would overflow a time in ms. */
#define TW_SECONDS_MAX 100000000000LL

/* ---- twitter.c ---------------------------------------------------- */

/* Allocates a call for op; NULL when out of memory. */
struct tw_call *tw_call_new(struct twitter *tw, struct herald_op *op,
                            const struct herald_account *account);

/* Ends the call's operation with out and result (both borrowed), then
 * frees the call. The call and op are invalid afterwards. */
void tw_finish(struct tw_call *call, const struct herald_outcome *out,
               const struct herald_result *result);

/* Ends the call with kind and a fixed message (no secret). */
void tw_finish_simple(struct tw_call *call, enum herald_outcome_kind kind,
                      const char *message);

/* Returns "{api_base}/{api_version}/{path}" (malloc()ed) or NULL. */
char *tw_api_url(const struct twitter *tw, const char *path);

/* Returns "Authorization: Bearer TOKEN" (malloc()ed, secret) or NULL. */
char *tw_bearer_header(const char *token);

/* Overwrites and frees a string that held a secret. NULL is fine. */
void tw_free_secret(char *s);

/*
 * Appends "&name=value" (no "&" first) to the form in *form, encoding the
 * value with host->url_encode(). A NULL value adds nothing. Returns 0 or
 * -ENOMEM; on failure *form is freed and set to NULL.
 */
int tw_form_add(const struct twitter *tw, char **form, const char *name,
                const char *value);

/*
 * Sends a form POST to url for call, with the client authentication the
 * configuration asks for. form is borrowed. Returns what host->http()
 * returns.
 */
int tw_post_form(struct tw_call *call, const char *url, const char *form,
                 herald_http_done_fn done);

/* Sends GET {api}/users/me with token for call; host->http()'s return. */
int tw_get_me(struct tw_call *call, const char *token,
              herald_http_done_fn done);

/*
 * Reads a 200 answer of /users/me into *id (strings borrowed from *body,
 * a new reference the caller releases). Returns 0, or -1 with *body
 * NULL when the answer is not an identity.
 */
int tw_read_identity(const struct twitter *tw,
                     const struct herald_http_response *resp, json_t **body,
                     struct herald_identity *id);

/* ---- twitter_token.c ---------------------------------------------- */

/*
 * The descriptor's exchange, refresh and revoke operations (state is the
 * struct twitter). Each returns 0 once started (complete() follows,
 * exactly once) or a negative errno value when nothing was started.
 */
int tw_exchange(void *state, struct herald_op *op,
                const struct herald_exchange_request *req);
int tw_refresh(void *state, struct herald_op *op,
               const struct herald_account *account);
int tw_revoke(void *state, struct herald_op *op,
              const struct herald_account *account);

/* ---- twitter_publish.c -------------------------------------------- */

/* The descriptor's publish operation; same return convention. */
int tw_publish(void *state, struct herald_op *op,
               const struct herald_account *account,
               const struct herald_post *post);

/* ---- twitter_errors.c --------------------------------------------- */

/*
 * Reads a response that is not the success the caller expected into
 * *out: the outcome kind, reason, rate-limit scope and retry time,
 * http_status, and a message copied into call->message from X's body
 * (with every secret of the call scrubbed out). ctx says where the
 * response came from.
 */
void tw_read_error(struct tw_call *call,
                   const struct herald_http_response *resp,
                   enum tw_context ctx, struct herald_outcome *out);

/*
 * Copies text into call->message, cut to TW_MESSAGE_MAX bytes, replaced
 * by a neutral text when it contains one of the call's secrets. Returns
 * call->message.
 */
const char *tw_set_message(struct tw_call *call, const char *text);

#endif
