/*
 * accounts.c - the store's accounts: the rows of the accounts table, who
 * owns each, its status and deadlines, and the keeper's plan for it.
 *
 * Its callers are the parts of the core that connect, show, keep and
 * remove accounts. The tokens of an account live in credentials.c.
 *
 * Invariant: an account is never deleted, only marked removed (its
 * credentials erased in the same transaction), so posts and the audit
 * trail keep pointing at it.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_private.h"

static const char *const status_names[] = {
    [HERALD_ACCOUNT_PENDING] = "pending",
    [HERALD_ACCOUNT_ACTIVE] = "active",
    [HERALD_ACCOUNT_DEGRADED] = "degraded",
    [HERALD_ACCOUNT_DISCONNECTED] = "disconnected",
    [HERALD_ACCOUNT_REMOVED] = "removed",
};

#define STATUS_COUNT (sizeof(status_names) / sizeof(status_names[0]))

/* Accounts */

const char *
herald_store_account_status_name(enum herald_account_status s)
{
    if ((unsigned)s >= STATUS_COUNT)
        return "unknown";
    return status_names[s];
}

int
herald_store_account_status_parse(const char *name,
                                  enum herald_account_status *s)
{
    for (unsigned i = 0; i < STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *s = (enum herald_account_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int
bind_account(sqlite3_stmt *s, const struct herald_store_account *a,
             const char *targets, int64_t now)
{
    int code = SQLITE_OK;

    store_bind_text(s, 1, a->network, &code);
    store_bind_text(s, 2, a->remote_id, &code);
    store_bind_text(s, 3, a->username, &code);
    store_bind_text(s, 4, a->display_name, &code);
    store_bind_text(s, 5, a->owner_id, &code);
    store_bind_text(s, 6, a->owner_email, &code);
    store_bind_text(s, 7, herald_store_account_status_name(a->status), &code);
    store_bind_text(s, 8, a->status_reason, &code);
    store_bind_text(s, 9, targets, &code);
    store_bind_opt(s, 10, a->connected_at, &code);
    store_bind_opt(s, 11, a->access_expires_at, &code);
    store_bind_opt(s, 12, a->hard_deadline, &code);
    store_bind_opt(s, 13, a->reconnect_deadline, &code);
    store_bind_opt(s, 14, a->last_ok_at, &code);
    store_bind_int(s, 15, now, &code);
    return code;
}

int
herald_store_account_create(struct herald_store *st,
                            const struct herald_store_account *in, int64_t *id)
{
    static const char sql[] =
        "INSERT INTO accounts (network, remote_id, username, display_name,"
        " owner_id, owner_email, status, status_reason, targets,"
        " connected_at, access_expires_at, hard_deadline,"
        " reconnect_deadline, last_ok_at, created_at, updated_at,"
        " status_changed_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?15, ?15)";
    char *targets = NULL;
    sqlite3_stmt *s = NULL;
    int rc;

    *id = 0;
    if (!in->network || !in->owner_id || (unsigned)in->status >= STATUS_COUNT)
        return -EINVAL;

    rc = store_dump_json(in->targets, &targets);
    if (rc == 0)
        rc = store_stmt(st, STMT_ACCOUNT_INSERT, sql, &s);
    if (rc == 0)
        rc = store_run(st, s, bind_account(s, in, targets, store_now_ms()),
                       "create an account");
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(st->db);

    free(targets);
    return rc;
}

/* The columns read_account() reads, in its order. */
#define ACCOUNT_COLUMNS                                                       \
    "id, network, remote_id, username, display_name, owner_id,"               \
    " owner_email, status, status_reason, targets, connected_at,"             \
    " access_expires_at, hard_deadline, reconnect_deadline, last_ok_at,"      \
    " created_at, updated_at, status_changed_at, next_action_at, failures,"   \
    " renewing_since, hold_until"

static int
read_account(sqlite3_stmt *s, struct herald_store_account *a)
{
    const char *status = NULL;
    int rc = 0;

    a->id = sqlite3_column_int64(s, 0);
    store_col_text(s, 1, &a->network, &rc);
    store_col_text(s, 2, &a->remote_id, &rc);
    store_col_text(s, 3, &a->username, &rc);
    store_col_text(s, 4, &a->display_name, &rc);
    store_col_text(s, 5, &a->owner_id, &rc);
    store_col_text(s, 6, &a->owner_email, &rc);
    store_col_text(s, 7, &status, &rc);
    store_col_text(s, 8, &a->status_reason, &rc);
    store_col_json(s, 9, &a->targets, &rc);
    a->connected_at = sqlite3_column_int64(s, 10);
    a->access_expires_at = sqlite3_column_int64(s, 11);
    a->hard_deadline = sqlite3_column_int64(s, 12);
    a->reconnect_deadline = sqlite3_column_int64(s, 13);
    a->last_ok_at = sqlite3_column_int64(s, 14);
    a->created_at = sqlite3_column_int64(s, 15);
    a->updated_at = sqlite3_column_int64(s, 16);
    a->status_changed_at = sqlite3_column_int64(s, 17);
    a->next_action_at = sqlite3_column_int64(s, 18);
    a->failures = sqlite3_column_int64(s, 19);
    a->renewing_since = sqlite3_column_int64(s, 20);
    a->hold_until = sqlite3_column_int64(s, 21);

    if (rc == 0 && herald_store_account_status_parse(status, &a->status) < 0)
        rc = -EIO;
    store_free_str(status);
    return rc;
}

int
herald_store_account_get(struct herald_store *st, int64_t id,
                         struct herald_store_account *out)
{
    static const char sql[] =
        "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store_stmt(st, STMT_ACCOUNT_GET, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    rc = store_row(st, s, code, "read an account");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = read_account(s, out);
    store_stmt_done(s);

    if (rc < 0)
        herald_store_account_clear(out);
    return rc;
}

void
herald_store_account_clear(struct herald_store_account *a)
{
    if (!a)
        return;
    store_free_str(a->network);
    store_free_str(a->remote_id);
    store_free_str(a->username);
    store_free_str(a->display_name);
    store_free_str(a->owner_id);
    store_free_str(a->owner_email);
    store_free_str(a->status_reason);
    json_decref(a->targets);
    memset(a, 0, sizeof(*a));
}

int
herald_store_count_accounts(struct herald_store *st, int64_t *n)
{
    static const char sql[] =
        "SELECT count(*) FROM accounts WHERE status <> 'removed'";
    sqlite3_stmt *s;
    int rc;

    *n = 0;
    rc = store_stmt(st, STMT_ACCOUNT_COUNT, sql, &s);
    if (rc < 0)
        return rc;
    rc = store_row(st, s, SQLITE_OK, "count accounts");
    if (rc == 1) {
        *n = sqlite3_column_int64(s, 0);
        rc = 0;
    }
    store_stmt_done(s);
    return rc;
}

/* Reads the one account row query s finds into *out. */
static int
read_one(struct herald_store *st, sqlite3_stmt *s, int code,
         struct herald_store_account *out, const char *what)
{
    int rc = store_row(st, s, code, what);

    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = read_account(s, out);
    store_stmt_done(s);
    if (rc < 0)
        herald_store_account_clear(out);
    return rc;
}

int
herald_store_account_find(struct herald_store *st, const char *network,
                          const char *remote_id,
                          struct herald_store_account *out)
{
    static const char sql[] =
        "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE network = ?1"
        " AND remote_id = ?2 AND status <> 'removed'";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store_stmt(st, STMT_ACCOUNT_FIND, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, network, &code);
    store_bind_text(s, 2, remote_id, &code);
    return read_one(st, s, code, out, "find an account");
}

/* Runs an UPDATE of one account; -ENOENT when it changed no row. */
static int
update_one(struct herald_store *st, sqlite3_stmt *s, int code,
           const char *what)
{
    int rc = store_run(st, s, code, what);

    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = -ENOENT;
    return rc;
}

int
herald_store_account_reconnect(struct herald_store *st, int64_t id,
                               const struct herald_store_account *in)
{
    static const char sql[] =
        "UPDATE accounts SET username = ?2, display_name = ?3,"
        " owner_email = coalesce(?4, owner_email), targets = ?5,"
        " connected_at = ?6, last_ok_at = ?7, status = 'active',"
        " status_reason = NULL, reconnect_deadline = NULL, failures = 0,"
        " renewing_since = NULL, hold_until = NULL,"
        " status_changed_at = ?8, updated_at = ?8"
        " WHERE id = ?1 AND status <> 'removed'";
    char *targets = NULL;
    sqlite3_stmt *s = NULL;
    int code = SQLITE_OK;
    int rc;

    rc = store_dump_json(in->targets, &targets);
    if (rc == 0)
        rc = store_stmt(st, STMT_ACCOUNT_RECONNECT, sql, &s);
    if (rc == 0) {
        store_bind_int(s, 1, id, &code);
        store_bind_text(s, 2, in->username, &code);
        store_bind_text(s, 3, in->display_name, &code);
        store_bind_text(s, 4, in->owner_email, &code);
        store_bind_text(s, 5, targets, &code);
        store_bind_opt(s, 6, in->connected_at, &code);
        store_bind_opt(s, 7, in->last_ok_at, &code);
        store_bind_int(s, 8, store_now_ms(), &code);
        rc = update_one(st, s, code, "reconnect an account");
    }
    free(targets);
    return rc;
}

int
herald_store_account_list(struct herald_store *st,
                          const struct herald_store_account_filter *f,
                          struct herald_store_account *out, size_t max,
                          size_t *n)
{
    static const char sql[] =
        "SELECT " ACCOUNT_COLUMNS " FROM accounts"
        " WHERE (?1 IS NULL OR owner_id = ?1)"
        " AND (?2 IS NULL OR network = ?2)"
        " AND (?3 IS NULL AND status <> 'removed' OR status = ?3)"
        " AND id > ?4 ORDER BY id LIMIT ?5";
    const char *status = f->status >= 0
                             ? herald_store_account_status_name(
                                   (enum herald_account_status)f->status)
                             : NULL;
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    *n = 0;
    rc = store_stmt(st, STMT_ACCOUNT_LIST, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, f->owner_id, &code);
    store_bind_text(s, 2, f->network, &code);
    store_bind_text(s, 3, status, &code);
    store_bind_int(s, 4, f->after_id, &code);
    store_bind_int(s, 5, (int64_t)max, &code);
    while (*n < max && (rc = store_row(st, s, code, "list accounts")) == 1) {
        memset(&out[*n], 0, sizeof(out[*n]));
        rc = read_account(s, &out[*n]);
        (*n)++;
        if (rc < 0)
            break;
    }
    store_stmt_done(s);
    if (rc < 0) {
        for (size_t i = 0; i < *n; i++)
            herald_store_account_clear(&out[i]);
        *n = 0;
        return rc;
    }
    return 0;
}

int
herald_store_account_set_status(struct herald_store *st, int64_t id,
                                enum herald_account_status status,
                                const char *reason, int64_t now,
                                int64_t reconnect_deadline)
{
    static const char sql[] =
        "UPDATE accounts SET status = ?2, status_reason = ?3,"
        " status_changed_at = ?4, updated_at = ?4,"
        " reconnect_deadline = ?5 WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    if ((unsigned)status >= STATUS_COUNT)
        return -EINVAL;
    rc = store_stmt(st, STMT_ACCOUNT_STATUS, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_text(s, 2, herald_store_account_status_name(status), &code);
    store_bind_text(s, 3, reason, &code);
    store_bind_int(s, 4, now, &code);
    store_bind_opt(s, 5, reconnect_deadline, &code);
    return update_one(st, s, code, "change an account's status");
}

int
herald_store_account_remove(struct herald_store *st, int64_t id)
{
    static const char sql[] =
        "UPDATE accounts SET status = 'removed', status_reason = 'removed',"
        " next_action_at = NULL, renewing_since = NULL,"
        " status_changed_at = ?2, updated_at = ?2 WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    rc = herald_store_begin(st);
    if (rc < 0)
        return rc;
    rc = store_stmt(st, STMT_ACCOUNT_REMOVE, sql, &s);
    if (rc == 0) {
        store_bind_int(s, 1, id, &code);
        store_bind_int(s, 2, store_now_ms(), &code);
        rc = update_one(st, s, code, "remove an account");
    }
    if (rc == 0)
        rc = store_credentials_erase(st, id);
    if (rc == 0)
        rc = herald_store_event_append(st, "account.removed", id, 0, NULL);
    return store_tx_finish(st, rc);
}

/* Sets one nullable time column of an account (the statement's ?2). */
static int
set_time(struct herald_store *st, enum store_stmt id_stmt, const char *sql,
         int64_t id, int64_t v, const char *what)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, id_stmt, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_opt(s, 2, v, &code);
    return store_run(st, s, code, what);
}

int
herald_store_account_plan(struct herald_store *st, int64_t id,
                          int64_t next_action_at)
{
    static const char sql[] =
        "UPDATE accounts SET next_action_at = ?2 WHERE id = ?1";

    return set_time(st, STMT_ACCOUNT_PLAN, sql, id, next_action_at,
                    "plan an account's next action");
}

int
herald_store_account_renewing(struct herald_store *st, int64_t id,
                              int64_t since)
{
    static const char sql[] =
        "UPDATE accounts SET renewing_since = ?2 WHERE id = ?1";

    return set_time(st, STMT_ACCOUNT_RENEWING, sql, id, since,
                    "mark a renewal");
}

int
herald_store_account_ok(struct herald_store *st, int64_t id, int64_t now)
{
    static const char sql[] =
        "UPDATE accounts SET last_ok_at = ?2, failures = 0 WHERE id = ?1";

    return set_time(st, STMT_ACCOUNT_OK, sql, id, now,
                    "record a successful call");
}

int
herald_store_account_failed(struct herald_store *st, int64_t id, int *failures)
{
    static const char sql[] = "UPDATE accounts SET failures = failures + 1"
                              " WHERE id = ?1 RETURNING failures";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_ACCOUNT_FAILED, sql, &s);

    *failures = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    rc = store_row(st, s, code, "count a failure");
    if (rc == 1) {
        *failures = (int)sqlite3_column_int64(s, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = -ENOENT;
    }
    store_stmt_done(s);
    return rc;
}

int
herald_store_account_next_action(struct herald_store *st, int64_t *at)
{
    static const char sql[] =
        "SELECT next_action_at FROM accounts WHERE next_action_at IS NOT"
        " NULL AND status IN ('active', 'degraded', 'disconnected')"
        " ORDER BY next_action_at LIMIT 1";
    sqlite3_stmt *s;
    int rc = store_stmt(st, STMT_ACCOUNT_NEXT, sql, &s);

    *at = 0;
    if (rc < 0)
        return rc;
    rc = store_row(st, s, SQLITE_OK, "find the next account action");
    if (rc == 1) {
        *at = sqlite3_column_int64(s, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = -ENOENT;
    }
    store_stmt_done(s);
    return rc;
}

/* Reads the first column of every row of s into ids[], up to max. */
static int
read_ids(struct herald_store *st, sqlite3_stmt *s, int code, int64_t *ids,
         size_t max, size_t *n, const char *what)
{
    int rc;

    *n = 0;
    while (*n < max && (rc = store_row(st, s, code, what)) == 1)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return rc < 0 ? rc : 0;
}

int
herald_store_accounts_due(struct herald_store *st, int64_t now, int64_t *ids,
                          size_t max, size_t *n)
{
    static const char sql[] =
        "SELECT id FROM accounts WHERE next_action_at <= ?1"
        " AND status IN ('active', 'degraded', 'disconnected')"
        " ORDER BY next_action_at LIMIT ?2";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_ACCOUNT_DUE, sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, now, &code);
    store_bind_int(s, 2, (int64_t)max, &code);
    return read_ids(st, s, code, ids, max, n, "find due accounts");
}

int
herald_store_accounts_renewing(struct herald_store *st, int64_t *ids,
                               size_t max, size_t *n)
{
    static const char sql[] =
        "SELECT id FROM accounts WHERE renewing_since IS NOT NULL"
        " AND status <> 'removed' ORDER BY id LIMIT ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_ACCOUNT_RENEWING_LIST, sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, (int64_t)max, &code);
    return read_ids(st, s, code, ids, max, n, "find interrupted renewals");
}

int
herald_store_reminder_sent(struct herald_store *st, int64_t account_id,
                           const char *kind, int64_t deadline, int days)
{
    static const char sql[] =
        "SELECT 1 FROM reminders WHERE account_id = ?1 AND kind = ?2"
        " AND deadline BETWEEN ?3 - 86400000 AND ?3 + 86400000"
        " AND days = ?4";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_REMINDER_SENT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    store_bind_text(s, 2, kind, &code);
    store_bind_int(s, 3, deadline, &code);
    store_bind_int(s, 4, days, &code);
    rc = store_row(st, s, code, "read a reminder");
    store_stmt_done(s);
    return rc;
}

int
herald_store_reminder_put(struct herald_store *st, int64_t account_id,
                          const char *kind, int64_t deadline, int days,
                          int64_t now)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO reminders (account_id, kind, deadline, days,"
        " sent_at) VALUES (?1, ?2, ?3, ?4, ?5)";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_REMINDER_PUT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    store_bind_text(s, 2, kind, &code);
    store_bind_int(s, 3, deadline, &code);
    store_bind_int(s, 4, days, &code);
    store_bind_int(s, 5, now, &code);
    return store_run(st, s, code, "record a reminder");
}
