/*
 * store.h - the SQLite store: the one truth about accounts, credentials,
 * authorization attempts, posts, attempts, events and idempotency keys.
 *
 * The store is one SQLite file in WAL mode. Opening it applies every
 * schema migration the file lacks, refuses a file made by a newer herald,
 * and proves the key file is the one the store was created with, so a
 * wrong key stops the daemon at startup instead of failing later. Every
 * secret (tokens, plugin extras, PKCE verifiers) is sealed with the key
 * and bound to its row and field before it reaches SQLite.
 *
 * This header is the store's whole public interface. Its sections are
 * implemented by store.c (opening, transactions, writability, re-key),
 * migrations.c (the schema), accounts.c (accounts and reminders),
 * credentials.c (sealed tokens), authorizations.c (authorization
 * attempts), posts.c (posts, attempts and holds), idempotency.c
 * (idempotency keys), events.c (the audit trail), notices.c and links.c
 * (the notifier's deliveries and one-time links) and counts.c (counts by
 * network and state), which share store_private.h and nothing else.
 *
 * Calling context: a struct herald_store belongs to the loop thread.
 * Every function here runs there, one at a time; none may be called from
 * another thread. Each write is committed before the function returns.
 *
 * Times are milliseconds since the epoch. An optional time of 0 means
 * "unknown" and is stored as NULL.
 */
#ifndef HERALD_STORE_H
#define HERALD_STORE_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "crypto.h"
#include "error.h"
#include "herald/plugin.h"

/* The connection: store.c, and the schema: migrations.c */

/* The schema version this herald writes and understands. */
#define HERALD_STORE_SCHEMA_VERSION 2

/* An open store. Opaque. */
struct herald_store;

/*
 * Opens (creating if needed, with mode 0600) the store at path,
 * migrates it to HERALD_STORE_SCHEMA_VERSION and checks key against it.
 * synchronous is "full" (the default when NULL), "normal" or "extra";
 * busy_timeout_ms is how long a statement waits for a lock held by
 * another connection. key is copied; the caller keeps its own. On success
 * *out is the caller's, to release with herald_store_close(). Returns 0,
 * or a negative errno value with err saying why, among them:
 *   -EINVAL  for an unknown synchronous mode, or "cannot open store
 *            'PATH': the database belongs to another program";
 *   -EIO     "cannot open store 'PATH': file is not a database" and other
 *            SQLite failures;
 *   -ENOTSUP "store 'PATH' has schema version N, newer than this herald
 *            (M); upgrade herald";
 *   -EACCES  "key file does not match store 'PATH'".
 * Call from the loop thread at startup.
 */
int herald_store_open(const char *path, const char *synchronous,
                      int busy_timeout_ms, const struct herald_key *key,
                      struct herald_store **out, struct herald_error *err);

/*
 * Rolls back a transaction left open, finalizes every statement, wipes
 * the key copy and closes the database, which checkpoints the WAL into
 * the main file. st may be NULL.
 */
void herald_store_close(struct herald_store *st);

/* Returns the schema version of the open store, or a negative errno. */
int herald_store_schema_version(struct herald_store *st);

/*
 * Returns the SQLite handle, for modules that keep their own prepared
 * statements. Borrowed: valid until herald_store_close(), loop thread
 * only, and never to be closed or put in another mode.
 */
sqlite3 *herald_store_db(struct herald_store *st);

/*
 * Transactions. begin opens one (BEGIN IMMEDIATE, so the write lock is
 * taken at once) or, inside another, a savepoint; commit and rollback end
 * the innermost. Every store function that writes runs inside the
 * caller's transaction when one is open, so several calls can be made
 * atomic together. Return 0 or a negative errno value (-EBUSY when the
 * lock could not be taken in time); a failed commit rolls back.
 */
int herald_store_begin(struct herald_store *st);
int herald_store_commit(struct herald_store *st);
void herald_store_rollback(struct herald_store *st);

/*
 * Group commit. A batch is one outer transaction that the transactions
 * begun inside it join as savepoints, so the work of many posts is made
 * durable by one commit, herald_store_flush(). Nothing another process
 * or person can see may depend on work still in a batch: the daemon
 * flushes before every request it sends, before every answer it gives,
 * and before its loop waits (daemon.c). herald_store_batch() does
 * nothing inside a transaction or an open batch. Both return 0 or a
 * negative errno value; a flush that fails rolls the batch back (-EIO
 * when SQLite had already rolled it back).
 */
int herald_store_batch(struct herald_store *st);
int herald_store_flush(struct herald_store *st);

/*
 * Proves the store can be written now: writes the time to the meta row
 * "heartbeat" in a transaction. For the health endpoint. Returns 0, or a
 * negative errno value (-ENOSPC when the disk is full, -EBUSY, -EROFS,
 * -EIO) with err saying "cannot write store 'PATH': REASON".
 */
int herald_store_check_writable(struct herald_store *st,
                                struct herald_error *err);

/*
 * Reads the schema version of the store file at path without changing
 * it (a read-only connection; nothing is created). Returns 0 with
 * *version set, or a negative errno value with err saying "cannot read
 * store 'PATH': REASON" (-ENOENT when there is no such file).
 */
int herald_store_file_version(const char *path, int64_t *version,
                              struct herald_error *err);

/* What herald_store_rekey() re-sealed. */
struct herald_store_rekey_counts {
    int64_t credentials;    /* sealed credential values (tokens, extras) */
    int64_t authorizations; /* PKCE verifiers of authorization attempts */
    int64_t notices;        /* notice bodies */
};

/*
 * Re-seals every sealed value of the store (credentials, authorization
 * attempts' verifiers, notice bodies) and the key check under to, in one
 * transaction: each value is opened with the store's key and sealed
 * again with to under the same associated data. A crash or any failure
 * leaves the store as it was, all under the old key; success leaves it
 * all under to, and the handle then uses to. Fills *counts. Returns 0,
 * or a negative errno value with err saying why:
 *   -EINVAL  to is the key the store already uses;
 *   -EBADMSG a value does not open with the store's key (altered or
 *            moved): "... in store 'PATH' fails to decrypt";
 *   -EBUSY and other store failures.
 * Meant for the offline "herald rekey", never while the daemon runs.
 */
int herald_store_rekey(struct herald_store *st, const struct herald_key *to,
                       struct herald_store_rekey_counts *counts,
                       struct herald_error *err);

/* Accounts and their credentials: accounts.c */

/* The states of an account; keeper.h draws the lifecycle. */
enum herald_account_status {
    HERALD_ACCOUNT_PENDING = 0,
    HERALD_ACCOUNT_ACTIVE = 1,
    HERALD_ACCOUNT_DEGRADED = 2,
    HERALD_ACCOUNT_DISCONNECTED = 3,
    HERALD_ACCOUNT_REMOVED = 4,
};

/*
 * One row of the accounts table. Given to herald_store_account_create(),
 * every pointer is borrowed and id, created_at and updated_at are
 * ignored. Filled by herald_store_account_get(), the struct owns its
 * strings and its targets reference; herald_store_account_clear() frees
 * them. Optional strings are NULL when absent.
 */
struct herald_store_account {
    int64_t id;
    const char *network;   /* plugin name, "linkedin" */
    const char *remote_id; /* identity id on the network; NULL if pending */
    const char *username;
    const char *display_name;
    const char *owner_id; /* the calling app's id of the person */
    const char *owner_email;
    enum herald_account_status status;
    const char *status_reason; /* why the last transition happened */
    json_t *targets;           /* array of posting targets, or NULL */
    int64_t connected_at;
    int64_t access_expires_at;
    int64_t hard_deadline;      /* refresh-token or long-lived token end */
    int64_t reconnect_deadline; /* reauthorize by then to keep history */
    int64_t last_ok_at;         /* last successful call to the network */
    int64_t status_changed_at;  /* when status last changed */
    int64_t next_action_at;     /* the keeper's next renewal or check */
    int64_t failures;           /* transient failures in a row */
    int64_t renewing_since;     /* a renewal is in flight since, or 0 */
    int64_t hold_until;         /* no request before this, or 0 */
    int64_t created_at;
    int64_t updated_at;
};

/*
 * An account's decrypted credentials, owning its strings and its extra
 * reference. Free with herald_store_credentials_clear(), which wipes the
 * secrets first. Never log or copy anything out of it but into a request.
 */
struct herald_store_credentials {
    char *access_token;  /* NULL when none is stored */
    char *refresh_token; /* NULL when the network gave none */
    json_t *extra;       /* plugin-private secrets, or NULL */
    int64_t access_expires_at;
    int64_t hard_deadline;
    int64_t version;    /* 1 after the first write, bumped by each one */
    int64_t updated_at; /* when these credentials were stored */
};

/*
 * Inserts an account from in (see struct herald_store_account) and sets
 * *id to its new id. created_at and updated_at are set to now. Returns 0,
 * -EEXIST when another account that is not removed has the same network
 * and remote_id, -EINVAL when network or owner_id is missing or the row
 * breaks a rule of the schema (only a pending or removed account may lack
 * a remote_id), or another negative errno value.
 */
int herald_store_account_create(struct herald_store *st,
                                const struct herald_store_account *in,
                                int64_t *id);

/*
 * Reads account id into *out, which then owns its strings (release with
 * herald_store_account_clear()). Returns 0, -ENOENT when there is no such
 * account, or another negative errno value (and *out is cleared).
 */
int herald_store_account_get(struct herald_store *st, int64_t id,
                             struct herald_store_account *out);

/* Frees what herald_store_account_get() put in a and zeroes it. */
void herald_store_account_clear(struct herald_store_account *a);

/* Returns the store's name of status ("active"), or "unknown". */
const char *herald_store_account_status_name(enum herald_account_status s);

/*
 * Parses a status name into *s. Returns 0, or -EINVAL for a name that is
 * not a status (and *s is untouched).
 */
int herald_store_account_status_parse(const char *name,
                                      enum herald_account_status *s);

/*
 * Sets *n to the number of accounts that are not removed. Returns 0 or a
 * negative errno value.
 */
int herald_store_count_accounts(struct herald_store *st, int64_t *n);

/*
 * Reads the account of network with identity remote_id that is not
 * removed into *out (cleared with herald_store_account_clear()). Returns
 * 0, -ENOENT, or another negative errno value.
 */
int herald_store_account_find(struct herald_store *st, const char *network,
                              const char *remote_id,
                              struct herald_store_account *out);

/*
 * Marks account id active again after a reauthorization: takes username,
 * display_name, owner_email, targets, connected_at and last_ok_at from in
 * (borrowed), clears the status reason, the reconnect deadline and the
 * failure count, and records the status change. Returns 0, -ENOENT, or
 * another negative errno value.
 */
int herald_store_account_reconnect(struct herald_store *st, int64_t id,
                                   const struct herald_store_account *in);

/* What herald_store_account_list() selects; NULL or 0 fields match
 * everything. Removed accounts are listed only when status asks for
 * them. */
struct herald_store_account_filter {
    const char *owner_id;
    const char *network;
    int status;       /* an enum herald_account_status, or -1 for any */
    int64_t after_id; /* only accounts with a larger id */
};

/*
 * Reads up to max accounts matching f, by increasing id, into out[]
 * (each cleared by the caller with herald_store_account_clear()); *n is
 * how many. Returns 0 or a negative errno value (then out[] is empty).
 */
int herald_store_account_list(struct herald_store *st,
                              const struct herald_store_account_filter *f,
                              struct herald_store_account *out, size_t max,
                              size_t *n);

/*
 * Sets the status of account id, with reason (borrowed, may be NULL) and
 * the time of the change; reconnect_deadline is stored as given (0
 * clears it). Returns 0, -ENOENT, or another negative errno value.
 */
int herald_store_account_set_status(struct herald_store *st, int64_t id,
                                    enum herald_account_status status,
                                    const char *reason, int64_t now,
                                    int64_t reconnect_deadline);

/*
 * Marks account id removed and erases its credentials, in one
 * transaction; its events stay. Returns 0, -ENOENT, or another negative
 * errno value.
 */
int herald_store_account_remove(struct herald_store *st, int64_t id);

/* The keeper's plan: stores the next action time of account id (0: none
 * planned). Returns 0 or a negative errno value. */
int herald_store_account_plan(struct herald_store *st, int64_t id,
                              int64_t next_action_at);

/*
 * Reads the earliest planned action among active, degraded and
 * disconnected (for reminders) accounts into *at. Returns 0, -ENOENT when none
 * is planned, or another negative errno value.
 */
int herald_store_account_next_action(struct herald_store *st, int64_t *at);

/*
 * Reads into ids[] up to max active, degraded or disconnected accounts
 * whose planned action is due at now, earliest first; *n is how many. Returns
 * 0 or a negative errno value.
 */
int herald_store_accounts_due(struct herald_store *st, int64_t now,
                              int64_t *ids, size_t max, size_t *n);

/* Records that a renewal of account id is in flight since since (0: no
 * longer). Returns 0 or a negative errno value. */
int herald_store_account_renewing(struct herald_store *st, int64_t id,
                                  int64_t since);

/*
 * Reads into ids[] up to max accounts (not removed) with a renewal
 * marked in flight: after a start, the ones a crash cut short.
 */
int herald_store_accounts_renewing(struct herald_store *st, int64_t *ids,
                                   size_t max, size_t *n);

/* Records a successful call to the network: last_ok_at = now, failure
 * count back to 0. Returns 0 or a negative errno value. */
int herald_store_account_ok(struct herald_store *st, int64_t id, int64_t now);

/* Counts one more transient failure of account id and reads the new
 * count into *failures. Returns 0 or a negative errno value. */
int herald_store_account_failed(struct herald_store *st, int64_t id,
                                int *failures);

/*
 * Seals every secret of c (access_token, refresh_token, and extra
 * serialized as JSON; c is borrowed) and writes them for account_id, with
 * c's access_expires_at and hard_deadline written to the account, in one
 * transaction that bumps the credentials version. Returns 0, -ENOENT when
 * the account does not exist, or another negative errno value (nothing
 * written).
 */
int herald_store_credentials_put(struct herald_store *st, int64_t account_id,
                                 const struct herald_credentials *c);

/*
 * Same as herald_store_credentials_put(), but only when the credentials
 * version stored for account_id is expected_version (0: the account has
 * none yet): a compare-and-swap, so that of two refreshes that read the
 * same version only the first one's tokens are kept. Returns 0 (the
 * version is now expected_version + 1), -ESTALE when the stored version
 * is another (nothing written), -ENOENT when the account does not exist,
 * -EINVAL when expected_version is negative, or another negative errno
 * value (nothing written).
 */
int herald_store_credentials_put_if(struct herald_store *st,
                                    int64_t account_id,
                                    int64_t expected_version,
                                    const struct herald_credentials *c);

/*
 * Reads and decrypts the credentials of account_id into *out, which then
 * owns them (release with herald_store_credentials_clear()). Returns 0,
 * -ENOENT when the account has none, -EBADMSG when a value fails to
 * decrypt (tampered, or moved from another row or field), or another
 * negative errno value; on failure *out is cleared.
 */
int herald_store_credentials_get(struct herald_store *st, int64_t account_id,
                                 struct herald_store_credentials *out);

/*
 * Fills view with pointers borrowed from c, for handing to a plugin.
 * view stays valid as long as c does.
 */
void herald_store_credentials_view(const struct herald_store_credentials *c,
                                   struct herald_credentials *view);

/* Wipes the secrets in c, frees them and zeroes c. c may be NULL. */
void herald_store_credentials_clear(struct herald_store_credentials *c);

/* Authorization attempts: authorizations.c */

/*
 * One authorization attempt: what the OAuth callback needs to finish it.
 * Given to herald_store_auth_put(), pointers are borrowed and created_at
 * of 0 means now. Filled by herald_store_auth_take(), the struct owns its
 * strings; herald_store_auth_clear() wipes the verifier and frees them.
 */
struct herald_store_auth {
    const char *network;
    const char *owner_id;
    const char *owner_email; /* may be NULL */
    int64_t account_id;      /* account to reauthorize; 0 for a new one */
    const char *return_url;  /* where to send the person after; or NULL */
    const char *verifier;    /* PKCE verifier (secret), or NULL */
    int64_t created_at;
    int64_t expires_at; /* the attempt is refused from this time on */
};

/*
 * Records an authorization attempt under state (the raw OAuth state,
 * borrowed). Only its SHA-256 is stored, and the verifier is sealed.
 * Returns 0, -EEXIST if the state was already recorded, -EINVAL when
 * network, owner_id or expires_at is missing, or another negative errno.
 */
int herald_store_auth_put(struct herald_store *st, const char *state,
                          const struct herald_store_auth *in);

/*
 * Consumes the attempt recorded under state, exactly once. Returns:
 *   0          the attempt was unused and unexpired: it is now marked used
 *              and *out owns its fields (release with
 *              herald_store_auth_clear());
 *   -ENOENT    no attempt has this state;
 *   -EALREADY  it was already used;
 *   -ESTALE    it has expired;
 *   -EBADMSG   its verifier fails to decrypt;
 * or another negative errno value. On any failure nothing is changed and
 * *out is cleared.
 */
int herald_store_auth_take(struct herald_store *st, const char *state,
                           struct herald_store_auth *out);

/* Wipes the verifier in a, frees the strings and zeroes a. */
void herald_store_auth_clear(struct herald_store_auth *a);

/*
 * Deletes authorization attempts that expired before before. Sets *n (if
 * not NULL) to how many. Returns 0 or a negative errno value.
 */
int herald_store_auth_purge(struct herald_store *st, int64_t before,
                            int64_t *n);

/* The audit trail: events.c */

/*
 * Appends an event to the audit trail, stamped now. type is a short dotted
 * name ("account.disconnected"); account_id and post_id are 0 when they
 * do not apply; detail is borrowed and may be NULL, and must hold no
 * secret. Returns 0 or a negative errno value.
 */
int herald_store_event_append(struct herald_store *st, const char *type,
                              int64_t account_id, int64_t post_id,
                              const json_t *detail);

/* What herald_store_event_list() selects; 0 or NULL fields match all. */
struct herald_store_event_filter {
    int64_t account_id;
    const char *type;
    int64_t since;    /* at >= since */
    int64_t until;    /* at < until */
    int64_t after_id; /* only events with a larger id */
};

/*
 * Reads up to limit events matching f, oldest first, into *out: a new
 * JSON array of {"id", "at" (ms), "type", "account_id", "post_id",
 * "detail"} objects (ids null when absent). Returns 0 or a negative
 * errno value.
 */
int herald_store_event_list(struct herald_store *st,
                            const struct herald_store_event_filter *f,
                            size_t limit, json_t **out);

/* Posts (posts.c) */

/* The states of a post; the machine is drawn in scheduler.h. */
enum herald_post_status {
    HERALD_POST_SCHEDULED = 0,
    HERALD_POST_QUEUED = 1,
    HERALD_POST_PUBLISHING = 2,
    HERALD_POST_PUBLISHED = 3,
    HERALD_POST_RETRYING = 4,
    HERALD_POST_BLOCKED = 5,
    HERALD_POST_FAILED = 6,
    HERALD_POST_CANCELED = 7,
    HERALD_POST_EXPIRED = 8,
    HERALD_POST_UNKNOWN = 9,
};

/* A bit per status, for transition guards. */
#define HERALD_POST_BIT(s) (1u << (s))

/* A post row. Strings are owned by the struct when read from the store
 * (free with herald_store_post_clear()), borrowed when written. */
struct herald_store_post {
    int64_t id;
    const char *owner_id;
    int64_t account_id;
    const char *target; /* posting target id, or NULL */
    const char *text;
    const char *link; /* or NULL */
    json_t *media;    /* array of image URLs, or NULL */
    int64_t scheduled_at;
    enum herald_post_status status;
    int64_t attempts;
    int64_t next_attempt_at; /* while scheduled or retrying */
    const char *remote_id;
    const char *remote_url;
    const char *reason; /* why it failed, was blocked, is unknown */
    int64_t first_attempt_at;
    /* Lateness limit of this post in seconds: 0 takes the engine's
     * lateness_limit_s, -1 publishes however late. */
    int64_t expire_after_s;
    int64_t created_at;
    int64_t updated_at;
};

/* Returns the name of a post status ("scheduled", ...). */
const char *herald_store_post_status_name(enum herald_post_status s);

/* Parses a status name. Returns 0, or -EINVAL. */
int herald_store_post_status_parse(const char *name,
                                   enum herald_post_status *s);

/*
 * Creates a scheduled post from in (borrowed), due at in->scheduled_at,
 * inside the caller's transaction when one is open. Returns 0 and *id, or
 * a negative errno value.
 */
int herald_store_post_create(struct herald_store *st,
                             const struct herald_store_post *in, int64_t *id);

/* Reads post id into *out. Returns 0, -ENOENT or a negative errno. */
int herald_store_post_get(struct herald_store *st, int64_t id,
                          struct herald_store_post *out);

/* Frees what a read post owns and zeroes it. */
void herald_store_post_clear(struct herald_store_post *p);

/* What herald_store_post_list() selects; 0, -1 or NULL match all. */
struct herald_store_post_filter {
    int status; /* an enum herald_post_status, or -1 */
    int64_t account_id;
    const char *owner_id;
    const char *network;
    int64_t since; /* scheduled_at >= since */
    int64_t until; /* scheduled_at < until */
    int64_t after_id;
};

/* Reads up to max posts matching f by increasing id into out[] (each
 * cleared by the caller); *n is how many. */
int herald_store_post_list(struct herald_store *st,
                           const struct herald_store_post_filter *f,
                           struct herald_store_post *out, size_t max,
                           size_t *n);

/* Reads the attempts of a post, oldest first, into *out: a new JSON
 * array of {"id", "started_at", "ended_at", "outcome", "http_status",
 * "message"} (times in ms). */
int herald_store_post_attempts(struct herald_store *st, int64_t post_id,
                               json_t **out);

/*
 * Moves post id to status to, with reason (borrowed, may be NULL) and
 * next_attempt_at (0: none), only when its status is in the from mask of
 * HERALD_POST_BIT()s. Returns 0, -ESTALE when the status is not in from,
 * -ENOENT, or another negative errno value.
 */
int herald_store_post_move(struct herald_store *st, int64_t id, unsigned from,
                           enum herald_post_status to, const char *reason,
                           int64_t next_attempt_at);

/*
 * Starts an attempt: post id goes from queued to publishing, its attempt
 * count grows, and an attempt row is written, in one transaction (durable
 * before any request). Returns 0 and *attempt_id, -ESTALE when the post
 * is no longer queued, or a negative errno value.
 */
int herald_store_attempt_begin(struct herald_store *st, int64_t id,
                               int64_t now, int64_t *attempt_id);

/* How an attempt ended, for herald_store_attempt_end(). Borrowed. */
struct herald_store_attempt_end {
    const char *outcome; /* "done", "retry_later", ... */
    int http_status;
    const char *message;
};

/* Ends attempt attempt_id with its outcome, inside the caller's
 * transaction when one is open. */
int herald_store_attempt_end(struct herald_store *st, int64_t attempt_id,
                             const struct herald_store_attempt_end *end);

/* Records that post id was published, with the remote id and URL
 * (borrowed, may be NULL). */
int herald_store_post_published(struct herald_store *st, int64_t id,
                                const char *remote_id, const char *remote_url);

/* The attempt left open of a publishing post: its id and checkpoint
 * (new reference or NULL). Returns 0 or -ENOENT. */
int herald_store_attempt_open(struct herald_store *st, int64_t post_id,
                              int64_t *attempt_id, json_t **checkpoint);

/* Reads the last checkpoint any attempt of a post recorded into
 * *checkpoint (new reference, or NULL when none). Returns 0 or a
 * negative errno value. */
int herald_store_post_checkpoint(struct herald_store *st, int64_t post_id,
                                 json_t **checkpoint);

/*
 * Moves every post of an account (account_id > 0) or of a whole network
 * (network non-NULL) that is in the from statuses to status to, in their
 * order, with next_attempt_at (0: none), appending event (may be NULL)
 * for each, in one transaction. *moved is how many moved. Returns 0 or a
 * negative errno value (then nothing moved).
 */
int herald_store_posts_bulk_move(struct herald_store *st, int64_t account_id,
                                 const char *network, unsigned from,
                                 enum herald_post_status to, int64_t next_at,
                                 const char *event, int64_t *moved);

/* Whether the reminder (account, kind "expiring" or "reconnect",
 * deadline, days) was sent: 1, 0, or a negative errno value. A deadline
 * within a day of a reminded one counts as the same (a refresh may move
 * it by seconds). */
int herald_store_reminder_sent(struct herald_store *st, int64_t account_id,
                               const char *kind, int64_t deadline, int days);

/* Records the reminder as sent at now. */
int herald_store_reminder_put(struct herald_store *st, int64_t account_id,
                              const char *kind, int64_t deadline, int days,
                              int64_t now);

/* Reads the earliest next_attempt_at of waiting posts into *at. Returns
 * 0, -ENOENT when none waits, or a negative errno value. */
int herald_store_posts_next_due(struct herald_store *st, int64_t *at);

/* Moves up to limit scheduled or retrying posts due at now to queued,
 * earliest first; *n is how many. */
int herald_store_posts_promote(struct herald_store *st, int64_t now,
                               size_t limit, size_t *n);

/* Reads up to max distinct accounts with queued posts into ids[]. */
int herald_store_queued_accounts(struct herald_store *st, int64_t *ids,
                                 size_t max, size_t *n);

/* Reads the first queued post of an account, in its order (schedule,
 * then id), into *post_id. Returns 0 or -ENOENT. */
int herald_store_queued_first(struct herald_store *st, int64_t account_id,
                              int64_t *post_id);

/* Reads up to max posts left publishing (after a crash) into ids[]. */
int herald_store_posts_publishing(struct herald_store *st, int64_t *ids,
                                  size_t max, size_t *n);

/* Counts an account's posts in status s into *n. */
int herald_store_posts_count(struct herald_store *st, int64_t account_id,
                             enum herald_post_status s, int64_t *n);

/* Sets the time before which no request goes out for an account (0:
 * none). */
int herald_store_account_hold(struct herald_store *st, int64_t id,
                              int64_t until);

/* Reads and sets the same for a whole network; get gives 0 when none. */
int herald_store_network_hold_get(struct herald_store *st, const char *network,
                                  int64_t *until);
int herald_store_network_hold_set(struct herald_store *st, const char *network,
                                  int64_t until);

/* Counts by network and state (counts.c) */

/* What herald_store_counts() counts. */
enum herald_store_counted {
    HERALD_STORE_COUNT_POSTS,
    HERALD_STORE_COUNT_ACCOUNTS,
};

/* One count; the strings are malloc()ed, freed by
 * herald_store_counts_clear(). */
struct herald_store_count {
    const char *network;
    const char *status; /* the store's name of the state: "published" */
    int64_t n;
};

/*
 * Reads how many posts (or accounts) each network has in each state,
 * at most max rows into out and their number into *n. Triggers keep
 * these counts with every write, so this reads a few rows whatever the
 * size of the store. A row may count 0. Returns 0, or a negative errno
 * value with *n 0 and nothing to free.
 */
int herald_store_counts(struct herald_store *st,
                        enum herald_store_counted what,
                        struct herald_store_count *out, size_t max, size_t *n);

/* Frees the strings of n counts read by herald_store_counts(). */
void herald_store_counts_clear(struct herald_store_count *c, size_t n);

/* Idempotency keys (idempotency.c) */

/*
 * Reads the answer stored for (key_id, key): the hash of the body it
 * answered (malloc()ed), its status and its JSON (new reference).
 * Returns 0 or -ENOENT.
 */
int herald_store_idempotency_get(struct herald_store *st, const char *key_id,
                                 const char *key, char **body_hash,
                                 int *status, json_t **response);

/* Stores the answer for (key_id, key), inside the caller's transaction
 * when one is open. -EEXIST when the key is taken. */
int herald_store_idempotency_put(struct herald_store *st, const char *key_id,
                                 const char *key, const char *body_hash,
                                 int status, const json_t *response);

/* Notices (notices.c) and one-time reauthorization links (links.c) */

/* Where a notice goes. */
enum herald_notice_channel {
    HERALD_NOTICE_EMAIL = 0,
    HERALD_NOTICE_WEBHOOK = 1,
};

/* The states of a notice: pending until delivered, or failed for good. */
enum herald_notice_status {
    HERALD_NOTICE_PENDING = 0,
    HERALD_NOTICE_DELIVERED = 1,
    HERALD_NOTICE_FAILED = 2,
};

/* Returns the store's name of a channel ("email") or status ("pending"),
 * or "unknown". */
const char *herald_store_notice_channel_name(enum herald_notice_channel c);
const char *herald_store_notice_status_name(enum herald_notice_status s);

/* Parse those names. Return 0, or -EINVAL (and *out is untouched). */
int herald_store_notice_channel_parse(const char *name,
                                      enum herald_notice_channel *out);
int herald_store_notice_status_parse(const char *name,
                                     enum herald_notice_status *out);

/*
 * One delivery of one event (or of a group of folded events) on one
 * channel. Given to herald_store_notice_add(), pointers are borrowed and
 * id, status, attempts, last_error and the times but next_attempt_at are
 * ignored. Filled by herald_store_notice_get() or _list(), the struct
 * owns its strings (free with herald_store_notice_clear()).
 */
struct herald_store_notice {
    int64_t id;
    enum herald_notice_channel channel;
    int64_t event_id; /* the event, or the first of a group */
    const char *event_type;
    int64_t account_id;    /* 0 when none */
    int64_t post_id;       /* 0 when none */
    const char *recipient; /* email: the address; webhook: NULL */
    const char *group_key; /* events folded into this notice, or NULL */
    int64_t events;        /* how many events it carries, >= 1 */
    enum herald_notice_status status;
    int64_t attempts;
    int64_t next_attempt_at; /* while pending: when it is due */
    const char *last_error;  /* never a secret */
    int64_t created_at;
    int64_t updated_at;
    int64_t delivered_at;
};

/*
 * Reads into *event_id the last event the notifier has handled (0 before
 * the first). Returns 0 or a negative errno value.
 */
int herald_store_notice_cursor(struct herald_store *st, int64_t *event_id);

/* Records event_id as handled, inside the caller's transaction when one
 * is open. Returns 0 or a negative errno value. */
int herald_store_notice_cursor_set(struct herald_store *st, int64_t event_id);

/*
 * Stores a pending notice from in with its body (body_len bytes,
 * borrowed; sealed with the store's key, since an email carries a
 * one-time link), due at in->next_attempt_at, inside the caller's
 * transaction when one is open. Sets *id. Returns 0, -EEXIST when the
 * event, or the group, already has a notice on that channel, -EINVAL
 * for a missing type, event or body, or another negative errno value.
 */
int herald_store_notice_add(struct herald_store *st,
                            const struct herald_store_notice *in,
                            const char *body, size_t body_len, int64_t *id);

/*
 * Folds one more event into the notice of group_key on channel: its
 * event count grows by one. Returns 0 and *id, -ENOENT when the group has
 * no notice yet, or another negative errno value.
 */
int herald_store_notice_fold(struct herald_store *st, const char *group_key,
                             enum herald_notice_channel channel, int64_t *id);

/*
 * Folds one more event of event_type into the account's newest notice of
 * that type on channel that still waits for its first attempt (and was
 * added with a group key): its event count grows by one. Sets *id, the
 * event it was added for (*event_id, which its body is bound to) and the
 * new count (*events). Returns 0, -ENOENT when no such notice waits, or
 * another negative errno value.
 */
int herald_store_notice_fold_open(struct herald_store *st, int64_t account_id,
                                  const char *event_type,
                                  enum herald_notice_channel channel,
                                  int64_t *id, int64_t *event_id,
                                  int64_t *events);

/*
 * Replaces the body of notice id, added for event_id on channel, with
 * body (body_len bytes, borrowed; sealed like herald_store_notice_add()'s)
 * while no attempt has begun. Returns 0, -ESTALE when an attempt has
 * begun or the notice is gone, or another negative errno value.
 */
int herald_store_notice_rewrite(struct herald_store *st, int64_t id,
                                int64_t event_id,
                                enum herald_notice_channel channel,
                                const char *body, size_t body_len);

/* Reads notice id into *out. Returns 0, -ENOENT, or a negative errno. */
int herald_store_notice_get(struct herald_store *st, int64_t id,
                            struct herald_store_notice *out);

/* Frees what a read notice owns and zeroes it. n may be NULL. */
void herald_store_notice_clear(struct herald_store_notice *n);

/*
 * Opens the body of notice id into *body (malloc()ed, NUL-terminated
 * after *len bytes; wipe it with sodium_memzero() before freeing: it may
 * hold a one-time link). Returns 0, -ENOENT, -EBADMSG when it fails to
 * open, or another negative errno value.
 */
int herald_store_notice_body(struct herald_store *st, int64_t id, char **body,
                             size_t *len);

/* What herald_store_notice_list() selects; 0, -1 or NULL match all. */
struct herald_store_notice_filter {
    int64_t account_id;
    int status;  /* an enum herald_notice_status, or -1 */
    int channel; /* an enum herald_notice_channel, or -1 */
    const char *event_type;
    int64_t after_id;
};

/* Reads up to max notices matching f by increasing id into out[] (each
 * cleared by the caller); *n is how many. Returns 0 or a negative errno
 * value (then out[] is empty). */
int herald_store_notice_list(struct herald_store *st,
                             const struct herald_store_notice_filter *f,
                             struct herald_store_notice *out, size_t max,
                             size_t *n);

/* Reads into ids[] up to max pending notices due at now, earliest first;
 * *n is how many. Returns 0 or a negative errno value. */
int herald_store_notices_due(struct herald_store *st, int64_t now,
                             int64_t *ids, size_t max, size_t *n);

/*
 * Starts an attempt at notice id, in one transaction: its attempt count
 * grows, it is not due again before lease_until (so an attempt a crash
 * cuts short is made again then), and an attempt row is written. Sets
 * *attempt_id. Returns 0, -ESTALE when the notice is not pending, or a
 * negative errno value.
 */
int herald_store_notice_attempt_begin(struct herald_store *st, int64_t id,
                                      int64_t now, int64_t lease_until,
                                      int64_t *attempt_id);

/* How an attempt ended, for herald_store_notice_attempt_end(). Borrowed;
 * error is never a secret. */
struct herald_store_notice_end {
    const char *outcome; /* "delivered", "refused", "unreachable", ... */
    int code;            /* HTTP or SMTP reply code, 0 when none */
    const char *error;   /* NULL when delivered */
    enum herald_notice_status status; /* the notice's new status */
    int64_t next_attempt_at;          /* while still pending */
};

/* Ends attempt attempt_id of notice id and moves the notice as end says,
 * in one transaction. Returns 0 or a negative errno value. */
int herald_store_notice_attempt_end(struct herald_store *st, int64_t id,
                                    int64_t attempt_id,
                                    const struct herald_store_notice_end *end);

/* Reads the attempts of notice id, oldest first, into *out: a new JSON
 * array of {"id", "started_at", "ended_at", "outcome", "code", "error"}
 * (times in ms, absent values null). Returns 0 or a negative errno. */
int herald_store_notice_attempts(struct herald_store *st, int64_t id,
                                 json_t **out);

/*
 * After a start: ends every attempt a stop or a crash left open as
 * "interrupted" and makes its notice due at now, in one transaction. Sets
 * *n (if not NULL) to how many. Returns 0 or a negative errno value.
 */
int herald_store_notices_recover(struct herald_store *st, int64_t now,
                                 int64_t *n);

/*
 * Reads the last account.connected, account.reconnected or
 * account.disconnected event of account_id before event before_id: its
 * type into type (at least 32 bytes) and its id into *id. Returns 0,
 * -ENOENT when there is none, or a negative errno value.
 */
int herald_store_notice_last_status_event(struct herald_store *st,
                                          int64_t account_id,
                                          int64_t before_id, char *type,
                                          size_t type_len, int64_t *id);

/*
 * Records a one-time reauthorization link for account_id, made for event
 * event_id, valid until expires_at. Only the SHA-256 of token (borrowed)
 * is stored. Runs inside the caller's transaction when one is open.
 * Returns 0, -EEXIST for a token already recorded, -EINVAL, or another
 * negative errno value.
 */
int herald_store_link_put(struct herald_store *st, const char *token,
                          int64_t account_id, int64_t event_id,
                          int64_t expires_at);

/*
 * Uses the link of token once, at now, inside the caller's transaction
 * when one is open (so a caller that fails afterwards can roll the use
 * back). Returns 0 and *account_id; -ENOENT for an unknown token,
 * -EALREADY when it was used, -ESTALE when it expired; or another
 * negative errno value. Nothing changes on failure.
 */
int herald_store_link_take(struct herald_store *st, const char *token,
                           int64_t now, int64_t *account_id);

#endif
