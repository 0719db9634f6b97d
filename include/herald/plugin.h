/*
 * herald/plugin.h - the network plugin ABI.
 *
 * A network plugin is a shared object that exports exactly one symbol,
 * herald_plugin_entry (HERALD_PLUGIN_ENTRY_NAME), a function returning a
 * pointer to a constant struct herald_plugin. The descriptor declares what
 * the network is (its token model, reconnect window, content rules and
 * configuration keys) and holds the operations the core calls: build the
 * authorization URL, exchange a code, fetch the identity, refresh, publish,
 * and optionally look a post up and revoke.
 *
 * This header and herald/host.h are all a plugin needs. A plugin never
 * links against the core: everything it needs from the core (logging,
 * HTTP, the clock, random bytes, JSON helpers) arrives in the struct
 * herald_host handed to init(). A plugin never blocks, opens no sockets
 * and starts no threads: it describes requests, the core performs them on
 * its event loop and calls back, and every operation ends in exactly one
 * call to host->complete() with a typed outcome.
 *
 * Calling context: every function of the descriptor is called on the
 * core's loop thread, never concurrently with another call into the same
 * plugin. Callbacks the plugin registers through the host run on the same
 * thread.
 *
 * Compatibility rules the core enforces when it loads a plugin:
 *   - abi_major must equal HERALD_ABI_MAJOR;
 *   - abi_minor must not be newer than the core's HERALD_ABI_MINOR;
 *   - size must cover every mandatory member (HERALD_PLUGIN_MIN_SIZE);
 *     members past size are treated as absent;
 *   - signature must equal the core's HERALD_BUILD_SIGNATURE;
 *   - name must be unique among loaded plugins and every mandatory
 *     operation must be present.
 * Minor versions only append members at the end of structs; a major
 * version may change anything.
 */
#ifndef HERALD_PLUGIN_H
#define HERALD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HERALD_ABI_MAJOR 1
#define HERALD_ABI_MINOR 1

#define HERALD_STR_(x) #x
#define HERALD_STR(x)  HERALD_STR_(x)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HERALD_ENDIAN_ "be"
#else
#define HERALD_ENDIAN_ "le"
#endif

/*
 * What a plugin and the core must agree on beyond the version numbers:
 * pointer width, byte order and the major version of jansson, whose json_t
 * crosses the boundary.
 */
#define HERALD_BUILD_SIGNATURE                                                \
    "herald-abi-" HERALD_STR(HERALD_ABI_MAJOR) "/ptr" HERALD_STR(             \
        __SIZEOF_POINTER__) "/" HERALD_ENDIAN_                                \
                            "/jansson-" HERALD_STR(JANSSON_MAJOR_VERSION)

/* The one exported symbol of a plugin. */
#define HERALD_PLUGIN_ENTRY_NAME "herald_plugin_entry"

#if defined(__GNUC__)
#define HERALD_EXPORT __attribute__((visibility("default")))
#else
#define HERALD_EXPORT
#endif

/*
 * Declares the entry function. Use it once in a plugin:
 *
 *     HERALD_PLUGIN_ENTRY { return &my_descriptor; }
 */
#define HERALD_PLUGIN_ENTRY                                                   \
    HERALD_EXPORT const struct herald_plugin *herald_plugin_entry(void);      \
    const struct herald_plugin *herald_plugin_entry(void)

/* How a network's access is kept alive, declared by the plugin. */
enum herald_token_model {
    /* Each refresh returns a new refresh token; the old one dies. (X) */
    HERALD_TOKEN_ROTATING_REFRESH = 1,
    /* A refresh token valid until a deadline fixed at first consent,
     * not extended by refreshing. (LinkedIn) */
    HERALD_TOKEN_FIXED_DEADLINE_REFRESH = 2,
    /* The access token extends itself before it expires. (Instagram) */
    HERALD_TOKEN_SELF_EXTENDING = 3,
    /* Only exchanged at connect time; ends at a hard deadline. (Facebook) */
    HERALD_TOKEN_EXCHANGE_ONLY = 4,
    /* Tokens that do not expire on their own. */
    HERALD_TOKEN_NON_EXPIRING = 5,
};

/* Capability bits of struct herald_plugin.capabilities. */
#define HERALD_CAP_PKCE    (1u << 0) /* authorization uses PKCE (S256) */
#define HERALD_CAP_REFRESH (1u << 1) /* refresh() renews without a person */
#define HERALD_CAP_LOOKUP  (1u << 2) /* lookup() can find a post */
#define HERALD_CAP_REVOKE  (1u << 3) /* revoke() is implemented */
#define HERALD_CAP_TARGETS (1u << 4) /* accounts have posting targets */
/* A post sent again is answered as a duplicate (by the network's own
 * check, or by the plugin resuming from its checkpoint), so the core may
 * resend an attempt whose outcome is unknown without posting twice. */
#define HERALD_CAP_DEDUPLICATES (1u << 5)

/* How the text length of a post is counted. */
enum herald_text_count {
    /* Unicode code points; with a url_weight above 0, every URL counts
     * as url_weight instead. (Mastodon: 23) */
    HERALD_COUNT_CODEPOINTS = 1,
    /* Weighted: most Latin characters weigh 1, CJK and emoji 2, and every
     * URL counts as url_weight. (X) */
    HERALD_COUNT_WEIGHTED = 2,
    /* UTF-16 code units. */
    HERALD_COUNT_UTF16 = 3,
};

/* Whether a post's media is required, allowed or refused. */
enum herald_media_rule {
    HERALD_MEDIA_NONE = 0,
    HERALD_MEDIA_ALLOWED = 1,
    HERALD_MEDIA_REQUIRED = 2,
};

/* The content rules the core validates posts against. */
struct herald_content_rules {
    uint32_t max_text;               /* 0: no limit */
    enum herald_text_count counting; /* how max_text is counted */
    uint32_t url_weight;             /* WEIGHTED; CODEPOINTS when above 0 */
    enum herald_media_rule media;
    uint32_t max_media; /* images per post; 0 with HERALD_MEDIA_NONE */
    int text_required;  /* non-zero: a post without text is refused */
    int link_allowed;   /* non-zero: a separate link may be attached */
    /* Non-zero: every post names one of the account's targets (a
     * Facebook Page); zero: a target is optional (a LinkedIn page) or
     * meaningless. */
    int target_required;
    /* When the plugin appends the link to the text, what it puts between
     * them (" " on X, "\n\n" in an Instagram caption), so the text limit
     * counts both; NULL when the link travels apart from the text. */
    const char *link_separator;
};

/* Types of configuration values. */
enum herald_config_type {
    HERALD_CONF_STRING = 1,
    HERALD_CONF_INTEGER = 2,
    HERALD_CONF_BOOLEAN = 3,
    HERALD_CONF_STRING_ARRAY = 4,
    HERALD_CONF_URL = 5, /* a string that must be an http(s) URL */
};

/*
 * One key of a network's configuration file. A plugin declares an array of
 * these ending with an entry whose name is NULL. The core validates the
 * network's file against it (unknown keys are errors), fills defaults,
 * resolves secret references ({"env": "NAME"} or {"file": "PATH"}) for
 * keys marked secret, and hands the plugin the resulting object.
 */
struct herald_config_key {
    const char *name;
    enum herald_config_type type;
    int required;             /* non-zero: the key must be present */
    int secret;               /* non-zero: never shown, may be a reference */
    const char *default_json; /* JSON text of the default, or NULL */
    const char *help;         /* one line: what the key is for */
};

/* The kind of a typed outcome. */
enum herald_outcome_kind {
    HERALD_OUTCOME_DONE = 1,          /* succeeded; result may follow */
    HERALD_OUTCOME_RETRY_LATER = 2,   /* transient; retry at retry_at */
    HERALD_OUTCOME_RATE_LIMITED = 3,  /* wait until retry_at */
    HERALD_OUTCOME_TOKEN_EXPIRED = 4, /* refresh, then try again */
    HERALD_OUTCOME_ACCESS_LOST = 5,   /* a person must reconnect */
    HERALD_OUTCOME_REJECTED = 6,      /* permanent; message says why */
    HERALD_OUTCOME_DUPLICATE = 7,     /* already published */
    HERALD_OUTCOME_UNKNOWN = 8,       /* may or may not have happened */
};

/* Why access was lost, for HERALD_OUTCOME_ACCESS_LOST. */
enum herald_access_reason {
    HERALD_ACCESS_EXPIRED = 1,            /* expired for good */
    HERALD_ACCESS_PASSWORD_CHANGED = 2,   /* password or security change */
    HERALD_ACCESS_REVOKED = 3,            /* the person revoked access */
    HERALD_ACCESS_APP_REMOVED = 4,        /* the person removed the app */
    HERALD_ACCESS_PERMISSION_MISSING = 5, /* a needed scope is missing */
    HERALD_ACCESS_INVALID = 6,            /* the token is not recognised */
};

/* Who a rate limit applies to, for HERALD_OUTCOME_RATE_LIMITED. */
enum herald_rate_scope {
    HERALD_RATE_USER = 1, /* this account only */
    HERALD_RATE_APP = 2,  /* every account of the network */
};

/*
 * The one typed outcome that ends an operation. Strings are borrowed: the
 * core copies what it keeps before host->complete() returns.
 */
struct herald_outcome {
    enum herald_outcome_kind kind;
    enum herald_access_reason reason; /* ACCESS_LOST */
    enum herald_rate_scope scope;     /* RATE_LIMITED */
    /* RETRY_LATER and RATE_LIMITED: earliest time to try again, in
     * milliseconds since the epoch; 0 lets the core choose a backoff. */
    int64_t retry_at;
    int http_status;     /* the network's status, 0 if none */
    const char *message; /* the network's reason; never a secret */
    /* DONE or DUPLICATE after publish or lookup; NULL when the network
     * does not name the post (a duplicate answer, an Instagram container
     * found published). */
    const char *remote_id;
    const char *remote_url; /* likewise */
};

/*
 * An account's credentials. Every string is secret: the core encrypts it
 * at rest and never logs or returns it. expires_at values are milliseconds
 * since the epoch, 0 when unknown or not applicable.
 */
struct herald_credentials {
    const char *access_token;
    const char *refresh_token; /* NULL when the network gives none */
    int64_t access_expires_at;
    /* When the person must log in again at the latest (Facebook's
     * long-lived token end, LinkedIn's refresh token end). */
    int64_t hard_deadline;
    /* Plugin-private secret data, such as Facebook Page tokens keyed by
     * Page id: borrowed, may be NULL. */
    json_t *extra;
};

/* A network identity, as the network names it. Strings are borrowed. */
struct herald_identity {
    const char *id;           /* stable id on the network */
    const char *username;     /* the handle people recognise */
    const char *display_name; /* may be NULL */
};

/*
 * What an operation hands back on success, through host->complete().
 * Everything is borrowed for the duration of the call.
 */
struct herald_result {
    const struct herald_credentials *credentials; /* exchange, refresh */
    const struct herald_identity *identity;       /* exchange, identity */
    /* Posting targets (array of {"id", "name", "kind"}), for networks
     * with HERALD_CAP_TARGETS; borrowed, may be NULL. */
    json_t *targets;
};

/* Input of authorize_url(). Strings are borrowed for the call. */
struct herald_authorize_request {
    const char *state;          /* opaque, random, to echo back */
    const char *code_challenge; /* S256 challenge; NULL without PKCE */
    const char *redirect_uri;   /* the callback to return to */
};

/* Input of exchange(). The struct and its strings are borrowed until
 * complete(). */
struct herald_exchange_request {
    const char *code;
    const char *code_verifier; /* NULL without PKCE */
    const char *redirect_uri;  /* identical to the one authorized */
};

/* An existing account as a plugin sees it. Borrowed until complete(). */
struct herald_account {
    int64_t id;                             /* the core's account id */
    const char *remote_id;                  /* identity id on the network */
    const struct herald_credentials *creds; /* decrypted credentials */
    json_t *targets;                        /* borrowed, may be NULL */
};

/* A post to publish. Borrowed until complete(). */
struct herald_post {
    int64_t id;
    const char *text;         /* UTF-8, may be empty */
    const char *link;         /* NULL when none */
    const char *const *media; /* image URLs, NULL-terminated; may be NULL */
    const char *target;       /* target id for HERALD_CAP_TARGETS, or NULL */
    /* What an interrupted earlier attempt recorded with
     * host->checkpoint() (such as a media container id), or NULL. */
    json_t *checkpoint;
};

/*
 * The plugin descriptor. A plugin returns a pointer to one constant
 * instance from its entry function; the core never writes to it.
 */
struct herald_plugin {
    /* Fixed head: the core reads these before anything else. */
    uint16_t abi_major;    /* HERALD_ABI_MAJOR */
    uint16_t abi_minor;    /* HERALD_ABI_MINOR */
    uint32_t size;         /* sizeof(struct herald_plugin) */
    const char *signature; /* HERALD_BUILD_SIGNATURE */

    /* Declarations. */
    const char *name;         /* network id: lower case, [a-z0-9_] */
    const char *display_name; /* "Facebook" */
    const char *version;      /* the plugin's own version */
    uint32_t capabilities;    /* HERALD_CAP_* bits */
    enum herald_token_model token_model;
    /* Seconds after a disconnection within which a reauthorization keeps
     * the account's history reachable; 0 when the network has none. */
    int64_t reconnect_window;
    const struct herald_content_rules *content;
    const struct herald_config_key *config_schema; /* NULL-name ended */
    /* Scopes asked for when the configuration names none. */
    const char *const *default_scopes; /* NULL-terminated */

    /*
     * Called once after loading, with the host API and the network's
     * validated configuration (borrowed; valid until fini()). Stores the
     * plugin's own state in *state. Returns 0, or a negative errno value
     * after logging why through host->log.
     */
    int (*init)(const struct herald_host *host, const json_t *config,
                void **state);

    /* Releases what init() made. Called once, after every operation has
     * completed or been canceled. */
    void (*fini)(void *state);

    /*
     * Builds the URL of the network's login page into *url, a string the
     * plugin malloc()s and the core free()s. Does no I/O. Returns 0 or a
     * negative errno value.
     */
    int (*authorize_url)(void *state,
                         const struct herald_authorize_request *req,
                         char **url);

    /*
     * Exchanges an authorization code for credentials, running every
     * follow-up step the network needs (long-lived exchange, Page tokens)
     * and fetching the identity. Completes with DONE and a result holding
     * credentials, identity and targets, or with another outcome.
     * Returns 0 when the operation was started (complete() will be called,
     * possibly before this returns), or a negative errno value when it
     * could not start (complete() will not be called).
     */
    int (*exchange)(void *state, struct herald_op *op,
                    const struct herald_exchange_request *req);

    /* Fetches the identity of an account: a cheap call that proves the
     * credentials still work. Completes with DONE and result->identity.
     * Same return convention as exchange(). */
    int (*identity)(void *state, struct herald_op *op,
                    const struct herald_account *account);

    /*
     * Renews the account's credentials without the person, as the token
     * model allows. Completes with DONE and result->credentials (which the
     * core commits before anything uses them). A plugin without
     * HERALD_CAP_REFRESH completes with ACCESS_LOST or REJECTED. Same
     * return convention as exchange().
     */
    int (*refresh)(void *state, struct herald_op *op,
                   const struct herald_account *account);

    /*
     * Publishes a post, in as many requests as the network needs. Before a
     * request that may create the post, it records any intermediate id
     * with host->checkpoint(). Completes with DONE (remote id and URL in
     * the outcome) or another outcome. Same return convention as
     * exchange().
     */
    int (*publish)(void *state, struct herald_op *op,
                   const struct herald_account *account,
                   const struct herald_post *post);

    /* Optional members: absent when NULL or past size. */

    /* Looks up a post whose attempt was interrupted, from its checkpoint.
     * Completes with DONE (found; with its remote id when the network
     * names it), REJECTED (certainly not published) or UNKNOWN. */
    int (*lookup)(void *state, struct herald_op *op,
                  const struct herald_account *account,
                  const struct herald_post *post);

    /* Revokes the account's tokens at the network when it is removed. */
    int (*revoke)(void *state, struct herald_op *op,
                  const struct herald_account *account);
};

/* The smallest descriptor size the core accepts: through publish(). */
#define HERALD_PLUGIN_MIN_SIZE                                                \
    (offsetof(struct herald_plugin, publish) +                                \
     sizeof(((struct herald_plugin *)0)->publish))

#ifdef __cplusplus
}
#endif

#endif
