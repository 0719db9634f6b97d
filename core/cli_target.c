/*
 * cli_target.c - where the command-line client finds the daemon and its
 * API key: the global options, then the environment, then the engine
 * configuration, read by core/config.c exactly as the daemon reads it
 * (so an api_keys entry that names an environment variable or a file is
 * resolved the same way).
 *
 * The key is copied into struct cli_ctx and wiped when it is cleared;
 * the configuration, which holds every key, is freed (and wiped) as
 * soon as the two values are taken from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_private.h"
#include "config.h"

#define DEFAULT_URL "http://127.0.0.1:8080"

static const char *
env(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

/* Takes what is still missing from the configuration at path. */
static int
from_config(const char *path, char **url, char **key)
{
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;

    if (herald_config_load(path, &cfg, &err) != 0) {
        fprintf(stderr,
                "herald: cannot take the daemon's address and key from "
                "the config: %s\n",
                err.msg);
        return CLI_USAGE;
    }
    if (!*url)
        *url = strdup(cfg->public_url);
    if (!*key && cfg->api_key_count > 0)
        *key = strdup(cfg->api_keys[0]);
    herald_config_free(cfg);
    return CLI_OK;
}

int
cli_resolve(struct cli_ctx *c, const char *url, const char *key,
            const char *config)
{
    char *u = NULL, *k = NULL;
    size_t n;

    url = url ? url : env("HERALD_URL");
    key = key ? key : env("HERALD_API_KEY");
    config = config ? config : env("HERALD_CONFIG");
    if (url)
        u = strdup(url);
    if (key)
        k = strdup(key);
    if ((!url || !key) && config && from_config(config, &u, &k) != CLI_OK) {
        free(u);
        free(k);
        return CLI_USAGE;
    }
    if (!u)
        u = strdup(DEFAULT_URL);
    c->url = u;
    c->key = k;
    if (!k) {
        fprintf(stderr, "herald: no API key: give --api-key KEY, set "
                        "HERALD_API_KEY, or name the engine's config "
                        "(with api_keys) with --config FILE or "
                        "HERALD_CONFIG\n");
        return CLI_USAGE;
    }
    if (!u) {
        fprintf(stderr, "herald: out of memory\n");
        return CLI_FAIL;
    }
    n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        u[--n] = '\0';
    return CLI_OK;
}

void
cli_ctx_clear(struct cli_ctx *c)
{
    if (c->key)
        explicit_bzero(c->key, strlen(c->key));
    free(c->key);
    free(c->url);
    memset(c, 0, sizeof(*c));
}
