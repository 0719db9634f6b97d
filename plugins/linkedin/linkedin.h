/*
 * linkedin.h - what the files of the LinkedIn plugin share.
 *
 * linkedin.c owns the descriptor, the configuration, authorization, the
 * token endpoint and the identity; linkedin_targets.c finds the
 * organizations a member administers; linkedin_publish.c creates posts;
 * linkedin_errors.c reads LinkedIn's answers into typed outcomes;
 * linkedin_request.c builds headers, URLs and form bodies. Nothing here
 * is exported: the plugin's one public symbol is herald_plugin_entry().
 *
 * Every function is called on the core's loop thread. An operation keeps
 * its state in a heap struct until it calls host->complete() exactly once
 * and then frees that struct.
 */
#ifndef HERALD_LINKEDIN_H
#define HERALD_LINKEDIN_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

/* Room for the network's reason text in an outcome message. */
#define LI_MSG_MAX 512

/* The most seconds a number of seconds from the network is read as
 * (past the year 5000): a larger one would overflow a time in ms. */
#define LI_SECONDS_MAX 100000000000LL

/* The plugin's state: the host and the validated configuration. Every
 * string is borrowed from the config object, valid until fini(). */
struct linkedin {
    const struct herald_host *host;
    const char *client_id;
    const char *client_secret;
    const json_t *scopes; /* array of strings */
    const char *authorize_url;
    const char *token_url;
    const char *userinfo_url;
    const char *rest_url;    /* base of the versioned REST API */
    const char *feed_url;    /* public post URL prefix */
    const char *api_version; /* LinkedIn-Version, YYYYMM */
    int organizations;       /* post as administered organizations too */
    long timeout_ms;
    long upload_timeout_ms;
};

/* The state of one connection (exchange), kept across its requests. */
struct li_connect {
    struct linkedin *li;
    struct herald_op *op;
    char *access_token;
    char *refresh_token;
    int64_t access_expires_at;
    int64_t hard_deadline;
    char *id;   /* userinfo sub */
    char *name; /* userinfo name */
    json_t *targets;
    json_t *org_ids; /* organization ids found, while naming them */
    char msg[LI_MSG_MAX];
};

/* The headers of one request to LinkedIn. */
struct li_headers {
    char *auth;
    char *version;
    const char *list[7];
};

/*
 * Fills h with the headers of a request: "Authorization: Bearer token"
 * when token is not NULL, LinkedIn-Version and X-Restli-Protocol-Version
 * when rest is non-zero, and Content-Type when ctype is not NULL. Returns
 * 0 or -ENOMEM. li_headers_free() releases h either way.
 */
int li_headers_init(struct li_headers *h, const struct linkedin *li,
                    const char *token, int rest, const char *ctype);
void li_headers_free(struct li_headers *h);

/* Returns base and path joined by one slash (malloc()ed), or NULL. */
char *li_url(const char *base, const char *path);

/*
 * Returns a malloc()ed urlencoded form body made of pairs, a NULL-ended
 * list of name, value, name, value...; each value is percent-encoded with
 * host->url_encode(). NULL when out of memory.
 */
char *li_form(const struct linkedin *li, const char *const *pairs);

/*
 * Sends one request through host->http() with h's headers (may be NULL)
 * and a deadline of timeout_ms, or the configured timeout when 0. Same
 * return as host->http(): 0, or a negative errno value when it was not
 * queued (done is then not called).
 */
int li_send(const struct linkedin *li, struct herald_op *op,
            const char *method, const char *url, const struct li_headers *h,
            const char *body, size_t body_len, long timeout_ms,
            herald_http_done_fn done, void *udata);

/*
 * As li_send(), through host->http_repeatable(): for the request that
 * creates a post, which LinkedIn refuses to repeat (422 DUPLICATE_POST),
 * so it may share a connection.
 */
int li_send_repeatable(const struct linkedin *li, struct herald_op *op,
                       const char *method, const char *url,
                       const struct li_headers *h, const char *body,
                       size_t body_len, herald_http_done_fn done, void *udata);

/* How a failed request is read. */
struct li_call {
    /* Non-zero when the request may create a post: a timeout, a dropped
     * connection or a 5xx then leaves the outcome UNKNOWN. */
    int creates;
    /* Non-zero when the account holds a refresh token: plain expiry is
     * then TOKEN_EXPIRED rather than ACCESS_LOST. */
    int has_refresh;
    /* Non-zero when the post is written as an organization: a 403 is
     * then that organization's refusal, not the account's lost scope. */
    int as_organization;
};

/*
 * Reads a response of LinkedIn's API (anything but the token endpoint)
 * that is not a success into out. The message is written to msg (size
 * LI_MSG_MAX) and out->message points at it. For a duplicate post,
 * remote id and URL are written to id_buf and url_buf (LI_MSG_MAX each)
 * when the answer names the original.
 */
void li_api_outcome(const struct linkedin *li,
                    const struct herald_http_response *resp,
                    const struct li_call *call, struct herald_outcome *out,
                    char *msg, char *id_buf, char *url_buf);

/*
 * Reads a failed answer of the token endpoint into out. refreshing is
 * non-zero for the refresh grant; deadline is the account's hard deadline
 * then (0 when unknown). msg as above.
 */
void li_token_outcome(const struct linkedin *li,
                      const struct herald_http_response *resp, int refreshing,
                      int64_t deadline, struct herald_outcome *out, char *msg);

/* Reads the network's reason from an error body into msg, or a line
 * naming the HTTP status when it has none. */
void li_body_message(const struct linkedin *li,
                     const struct herald_http_response *resp, char *msg);

/* Writes "<feed_url><urn>/" into buf (LI_MSG_MAX). */
void li_post_url(const struct linkedin *li, const char *urn, char *buf);

/*
 * Starts looking up the organizations the connecting member administers;
 * calls li_connect_finish(c) when done, whatever happened (a failure
 * leaves c->targets an empty array and is logged).
 */
void li_targets_fetch(struct li_connect *c);

/* Completes a connection with DONE and frees c. */
void li_connect_finish(struct li_connect *c);

/* The publish operation (linkedin_publish.c). */
int li_publish(void *state, struct herald_op *op,
               const struct herald_account *account,
               const struct herald_post *post);

/*
 * Returns a malloc()ed copy of text with every character of LinkedIn's
 * "little" text format that is reserved (\ | { } @ [ ] ( ) < > # * _ ~)
 * preceded by a backslash, so LinkedIn shows it as written; NULL when
 * out of memory.
 */
char *li_escape_commentary(const char *text);

#endif
