/*
 * seed.c - fills a herald store with X accounts and scheduled posts, fast,
 * for the benchmarks in bench/run.sh.
 *
 *   seed --store PATH --key PATH --accounts N --posts N
 *        [--first-due-ms MS] [--spacing-us US] [--sync full|normal|extra]
 *
 * Creates the key file when it is missing (herald_key_generate_file), then
 * writes, in one transaction through the store's own API:
 *
 *   - N active "twitter" accounts, remote ids from 1000000 plus the
 *     number of accounts already in the store (so a store can be seeded
 *     again), each with an
 *     access token "bench-at-<remote id>" valid for three days, a refresh
 *     token, and the keeper's next action planned where the X token model
 *     would plan it (a quarter of the lifetime before expiry);
 *   - N posts, post i on account i % accounts, due at
 *     first-due-ms + i * spacing-us / 1000 (default: now, all at once),
 *     with the text "bench post seq=<i> due=<ms>", which bench/xserver.c
 *     reads back to measure lateness.
 *
 * synchronous defaults to "normal": the seeding is not what is measured,
 * and the one commit at the end is durable either way. Prints what it
 * wrote and how long it took. Exit status 0, 1 on failure, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "store.h"

#define DAY_MS (24 * 3600 * 1000LL)

/* The first remote id; xserver answers /2/users/me with it. */
#define FIRST_REMOTE_ID 1000000

struct options {
    const char *store;
    const char *key;
    const char *sync;
    long long accounts;
    long long posts;
    long long first_due_ms;
    long long spacing_us;
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Creates account number i (from 0 in the store) and its credentials
 * into *id. */
static int
add_account(struct herald_store *st, long long i, int64_t now, int64_t *id)
{
    char remote[32], user[48], display[48], owner[48];
    char access[64], refresh[64];
    int64_t expires = now + 3 * DAY_MS;
    struct herald_store_account a = {
        .network = "twitter",
        .remote_id = remote,
        .username = user,
        .display_name = display,
        .owner_id = owner,
        .status = HERALD_ACCOUNT_ACTIVE,
        .connected_at = now,
        .access_expires_at = expires,
        .last_ok_at = now,
    };
    struct herald_credentials c = {
        .access_token = access,
        .refresh_token = refresh,
        .access_expires_at = expires,
    };
    int rc;

    snprintf(remote, sizeof(remote), "%lld", FIRST_REMOTE_ID + i);
    snprintf(user, sizeof(user), "bench_%s", remote);
    snprintf(display, sizeof(display), "Bench %s", remote);
    snprintf(owner, sizeof(owner), "owner-%07lld", i);
    snprintf(access, sizeof(access), "bench-at-%s", remote);
    snprintf(refresh, sizeof(refresh), "bench-rt-%s", remote);

    rc = herald_store_account_create(st, &a, id);
    if (rc == 0) {
        c.extra = json_pack("{s:s}", "username", user);
        rc = c.extra ? herald_store_credentials_put(st, *id, &c) : -ENOMEM;
        json_decref(c.extra);
    }
    if (rc == 0)
        rc = herald_store_account_plan(st, *id, expires - 3 * DAY_MS / 4);
    return rc;
}

static int
add_post(struct herald_store *st, const struct options *o, long long i,
         long long account, int64_t account_id)
{
    char text[96], owner[48];
    int64_t due = o->first_due_ms + i * o->spacing_us / 1000;
    struct herald_store_post p = {
        .owner_id = owner,
        .account_id = account_id,
        .text = text,
        .scheduled_at = due,
    };
    int64_t id;

    snprintf(owner, sizeof(owner), "owner-%07lld", account);
    snprintf(text, sizeof(text), "bench post seq=%lld due=%lld", i,
             (long long)due);
    return herald_store_post_create(st, &p, &id);
}

static int
seed(struct herald_store *st, const struct options *o)
{
    int64_t *ids = calloc((size_t)o->accounts, sizeof(*ids));
    int64_t now = now_ms();
    int64_t base = 0;
    double t0 = mono_s(), t1 = 0, t2 = 0;
    int rc;

    if (!ids)
        return -ENOMEM;
    rc = herald_store_begin(st);
    if (rc == 0)
        rc = herald_store_count_accounts(st, &base);
    for (long long i = 0; rc == 0 && i < o->accounts; i++)
        rc = add_account(st, base + i, now, &ids[i]);
    t1 = mono_s();
    for (long long i = 0; rc == 0 && i < o->posts; i++)
        rc = add_post(st, o, i, base + i % o->accounts, ids[i % o->accounts]);
    if (rc == 0)
        rc = herald_store_commit(st);
    else
        herald_store_rollback(st);
    t2 = mono_s();
    free(ids);
    if (rc == 0)
        printf("seeded %lld accounts in %.2f s and %lld posts in %.2f s\n",
               o->accounts, t1 - t0, o->posts, t2 - t1);
    return rc;
}

static int
parse(int argc, char **argv, struct options *o)
{
    o->sync = "normal";
    o->first_due_ms = now_ms();
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];

        if (strcmp(k, "--store") == 0)
            o->store = v;
        else if (strcmp(k, "--key") == 0)
            o->key = v;
        else if (strcmp(k, "--sync") == 0)
            o->sync = v;
        else if (strcmp(k, "--accounts") == 0)
            o->accounts = atoll(v);
        else if (strcmp(k, "--posts") == 0)
            o->posts = atoll(v);
        else if (strcmp(k, "--first-due-ms") == 0)
            o->first_due_ms = atoll(v);
        else if (strcmp(k, "--spacing-us") == 0)
            o->spacing_us = atoll(v);
        else
            return -EINVAL;
    }
    if (argc % 2 != 1 || !o->store || !o->key || o->accounts < 1 ||
        o->posts < 0 || o->first_due_ms <= 0 || o->spacing_us < 0)
        return -EINVAL;
    return 0;
}

int
main(int argc, char **argv)
{
    struct options o = {0};
    struct herald_error err = {""};
    struct herald_store *st = NULL;
    struct herald_key key;
    int rc;

    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr,
                "usage: %s --store PATH --key PATH --accounts N --posts N"
                " [--first-due-ms MS] [--spacing-us US] [--sync MODE]\n",
                argv[0]);
        return 2;
    }
    rc = herald_crypto_init();
    if (rc == 0 && access(o.key, F_OK) != 0)
        rc = herald_key_generate_file(o.key, &err);
    if (rc == 0)
        rc = herald_key_load(o.key, &key, &err);
    if (rc == 0)
        rc = herald_store_open(o.store, o.sync, 5000, &key, &st, &err);
    if (rc == 0)
        rc = seed(st, &o);
    herald_store_close(st);
    if (rc != 0) {
        fprintf(stderr, "seed: failed (%s): %s\n", strerror(-rc), err.msg);
        return 1;
    }
    return 0;
}
