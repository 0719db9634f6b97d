/*
 * migrations.c - the store's schema, as an ordered list of migrations,
 * and the code that checks a file's version and applies what it lacks.
 *
 * Migration N takes a store from schema version N - 1 to N in one
 * transaction that ends by setting PRAGMA user_version, so a store is
 * always at exactly one version. store.c calls store_schema_check()
 * before it writes anything to a file it opens, then
 * store_schema_migrate() once the connection is configured.
 *
 * Invariant: a released migration is never edited. A change to the
 * schema is a new entry at the end of the list and a new
 * HERALD_STORE_SCHEMA_VERSION; a file with a newer version than this
 * herald knows is refused, never read or written.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "log.h"
#include "store_private.h"

#define APPLICATION_ID 1213353028 /* "HRLD": marks the file as herald's */

/* The pragma that stamps it; the first migration ends with it. */
#define SET_APPLICATION_ID                                                    \
    "PRAGMA application_id = " HERALD_STR(APPLICATION_ID) ";"

/*
 * Conventions the later modules keep:
 *   - times are INTEGER milliseconds since the epoch, NULL when unknown;
 *   - posts.next_attempt_at is set while a post waits for a time
 *     (scheduled: its schedule; retrying: its retry) and NULL otherwise,
 *     so the partial index posts_due holds only waiting posts, and
 *     posts_queued only the queued ones, in each account's order;
 *   - accounts.hold_until and network_holds keep the time before which
 *     no request may go out for an account or a whole network (a rate
 *     limit's reset, a retry's wait), so a restart honours them;
 *   - accounts.next_action_at is the keeper's next renewal or access
 *     check, NULL when none is planned (so accounts_next holds only
 *     planned ones); renewing_since is set, durably, while a renewal is
 *     in flight, so a crash in between is found at the next start;
 *   - accounts are never deleted, only marked removed, so that posts and
 *     the audit trail keep pointing at them; a removed account's identity
 *     may connect again as a new account;
 *   - events have no foreign keys: the audit trail outlives any row.
 */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value ANY"
    ") STRICT;"

    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  network TEXT NOT NULL,"
    "  remote_id TEXT,"
    "  username TEXT,"
    "  display_name TEXT,"
    "  owner_id TEXT NOT NULL,"
    "  owner_email TEXT,"
    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN"
    "    ('pending', 'active', 'degraded', 'disconnected', 'removed')),"
    "  status_reason TEXT,"
    "  targets TEXT CHECK (targets IS NULL OR json_valid(targets)),"
    "  connected_at INTEGER,"
    "  access_expires_at INTEGER,"
    "  hard_deadline INTEGER,"
    "  reconnect_deadline INTEGER,"
    "  last_ok_at INTEGER,"
    "  status_changed_at INTEGER,"
    "  next_action_at INTEGER,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  renewing_since INTEGER,"
    "  hold_until INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  CHECK (remote_id IS NOT NULL OR status IN ('pending', 'removed'))"
    ") STRICT;"
    "CREATE UNIQUE INDEX accounts_identity ON accounts (network, remote_id)"
    "  WHERE status <> 'removed';"
    "CREATE INDEX accounts_owner ON accounts (owner_id, network);"
    "CREATE INDEX accounts_next ON accounts (next_action_at)"
    "  WHERE next_action_at IS NOT NULL;"
    "CREATE INDEX accounts_renewing ON accounts (renewing_since)"
    "  WHERE renewing_since IS NOT NULL;"

    "CREATE TABLE credentials ("
    "  account_id INTEGER PRIMARY KEY"
    "    REFERENCES accounts (id) ON DELETE CASCADE,"
    "  access_token BLOB,"
    "  refresh_token BLOB,"
    "  extra BLOB,"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE auth_attempts ("
    "  state_hash TEXT PRIMARY KEY,"
    "  network TEXT NOT NULL,"
    "  owner_id TEXT NOT NULL,"
    "  owner_email TEXT,"
    "  account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,"
    "  return_url TEXT,"
    "  verifier BLOB,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX auth_attempts_expiry ON auth_attempts (expires_at);"

    "CREATE TABLE posts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id TEXT NOT NULL,"
    "  account_id INTEGER NOT NULL REFERENCES accounts (id),"
    "  target TEXT,"
    "  text TEXT NOT NULL DEFAULT '',"
    "  link TEXT,"
    "  media TEXT CHECK (media IS NULL OR json_valid(media)),"
    "  scheduled_at INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN"
    "    ('scheduled', 'queued', 'publishing', 'published', 'retrying',"
    "     'blocked', 'failed', 'canceled', 'expired', 'unknown')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER,"
    "  remote_id TEXT,"
    "  remote_url TEXT,"
    "  reason TEXT,"
    "  idempotency_key TEXT,"
    "  first_attempt_at INTEGER,"
    "  expire_after_s INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX posts_due ON posts (next_attempt_at)"
    "  WHERE next_attempt_at IS NOT NULL;"
    "CREATE INDEX posts_queued ON posts (account_id, scheduled_at, id)"
    "  WHERE status = 'queued';"
    "CREATE INDEX posts_account ON posts (account_id, status, scheduled_at);"
    "CREATE INDEX posts_owner ON posts (owner_id, id);"
    "CREATE INDEX posts_status ON posts (status, id);"

    "CREATE TABLE attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,"
    "  operation TEXT NOT NULL DEFAULT 'publish'"
    "    CHECK (operation IN ('publish', 'lookup')),"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  outcome TEXT,"
    "  http_status INTEGER,"
    "  message TEXT,"
    "  checkpoint TEXT CHECK (checkpoint IS NULL OR json_valid(checkpoint))"
    ") STRICT;"
    "CREATE INDEX attempts_post ON attempts (post_id, id);"
    "CREATE INDEX attempts_open ON attempts (post_id)"
    "  WHERE ended_at IS NULL;"

    /* Each reminder sent (or passed over) once per deadline. */
    "CREATE TABLE reminders ("
    "  account_id INTEGER NOT NULL REFERENCES accounts (id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('expiring', 'reconnect')),"
    "  deadline INTEGER NOT NULL,"
    "  days INTEGER NOT NULL,"
    "  sent_at INTEGER NOT NULL,"
    "  PRIMARY KEY (account_id, kind, deadline, days)"
    ") STRICT, WITHOUT ROWID;"

    /* A network-wide wait a rate limit for the whole app imposed. */
    "CREATE TABLE network_holds ("
    "  network TEXT PRIMARY KEY,"
    "  hold_until INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"

    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  account_id INTEGER,"
    "  post_id INTEGER,"
    "  detail TEXT CHECK (detail IS NULL OR json_valid(detail))"
    ") STRICT;"
    "CREATE INDEX events_account ON events (account_id, id)"
    "  WHERE account_id IS NOT NULL;"
    "CREATE INDEX events_post ON events (post_id, id)"
    "  WHERE post_id IS NOT NULL;"

    /* api_key_id names the caller's API key, never holds its secret. */
    "CREATE TABLE idempotency ("
    "  api_key_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  body_hash TEXT NOT NULL,"
    "  http_status INTEGER NOT NULL,"
    "  response TEXT NOT NULL CHECK (json_valid(response)),"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (api_key_id, key)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX idempotency_created ON idempotency (created_at);"

    /*
     * The notifier (notifier.c, notices.c): how far it has read the
     * audit trail, one row; then one notice per event (or group of
     * folded events) and channel, its sealed body, and every attempt at
     * delivering it.
     */
    "CREATE TABLE notice_cursor ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  event_id INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE notices ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),"
    "  event_id INTEGER NOT NULL,"
    "  event_type TEXT NOT NULL,"
    "  account_id INTEGER,"
    "  post_id INTEGER,"
    "  recipient TEXT,"
    "  group_key TEXT,"
    "  events INTEGER NOT NULL DEFAULT 1,"
    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN"
    "    ('pending', 'delivered', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER,"
    "  last_error TEXT,"
    "  body BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  delivered_at INTEGER,"
    "  UNIQUE (event_id, channel)"
    ") STRICT;"
    "CREATE UNIQUE INDEX notices_group ON notices (group_key, channel)"
    "  WHERE group_key IS NOT NULL;"
    "CREATE INDEX notices_due ON notices (next_attempt_at, id)"
    "  WHERE next_attempt_at IS NOT NULL;"
    "CREATE INDEX notices_account ON notices (account_id, id);"
    "CREATE INDEX notices_status ON notices (status, id);"
    "CREATE TABLE notice_attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  notice_id INTEGER NOT NULL REFERENCES notices (id)"
    "    ON DELETE CASCADE,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  outcome TEXT,"
    "  code INTEGER,"
    "  error TEXT"
    ") STRICT;"
    "CREATE INDEX notice_attempts_notice ON notice_attempts (notice_id, id);"
    "CREATE INDEX notice_attempts_open ON notice_attempts (notice_id)"
    "  WHERE ended_at IS NULL;"

    /* One-time reauthorization links (links.c): the token's SHA-256
     * only, never the token. */
    "CREATE TABLE reauth_links ("
    "  token_hash TEXT PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES accounts (id),"
    "  event_id INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX reauth_links_expiry ON reauth_links (expires_at);"

    SET_APPLICATION_ID "PRAGMA user_version = 1;",

    /* 2: the number of posts and of accounts in each network and state,
     * kept by triggers so GET /metrics reads a few rows instead of
     * counting a million (counts.c). Rows that fall to 0 stay. */
    "CREATE TABLE post_counts ("
    "  network TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY (network, status)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO post_counts (network, status, n)"
    "  SELECT a.network, p.status, count(*) FROM posts p"
    "  JOIN accounts a ON a.id = p.account_id GROUP BY a.network, p.status;"
    "CREATE TRIGGER post_counts_insert AFTER INSERT ON posts BEGIN"
    "  INSERT INTO post_counts (network, status, n)"
    "    SELECT network, NEW.status, 1 FROM accounts"
    "    WHERE id = NEW.account_id"
    "    ON CONFLICT (network, status) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TRIGGER post_counts_update AFTER UPDATE OF status, account_id"
    "  ON posts WHEN OLD.status IS NOT NEW.status"
    "  OR OLD.account_id IS NOT NEW.account_id BEGIN"
    "  UPDATE post_counts SET n = n - 1 WHERE status = OLD.status"
    "    AND network = (SELECT network FROM accounts"
    "                   WHERE id = OLD.account_id);"
    "  INSERT INTO post_counts (network, status, n)"
    "    SELECT network, NEW.status, 1 FROM accounts"
    "    WHERE id = NEW.account_id"
    "    ON CONFLICT (network, status) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TRIGGER post_counts_delete AFTER DELETE ON posts BEGIN"
    "  UPDATE post_counts SET n = n - 1 WHERE status = OLD.status"
    "    AND network = (SELECT network FROM accounts"
    "                   WHERE id = OLD.account_id);"
    "END;"
    "CREATE TABLE account_counts ("
    "  network TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY (network, status)"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO account_counts (network, status, n)"
    "  SELECT network, status, count(*) FROM accounts"
    "  GROUP BY network, status;"
    "CREATE TRIGGER account_counts_insert AFTER INSERT ON accounts BEGIN"
    "  INSERT INTO account_counts (network, status, n)"
    "    VALUES (NEW.network, NEW.status, 1)"
    "    ON CONFLICT (network, status) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TRIGGER account_counts_update AFTER UPDATE OF status, network"
    "  ON accounts WHEN OLD.status IS NOT NEW.status"
    "  OR OLD.network IS NOT NEW.network BEGIN"
    "  UPDATE account_counts SET n = n - 1"
    "    WHERE network = OLD.network AND status = OLD.status;"
    "  INSERT INTO account_counts (network, status, n)"
    "    VALUES (NEW.network, NEW.status, 1)"
    "    ON CONFLICT (network, status) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TRIGGER account_counts_delete AFTER DELETE ON accounts BEGIN"
    "  UPDATE account_counts SET n = n - 1"
    "    WHERE network = OLD.network AND status = OLD.status;"
    "END;"
    "PRAGMA user_version = 2;",
};

#define MIGRATION_COUNT (int)(sizeof(migrations) / sizeof(migrations[0]))

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
                   HERALD_STORE_SCHEMA_VERSION,
               "one migration per schema version");

int
store_schema_check(struct herald_store *st, int64_t *version,
                   struct herald_error *err)
{
    int64_t app_id = 0;
    int64_t objects = 0;
    int rc;

    rc = store_query_int(st, "PRAGMA user_version", version);
    if (rc == 0)
        rc = store_query_int(st, "PRAGMA application_id", &app_id);
    if (rc == 0)
        rc = store_query_int(st, "SELECT count(*) FROM sqlite_master",
                             &objects);
    if (rc < 0) {
        herald_error_set(err, "cannot open store '%s': %s", st->path,
                         store_reason(st, rc));
        return rc;
    }

    if (*version > HERALD_STORE_SCHEMA_VERSION) {
        herald_error_set(err,
                         "store '%s' has schema version %" PRId64
                         ", newer than this herald (%d); upgrade herald",
                         st->path, *version, HERALD_STORE_SCHEMA_VERSION);
        return -ENOTSUP;
    }
    if (*version == 0 ? objects != 0 : app_id != APPLICATION_ID) {
        herald_error_set(err,
                         "cannot open store '%s': the database belongs to "
                         "another program",
                         st->path);
        return -EINVAL;
    }
    return 0;
}

/* Runs migration from + 1 unless another process ran it meanwhile. */
static int
apply_migration(struct herald_store *st, int from)
{
    int64_t version = 0;
    int rc = herald_store_begin(st);

    if (rc < 0)
        return rc;
    rc = store_query_int(st, "PRAGMA user_version", &version);
    if (rc == 0 && version == from) {
        rc = store_exec(st, migrations[from], "migrate");
        if (rc == 0)
            rc = store_query_int(st, "PRAGMA user_version", &version);
        if (rc == 0 && version != from + 1) {
            snprintf(st->last_error, sizeof(st->last_error),
                     "migration %d left schema version %" PRId64, from + 1,
                     version);
            rc = -EPROTO;
        }
    }
    return store_tx_finish(st, rc);
}

int
store_schema_migrate(struct herald_store *st, int64_t version,
                     struct herald_error *err)
{
    int rc = 0;

    for (int v = (int)version; v < MIGRATION_COUNT; v++) {
        rc = apply_migration(st, v);
        if (rc < 0) {
            herald_error_set(err,
                             "cannot migrate store '%s' to schema version "
                             "%d: %s",
                             st->path, v + 1, store_reason(st, rc));
            break;
        }
        HLOG(LOG_NOTICE, STORE_SUBSYSTEM,
             "store '%s' migrated to schema version %d", st->path, v + 1);
    }
    return rc;
}

int
herald_store_schema_version(struct herald_store *st)
{
    int64_t version = 0;
    int rc = store_query_int(st, "PRAGMA user_version", &version);

    return rc < 0 ? rc : (int)version;
}
