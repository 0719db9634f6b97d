/*
 * instagram.h - what the Instagram plugin's files share.
 *
 * The plugin is four files: instagram.c (descriptor, configuration,
 * authorization, identity, refresh), instagram_errors.c (reading the
 * network's answers into typed outcomes), instagram_request.c (building
 * and sending requests) and instagram_publish.c (container, status
 * polls, media_publish, permalink, quota, lookup). Nothing here is
 * exported from the shared object: only herald_plugin_entry is.
 *
 * Invariant: every operation ends in exactly one host->complete(), after
 * which the plugin touches neither the op nor the operation's state.
 */
#ifndef HERALD_INSTAGRAM_H
#define HERALD_INSTAGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

/* A long-lived token lives 60 days when the network omits expires_in. */
#define IG_LONG_LIVED_S (60LL * 86400)

/* A long-lived token may be extended once it is this old. */
#define IG_REFRESH_MIN_AGE_MS (24LL * 3600 * 1000)

/* The wait after a publishing-cap refusal when the quota is unreadable. */
#define IG_CAP_FALLBACK_MS (3600LL * 1000)

/* The most seconds a number of seconds from the network is read as
 * (past the year 5000): a larger one would overflow a time in ms. */
#define IG_SECONDS_MAX 100000000000LL

/* Where a post's URL points when its permalink cannot be read. */
#define IG_FALLBACK_URL "https://www.instagram.com/"

/* The plugin's state, made by init() from the network's configuration. */
struct ig {
    const struct herald_host *host;
    const char *client_id;     /* borrowed from the config */
    const char *client_secret; /* borrowed from the config */
    char *scope;               /* comma-joined scopes */
    char *authorize_url;
    char *token_url;
    char *graph_url;  /* without a trailing slash */
    char *api_prefix; /* graph_url + "/" + api_version, or graph_url */
    long poll_limit;  /* container status polls per attempt */
    int64_t refresh_min_age_ms; /* a token may be extended this old */
};

/* What a request may have done, for reading its failure. */
enum ig_effect {
    IG_READ = 0,    /* reads or makes nothing a person would see */
    IG_PUBLISH = 1, /* media_publish: may have posted */
};

/* The Meta error envelope, as read from a body. Strings are borrowed. */
struct ig_error {
    long code;
    long subcode;
    int transient;
    const char *message;
};

/* An outcome with room for its message. */
struct ig_outcome {
    struct herald_outcome out;
    char message[320];
};

/*
 * Reads a finished request. Returns the parsed JSON object (new
 * reference) when the request succeeded: transport OK, status 2xx and an
 * object without an "error" member. Otherwise returns NULL and fills o
 * with the typed outcome; secret is a token the request carried (may be
 * NULL), kept out of the message. When err is not NULL it receives the
 * envelope's code and subcode (zero when none).
 */
json_t *ig_read(const struct ig *ig, const struct herald_http_response *resp,
                enum ig_effect effect, const char *secret,
                struct ig_outcome *o, struct ig_error *err);

/* Fills o with kind and a copy of message (may be NULL). */
void ig_outcome_set(struct ig_outcome *o, enum herald_outcome_kind kind,
                    const char *message);

/*
 * Returns "k1=v1&k2=v2..." from kv (name, value pairs ending with a NULL
 * name; pairs with a NULL value are skipped), every value percent-encoded.
 * The caller frees the string; NULL when out of memory or given more
 * than 16 pairs.
 */
char *ig_form(const struct ig *ig, const char *const *kv);

/* Returns base + "?" + ig_form(kv), or NULL when out of memory. */
char *ig_url(const struct ig *ig, const char *base, const char *path,
             const char *const *kv);

/*
 * Sends a request for op; body is a form (may be NULL). Returns 0, or a
 * negative errno value when it could not be queued (done is not called).
 */
int ig_send(const struct ig *ig, struct herald_op *op, const char *method,
            const char *url, const char *body, herald_http_done_fn done,
            void *udata);

/* Returns a string member, or the decimal text of an integer member, in
 * buf (size len); NULL when absent or of another type. */
const char *ig_json_id(json_t *obj, const char *key, char *buf, size_t len);

/* Frees s after overwriting it: for tokens. */
void ig_free_secret(char *s);

/* The publish and lookup operations (instagram_publish.c). */
int ig_publish(void *state, struct herald_op *op,
               const struct herald_account *account,
               const struct herald_post *post);
int ig_lookup(void *state, struct herald_op *op,
              const struct herald_account *account,
              const struct herald_post *post);

#endif
