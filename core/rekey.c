/*
 * rekey.c - "herald rekey": re-seals a stopped daemon's store under a new
 * key (see rekey.h).
 *
 * The order is what keeps a refusal harmless: every check that can fail
 * (arguments, configuration, the store's lock, both keys, the schema
 * version, the old key against the store) runs before the one
 * transaction that writes, and that transaction either commits
 * everything under the new key or leaves the store as it was.
 */
#include "rekey.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "crypto.h"
#include "lockfile.h"
#include "log.h"
#include "store.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: herald rekey --config FILE --new-key FILE\n"
    "\n"
    "With the daemon stopped, re-seals every secret in the store of the\n"
    "configuration FILE under the key in --new-key (make one with\n"
    "'herald keygen'), in one transaction. Then point key_file at the new\n"
    "key. Keep the old key as long as you keep backups made with it.\n";

/* The arguments and what the command holds while it runs. */
struct rekey {
    const char *config_path;
    const char *new_key_path;
    struct herald_config *cfg;
    struct herald_lockfile *lock;
    struct herald_key old_key;
    struct herald_key new_key;
    struct herald_store_rekey_counts counts;
    int committed; /* the store is under the new key */
};

/*
 * Returns the slot of option arg ("--NAME" or "--NAME=VALUE"), setting
 * *inline_value for the second form; NULL for an unknown argument.
 */
static const char **
option_slot(struct rekey *r, const char *arg, const char **inline_value)
{
    static const char *const names[] = {"--config", "--new-key"};
    const char **slots[] = {&r->config_path, &r->new_key_path};

    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        size_t n = strlen(names[i]);

        if (strncmp(arg, names[i], n) != 0)
            continue;
        if (arg[n] == '=')
            *inline_value = arg + n + 1;
        if (arg[n] == '=' || arg[n] == '\0')
            return slots[i];
    }
    return NULL;
}

/* Reads --config and --new-key. Returns 0, -1 for help, or EXIT_USAGE. */
static int
parse_args(int argc, char **argv, struct rekey *r)
{
    for (int i = 0; i < argc; i++) {
        const char *value = NULL;
        const char **slot = option_slot(r, argv[i], &value);

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return -1;
        if (!slot) {
            fprintf(stderr, "herald: unknown argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
        if (!value && i + 1 >= argc) {
            fprintf(stderr, "herald: option '%s' needs a value\n", argv[i]);
            return EXIT_USAGE;
        }
        *slot = value ? value : argv[++i];
    }
    if (!r->config_path || !r->new_key_path) {
        fprintf(stderr, "herald: rekey needs --config FILE and --new-key "
                        "FILE\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* Refuses a store that does not exist or is not at this schema version:
 * opening it would create or migrate it. */
static int
check_version(const char *store_path, struct herald_error *err)
{
    int64_t version = 0;
    int rc = herald_store_file_version(store_path, &version, err);

    if (rc < 0)
        return rc;
    if (version != HERALD_STORE_SCHEMA_VERSION) {
        herald_error_set(err,
                         "store '%s' has schema version %lld, this herald "
                         "%d; %s",
                         store_path, (long long)version,
                         HERALD_STORE_SCHEMA_VERSION,
                         version < HERALD_STORE_SCHEMA_VERSION
                             ? "start 'herald serve' once to migrate it, "
                               "then re-key"
                             : "re-key with the herald that wrote it");
        return -ENOTSUP;
    }
    return 0;
}

/* Loads both keys and refuses the same key twice. */
static int
load_keys(struct rekey *r, struct herald_error *err)
{
    int rc = herald_key_load(r->cfg->key_file, &r->old_key, err);

    if (rc == 0)
        rc = herald_key_load(r->new_key_path, &r->new_key, err);
    if (rc == 0 && herald_crypto_equal(r->old_key.bytes, r->new_key.bytes,
                                       sizeof(r->new_key.bytes))) {
        herald_error_set(err,
                         "'%s' holds the key already in use (key_file "
                         "'%s'); make a new one with 'herald keygen'",
                         r->new_key_path, r->cfg->key_file);
        rc = -EINVAL;
    }
    return rc;
}

/* Opens the store with key; names the key file when it does not match. */
static int
open_store(struct rekey *r, const struct herald_key *key, const char *key_path,
           struct herald_store **st, struct herald_error *err)
{
    const struct herald_config *cfg = r->cfg;
    int rc = herald_store_open(cfg->store_path, cfg->store_synchronous,
                               cfg->store_busy_timeout_ms, key, st, err);

    if (rc == -EACCES)
        herald_error_set(err, "key file '%s' does not match store '%s'",
                         key_path, cfg->store_path);
    return rc;
}

/* Re-seals under the new key, then proves the store opens with it. */
static int
rekey_store(struct rekey *r, struct herald_error *err)
{
    struct herald_store *st = NULL;
    int rc = open_store(r, &r->old_key, r->cfg->key_file, &st, err);

    if (rc == 0)
        rc = herald_store_rekey(st, &r->new_key, &r->counts, err);
    r->committed = rc == 0;
    herald_store_close(st);
    st = NULL;
    if (rc == 0)
        rc = open_store(r, &r->new_key, r->new_key_path, &st, err);
    herald_store_close(st);
    return rc;
}

/* Every step before the write, then the write. */
static int
run(struct rekey *r, struct herald_error *err)
{
    int rc;

    if (herald_crypto_init() != 0) {
        herald_error_set(err, "cannot initialise libsodium");
        return -EIO;
    }
    rc = herald_config_load(r->config_path, &r->cfg, err);
    if (rc == 0)
        rc = check_version(r->cfg->store_path, err);
    if (rc == 0)
        rc = herald_lockfile_take(r->cfg->store_path, &r->lock, err);
    if (rc == 0)
        rc = load_keys(r, err);
    if (rc == 0)
        rc = rekey_store(r, err);
    return rc;
}

static void
report(const struct rekey *r)
{
    printf("store '%s' re-sealed under '%s': %lld credential value(s), "
           "%lld authorization attempt(s), %lld notice(s)\n",
           r->cfg->store_path, r->new_key_path,
           (long long)r->counts.credentials,
           (long long)r->counts.authorizations, (long long)r->counts.notices);
    printf("next: point key_file in '%s' at '%s' (or move it over '%s') "
           "before starting herald; keep the old key as long as backups "
           "made with it exist\n",
           r->config_path, r->new_key_path, r->cfg->key_file);
}

int
herald_rekey_command(int argc, char **argv)
{
    struct herald_error err = {""};
    struct rekey r;
    int rc;

    memset(&r, 0, sizeof(r));
    rc = parse_args(argc, argv, &r);
    if (rc != 0) {
        fputs(usage_text, rc < 0 ? stdout : stderr);
        return rc < 0 ? 0 : rc;
    }

    /* The store's own notices (a migration, say) are not news here. */
    herald_log_level = LOG_WARNING;
    rc = run(&r, &err);
    if (rc == 0)
        report(&r);
    else if (r.committed)
        fprintf(stderr, "herald: store re-sealed under '%s', but %s\n",
                r.new_key_path, err.msg);
    else
        fprintf(stderr, "herald: %s; nothing was changed\n", err.msg);

    herald_lockfile_release(r.lock);
    herald_config_free(r.cfg);
    sodium_memzero(&r.old_key, sizeof(r.old_key));
    sodium_memzero(&r.new_key, sizeof(r.new_key));
    return rc == 0 ? 0 : 1;
}
