/*
 * idempotency.c - the store's idempotency keys: the answer given to the
 * first request that carried a key, kept to give it again.
 *
 * The posts API writes the answer in the same transaction as the posts
 * it created, so a key either has its posts and its answer or neither.
 *
 * Invariant: keys are scoped by API key (an id derived from it, never the
 * key itself), so two callers cannot see each other's answers.
 */
#include "store.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

int
herald_store_idempotency_get(struct herald_store *st, const char *key_id,
                             const char *key, char **body_hash, int *status,
                             json_t **response)
{
    static const char sql[] =
        "SELECT body_hash, http_status, response FROM idempotency"
        " WHERE api_key_id = ?1 AND key = ?2";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_IDEMPOTENCY_GET, sql, &s);

    *body_hash = NULL;
    *response = NULL;
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, key_id, &code);
    store_bind_text(s, 2, key, &code);
    rc = store_row(st, s, code, "read an idempotency key");
    if (rc == 1) {
        const char *hash = NULL;

        rc = 0;
        store_col_text(s, 0, &hash, &rc);
        *body_hash = (char *)(uintptr_t)hash;
        *status = (int)sqlite3_column_int64(s, 1);
        store_col_json(s, 2, response, &rc);
    } else if (rc == 0) {
        rc = -ENOENT;
    }
    store_stmt_done(s);
    if (rc < 0) {
        free(*body_hash);
        json_decref(*response);
        *body_hash = NULL;
        *response = NULL;
    }
    return rc;
}

int
herald_store_idempotency_put(struct herald_store *st, const char *key_id,
                             const char *key, const char *body_hash,
                             int status, const json_t *response)
{
    static const char sql[] =
        "INSERT INTO idempotency (api_key_id, key, body_hash, http_status,"
        " response, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    char *text = NULL;
    sqlite3_stmt *s = NULL;
    int code = SQLITE_OK;
    int rc;

    rc = store_dump_json(response, &text);
    if (rc == 0)
        rc = store_stmt(st, STMT_IDEMPOTENCY_PUT, sql, &s);
    if (rc == 0) {
        store_bind_text(s, 1, key_id, &code);
        store_bind_text(s, 2, key, &code);
        store_bind_text(s, 3, body_hash, &code);
        store_bind_int(s, 4, status, &code);
        store_bind_text(s, 5, text, &code);
        store_bind_int(s, 6, store_now_ms(), &code);
        rc = store_run(st, s, code, "store an idempotency key");
    }
    free(text);
    return rc;
}
