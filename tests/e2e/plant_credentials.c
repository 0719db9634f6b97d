/*
 * plant_credentials.c - writes an account with known credentials into a
 * store, for the end-to-end test that proves they never leave it in the
 * clear.
 *
 *   plant_credentials STORE KEY_FILE ACCESS REFRESH PAGE_TOKEN
 */
#include <stdio.h>

#include "crypto.h"
#include "store.h"

int
main(int argc, char **argv)
{
    struct herald_store_account account = {
        .network = "fixture",
        .remote_id = "remote-1",
        .username = "planted",
        .owner_id = "owner-1",
        .owner_email = "owner@example.test",
        .status = HERALD_ACCOUNT_ACTIVE,
    };
    struct herald_error err = {""};
    struct herald_credentials creds = {0};
    struct herald_store *st = NULL;
    struct herald_key key;
    int64_t id = 0;
    int rc;

    if (argc != 6) {
        fprintf(stderr, "usage: %s STORE KEY ACCESS REFRESH PAGE\n", argv[0]);
        return 2;
    }
    rc = herald_crypto_init();
    if (rc == 0)
        rc = herald_key_load(argv[2], &key, &err);
    if (rc == 0)
        rc = herald_store_open(argv[1], "full", 1000, &key, &st, &err);
    if (rc == 0)
        rc = herald_store_account_create(st, &account, &id);
    if (rc == 0) {
        creds.access_token = argv[3];
        creds.refresh_token = argv[4];
        creds.extra = json_pack("{s:s}", "page-1", argv[5]);
        rc = herald_store_credentials_put(st, id, &creds);
        json_decref(creds.extra);
    }
    herald_store_close(st);
    if (rc != 0) {
        fprintf(stderr, "plant failed (%d): %s\n", rc, err.msg);
        return 1;
    }
    return 0;
}
