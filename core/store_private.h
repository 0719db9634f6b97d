/*
 * store_private.h - what the store's own files share, and nothing else.
 *
 * The store is one public header (store.h) implemented by several files:
 * store.c (the connection, transactions, the statement cache, meta and
 * the key check), migrations.c (the schema), accounts.c (accounts),
 * credentials.c (their sealed tokens), authorizations.c (OAuth
 * authorization attempts), posts.c (posts, attempts and holds),
 * idempotency.c (idempotency keys), events.c (the audit trail),
 * notices.c and links.c (the notifier's deliveries and one-time links),
 * counts.c (counts by state). This
 * header is included by those files only; no other module may include it
 * or touch struct herald_store's fields. Names here start with store_
 * rather than herald_store_, so a call site shows that it uses the
 * store's insides.
 *
 * The helpers below follow one pattern: a statement is taken from the
 * cache, bound in a straight list that keeps the first failure, run once,
 * and checked once. Values reach SQLite only as bound parameters;
 * store_exec() runs constant text alone (pragmas, DDL, transactions).
 *
 * Invariant: a secret reaches SQLite only sealed with the store's key,
 * with associated data naming its table, row and field, so a blob copied
 * to another row or field no longer opens.
 *
 * Every function here runs on the loop thread, like the public ones.
 */
#ifndef HERALD_STORE_PRIVATE_H
#define HERALD_STORE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "crypto.h"
#include "error.h"
#include "store.h"

/* The log subsystem of every store file. */
#define STORE_SUBSYSTEM "store"

/* Room for any associated data string ("herald:credentials:ID:FIELD"). */
#define STORE_AD_MAX 128

/*
 * The cached statements, grouped by the file that owns each. An id is
 * used with one SQL text only, kept beside the function that binds it.
 */
enum store_stmt {
    /* store.c */
    STMT_META_GET,
    STMT_META_PUT,
    STMT_META_ADD,
    /* accounts.c */
    STMT_ACCOUNT_INSERT,
    STMT_ACCOUNT_GET,
    STMT_ACCOUNT_SET_EXPIRY,
    STMT_ACCOUNT_COUNT,
    STMT_ACCOUNT_FIND,
    STMT_ACCOUNT_RECONNECT,
    STMT_ACCOUNT_LIST,
    STMT_ACCOUNT_STATUS,
    STMT_ACCOUNT_REMOVE,
    STMT_ACCOUNT_PLAN,
    STMT_ACCOUNT_NEXT,
    STMT_ACCOUNT_DUE,
    STMT_ACCOUNT_RENEWING,
    STMT_ACCOUNT_RENEWING_LIST,
    STMT_ACCOUNT_OK,
    STMT_ACCOUNT_FAILED,
    /* credentials.c */
    STMT_CREDENTIALS_DELETE,
    STMT_CREDENTIALS_PUT,
    STMT_CREDENTIALS_GET,
    STMT_CREDENTIALS_VERSION,
    /* authorizations.c */
    STMT_AUTH_INSERT,
    STMT_AUTH_GET,
    STMT_AUTH_USE,
    STMT_AUTH_PURGE,
    /* events.c */
    STMT_EVENT_INSERT,
    STMT_EVENT_LIST,
    /* posts.c */
    STMT_POST_INSERT,
    STMT_POST_GET,
    STMT_POST_LIST,
    STMT_POST_ATTEMPTS,
    STMT_POST_MOVE,
    STMT_POST_BEGIN,
    STMT_ATTEMPT_INSERT,
    STMT_ATTEMPT_END,
    STMT_POST_PUBLISHED,
    STMT_ATTEMPT_OPEN,
    STMT_POST_NEXT_DUE,
    STMT_POST_PROMOTE,
    STMT_QUEUED_ACCOUNTS,
    STMT_QUEUED_FIRST,
    STMT_POST_PUBLISHING,
    STMT_POST_COUNT,
    STMT_ACCOUNT_HOLD,
    STMT_NETWORK_HOLD_GET,
    STMT_NETWORK_HOLD_SET,
    STMT_POST_CHECKPOINT,
    STMT_POST_SELECT,
    STMT_REMINDER_SENT,
    STMT_REMINDER_PUT,
    /* counts.c */
    STMT_POST_COUNTS,
    STMT_ACCOUNT_COUNTS,
    /* idempotency.c */
    STMT_IDEMPOTENCY_GET,
    STMT_IDEMPOTENCY_PUT,
    /* notices.c */
    STMT_NOTICE_CURSOR_GET,
    STMT_NOTICE_CURSOR_SET,
    STMT_NOTICE_INSERT,
    STMT_NOTICE_FOLD,
    STMT_NOTICE_FOLD_ID,
    STMT_NOTICE_FOLD_OPEN,
    STMT_NOTICE_REWRITE,
    STMT_NOTICE_GET,
    STMT_NOTICE_BODY,
    STMT_NOTICE_LIST,
    STMT_NOTICE_DUE,
    STMT_NOTICE_BEGIN,
    STMT_NOTICE_ATTEMPT_INSERT,
    STMT_NOTICE_ATTEMPT_END,
    STMT_NOTICE_END,
    STMT_NOTICE_ATTEMPTS,
    STMT_NOTICE_RECOVER_NOTICES,
    STMT_NOTICE_RECOVER_ATTEMPTS,
    STMT_NOTICE_LAST_STATUS,
    /* links.c */
    STMT_LINK_INSERT,
    STMT_LINK_GET,
    STMT_LINK_USE,
    STMT_COUNT
};

struct herald_store {
    sqlite3 *db;
    char *path;
    struct herald_key key;
    int depth; /* open transactions and savepoints */
    int batch; /* depth 1 is a batch (herald_store_batch()) */
    int ready; /* opened, migrated and key-checked */
    int quiet; /* failures go to the caller's err, not to the log */
    char last_error[256];
    sqlite3_stmt *stmts[STMT_COUNT];
};

/* A sealed value: malloc()ed bytes, or NULL for SQL NULL. */
struct sealed {
    unsigned char *p;
    size_t n;
};

/* Returns the time now, in milliseconds since the epoch. */
int64_t store_now_ms(void);

/* Frees a string the store allocated and handed out as const. */
void store_free_str(const char *p);

/* Overwrites a secret string, then frees it. p may be NULL. */
void store_wipe_str(const char *p);

/*
 * The reason to give for rc in an error message: SQLite's message when
 * SQLite failed, else strerror(-rc). Borrowed from st or static.
 */
const char *store_reason(const struct herald_store *st, int rc);

/* Runs constant SQL text that takes no values. Returns 0 or -errno. */
int store_exec(struct herald_store *st, const char *sql, const char *what);

/* Runs a constant one-row query and reads its integer into *v. */
int store_query_int(struct herald_store *st, const char *sql, int64_t *v);

/*
 * Sets *out to cached statement id, preparing sql on first use; the
 * statement (borrowed) lives until herald_store_close(). Returns 0 or a
 * negative errno value.
 */
int store_stmt(struct herald_store *st, enum store_stmt id, const char *sql,
               sqlite3_stmt **out);

/* Makes s ready for its next use and drops its bindings. */
void store_stmt_done(sqlite3_stmt *s);

/*
 * Steps s, bound with result code, to its end and resets it. Returns 0,
 * or a negative errno value mapped from SQLite's code (-EEXIST for a
 * unique key, -ENOENT for a foreign key, -EBUSY, -ENOSPC, -EROFS,
 * -EINVAL for another constraint, -EIO...) after recording SQLite's
 * message and logging "cannot WHAT in store 'PATH': MESSAGE".
 */
int store_run(struct herald_store *st, sqlite3_stmt *s, int code,
              const char *what);

/*
 * Steps query s, bound with result code. Returns 1 when a row is ready,
 * 0 when there is none, or a negative errno value. The caller resets s
 * with store_stmt_done().
 */
int store_row(struct herald_store *st, sqlite3_stmt *s, int code,
              const char *what);

/*
 * The bind helpers keep the first failure in *code and do nothing once
 * one happened, so a statement is bound in a straight list and checked
 * once. Values are SQLITE_STATIC: they must outlive the step.
 */
void store_bind_text(sqlite3_stmt *s, int i, const char *v, int *code);
void store_bind_int(sqlite3_stmt *s, int i, int64_t v, int *code);

/* Binds v, or NULL when v is 0 (an unknown time, an absent id). */
void store_bind_opt(sqlite3_stmt *s, int i, int64_t v, int *code);

void store_bind_sealed(sqlite3_stmt *s, int i, const struct sealed *v,
                       int *code);

/*
 * Copies text column i into *out (malloc()ed; NULL for SQL NULL). Does
 * nothing once *rc is negative; sets it to -ENOMEM on failure.
 */
void store_col_text(sqlite3_stmt *s, int i, const char **out, int *rc);

/*
 * Parses JSON text column i into *out (new reference; NULL for SQL NULL).
 * Does nothing once *rc is negative; sets it to -EIO on failure.
 */
void store_col_json(sqlite3_stmt *s, int i, json_t **out, int *rc);

/*
 * Opens the sealed blob in column col, bound to ad, into *out: a
 * malloc()ed NUL-terminated secret, or NULL for SQL NULL. Returns 0,
 * -EBADMSG when it fails to open, or another negative errno value.
 */
int store_col_sealed(struct herald_store *st, sqlite3_stmt *s, int col,
                     const char *ad, char **out);

/* Serializes j (borrowed, may be NULL) into *out, malloc()ed or NULL. */
int store_dump_json(const json_t *j, char **out);

/*
 * Ends the transaction a step began with herald_store_begin(): commits
 * when rc is 0, else rolls back. Returns rc, or the commit's failure.
 */
int store_tx_finish(struct herald_store *st, int rc);

/*
 * One sealed column to re-seal with store_reseal(). select takes ?1, a
 * key, and returns the first row after it in key order (LIMIT 1) whose
 * column is not NULL: the key in column 0, the sealed blob in column 1,
 * then whatever ad() reads to name the value. update sets the column to
 * ?2 where the key is ?1. Keys are integers (first bound as -1) unless
 * text_key is set (first bound as '').
 */
struct store_reseal {
    const char *what; /* for messages: "credentials" */
    const char *select;
    const char *update;
    int text_key;
    const char *field; /* handed to ad() */
    /* Writes the associated data of the value in row into ad. */
    void (*ad)(sqlite3_stmt *row, const char *field, char *ad, size_t len);
};

/*
 * store.c: opens every value r describes with the store's key and seals
 * it again with to, inside the caller's transaction; adds the number of
 * values to *count. Returns 0, -EBADMSG when a value does not open (err
 * names the table and row), or another negative errno value.
 */
int store_reseal(struct herald_store *st, const struct herald_key *to,
                 const struct store_reseal *r, int64_t *count,
                 struct herald_error *err);

/* credentials.c, authorizations.c, notices.c: re-seal their sealed
 * columns with store_reseal(), inside the caller's transaction. */
int store_credentials_reseal(struct herald_store *st,
                             const struct herald_key *to, int64_t *count,
                             struct herald_error *err);
int store_auth_reseal(struct herald_store *st, const struct herald_key *to,
                      int64_t *count, struct herald_error *err);
int store_notices_reseal(struct herald_store *st, const struct herald_key *to,
                         int64_t *count, struct herald_error *err);

/* credentials.c: deletes the credentials of account_id, if any, inside
 * the caller's transaction. Returns 0 or a negative errno value. */
int store_credentials_erase(struct herald_store *st, int64_t account_id);

/*
 * migrations.c: reads the schema version into *version and refuses, with
 * err set, a file made by a newer herald (-ENOTSUP) or by another program
 * (-EINVAL). Runs before anything is written, so a refused file is left
 * exactly as it was.
 */
int store_schema_check(struct herald_store *st, int64_t *version,
                       struct herald_error *err);

/*
 * migrations.c: applies every migration after version, each in its own
 * transaction. Returns 0, or a negative errno value with err saying which
 * migration failed and why.
 */
int store_schema_migrate(struct herald_store *st, int64_t version,
                         struct herald_error *err);

#endif
