/*
 * fuzz_config.c - the configuration loader, fuzzed.
 *
 * Each input is the text of a configuration file. It is written to the
 * engine file and to a network file in a private directory under /tmp,
 * then loaded as the engine configuration (core/config.c) and as the
 * network file of a plugin whose schema has a key of every type, secret
 * ones included (core/schema.c, which points into the text with
 * core/jsonpos.c). Errors are expected; a crash, a leak, a read out of
 * bounds, a failure without a message or a message quoting a resolved
 * secret is a bug.
 *
 * A secret reference may name the environment variable
 * HERALD_FUZZ_SECRET or the file "secret" beside the configuration, both
 * set up here, so references that resolve are reached too.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define SECRET_VALUE "s3cret-fuzz-value-7f1c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A plugin's keys: one of every type, secrets among them. */
static const struct herald_config_key plugin_schema[] = {
    {"api_base", HERALD_CONF_URL, 0, 0, "\"https://api.example.com\"",
     "where the network's API is"},
    {"api_version", HERALD_CONF_STRING, 0, 0, "\"v1\"", "API version"},
    {"page_limit", HERALD_CONF_INTEGER, 0, 0, "25", "pages asked for"},
    {"organizations", HERALD_CONF_BOOLEAN, 0, 0, "false",
     "post as organizations"},
    {"app_token", HERALD_CONF_STRING, 0, 1, NULL, "a secret string"},
    {"signing_keys", HERALD_CONF_STRING_ARRAY, 0, 1, "[]", "secret strings"},
    {"hosts", HERALD_CONF_STRING_ARRAY, 0, 0, "[\"a\"]", "plain strings"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const char *const default_scopes[] = {"read", "write", NULL};

static char dir[] = "/tmp/herald-fuzz-config-XXXXXX";
static char engine_path[sizeof(dir) + 16];
static char network_dir[sizeof(dir) + 16];
static char network_path[sizeof(dir) + 32];
static char secret_path[sizeof(dir) + 16];

static void
die(const char *what)
{
    perror(what);
    abort();
}

static void
write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        die(path);
    close(fd);
}

static void
remove_files(void)
{
    unlink(engine_path);
    unlink(network_path);
    unlink(secret_path);
    rmdir(network_dir);
    rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(engine_path, sizeof(engine_path), "%s/herald.json", dir);
    snprintf(network_dir, sizeof(network_dir), "%s/networks", dir);
    snprintf(network_path, sizeof(network_path), "%s/fuzz.json", network_dir);
    snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);
    if (mkdir(network_dir, 0700) != 0)
        die(network_dir);
    write_file(secret_path, (const uint8_t *)SECRET_VALUE "\n",
               strlen(SECRET_VALUE) + 1);
    setenv("HERALD_FUZZ_SECRET", SECRET_VALUE, 1);
    atexit(remove_files);
    return 0;
}

/* A failure must say why, and never with a resolved secret in it. */
static void
check_error(const struct herald_error *err, const uint8_t *data, size_t size)
{
    if (err->msg[0] == '\0') {
        fprintf(stderr, "a failed load left no message\n");
        abort();
    }
    if (strstr(err->msg, SECRET_VALUE) &&
        !memmem(data, size, SECRET_VALUE, strlen(SECRET_VALUE))) {
        fprintf(stderr, "a message quotes a secret: %s\n", err->msg);
        abort();
    }
}

static void
load_engine(const uint8_t *data, size_t size)
{
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;

    write_file(engine_path, data, size);
    if (herald_config_load(engine_path, &cfg, &err) == 0) {
        if (!cfg || !cfg->public_url || !cfg->store_path ||
            cfg->store_path[0] != '/' || !cfg->api_keys) {
            fprintf(stderr, "a loaded configuration is not filled\n");
            abort();
        }
        herald_config_free(cfg);
    } else {
        check_error(&err, data, size);
    }
}

static void
load_network(const uint8_t *data, size_t size)
{
    struct herald_config cfg = {.network_dir = network_dir};
    struct herald_error err = {""};
    json_t *out = NULL;

    write_file(network_path, data, size);
    if (herald_config_load_network(&cfg, "fuzz", plugin_schema, default_scopes,
                                   &out, &err) == 0) {
        if (!json_is_object(out) || !json_object_get(out, "client_secret")) {
            fprintf(stderr, "a loaded network file is not filled\n");
            abort();
        }
        json_decref(out);
    } else {
        check_error(&err, data, size);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_engine(data, size);
    load_network(data, size);
    return 0;
}
