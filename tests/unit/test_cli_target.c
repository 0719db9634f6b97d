/*
 * test_cli_target.c - where the command-line client finds the daemon and
 * its key: options over the environment over the engine configuration
 * (its public_url, else its listen address and port; its first api_keys
 * entry, resolved as the daemon resolves it), the defaults, and a clear
 * refusal when no key is found or the configuration is bad.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli_private.h"

static char dir[] = "/tmp/herald-cli-target-XXXXXX";
static char plain[256], public[256], secret[256], broken[256];

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void
setup(void)
{
    char text[512];

    CHECK(mkdtemp(dir) != NULL);
    snprintf(plain, sizeof(plain), "%s/plain.json", dir);
    snprintf(public, sizeof(public), "%s/public.json", dir);
    snprintf(secret, sizeof(secret), "%s/secret.txt", dir);
    snprintf(broken, sizeof(broken), "%s/broken.json", dir);
    write_file(plain, "{\"listen_address\": \"127.0.0.2\", "
                      "\"listen_port\": 9091, "
                      "\"api_keys\": [\"first-key\", \"second-key\"]}");
    write_file(secret, "key-from-file\n");
    chmod(secret, 0600);
    snprintf(text, sizeof(text),
             "{\"public_url\": \"https://herald.example/\", "
             "\"api_keys\": [{\"file\": \"%s\"}]}",
             secret);
    write_file(public, text);
    write_file(broken, "{\"api_keys\": [{\"env\": \"CLI_TARGET_UNSET\"}]}");
    unsetenv("HERALD_URL");
    unsetenv("HERALD_API_KEY");
    unsetenv("HERALD_CONFIG");
    unsetenv("CLI_TARGET_UNSET");
}

static void
teardown(void)
{
    unlink(plain);
    unlink(public);
    unlink(secret);
    unlink(broken);
    rmdir(dir);
}

/* Resolves; returns the status, with the URL and key in the buffers. */
static int
resolve(const char *url, const char *key, const char *config, char *got_url,
        char *got_key)
{
    struct cli_ctx c = {0};
    int rc = cli_resolve(&c, url, key, config);

    snprintf(got_url, 256, "%s", c.url ? c.url : "(none)");
    snprintf(got_key, 256, "%s", c.key ? c.key : "(none)");
    cli_ctx_clear(&c);
    CHECK(c.url == NULL && c.key == NULL);
    return rc;
}

static void
test_options_and_environment(void)
{
    char url[256], key[256];

    CHECK(resolve("http://h:1//", "k", NULL, url, key) == CLI_OK);
    CHECK_STR(url, "http://h:1");
    CHECK_STR(key, "k");

    setenv("HERALD_URL", "http://env:2/", 1);
    setenv("HERALD_API_KEY", "env-key", 1);
    CHECK(resolve(NULL, NULL, plain, url, key) == CLI_OK);
    CHECK_STR(url, "http://env:2");
    CHECK_STR(key, "env-key");
    CHECK(resolve("http://opt:3", "opt-key", NULL, url, key) == CLI_OK);
    CHECK_STR(url, "http://opt:3");
    CHECK_STR(key, "opt-key");
    /* An empty variable counts as unset. */
    setenv("HERALD_URL", "", 1);
    CHECK(resolve(NULL, NULL, NULL, url, key) == CLI_OK);
    CHECK_STR(url, "http://127.0.0.1:8080");
    unsetenv("HERALD_URL");
    unsetenv("HERALD_API_KEY");
}

static void
test_config(void)
{
    char url[256], key[256];

    CHECK(resolve(NULL, NULL, plain, url, key) == CLI_OK);
    CHECK_STR(url, "http://127.0.0.2:9091");
    CHECK_STR(key, "first-key");
    CHECK(resolve(NULL, NULL, public, url, key) == CLI_OK);
    CHECK_STR(url, "https://herald.example");
    CHECK_STR(key, "key-from-file");
    /* Only what is missing comes from the file. */
    CHECK(resolve("http://opt:3", NULL, plain, url, key) == CLI_OK);
    CHECK_STR(url, "http://opt:3");
    CHECK_STR(key, "first-key");
    CHECK(resolve(NULL, "opt-key", plain, url, key) == CLI_OK);
    CHECK_STR(url, "http://127.0.0.2:9091");
    CHECK_STR(key, "opt-key");
    /* Nothing is missing: a bad file is not even read. */
    CHECK(resolve("http://opt:3", "opt-key", broken, url, key) == CLI_OK);

    setenv("HERALD_CONFIG", public, 1);
    CHECK(resolve(NULL, NULL, NULL, url, key) == CLI_OK);
    CHECK_STR(url, "https://herald.example");
    CHECK(resolve(NULL, NULL, plain, url, key) == CLI_OK);
    CHECK_STR(url, "http://127.0.0.2:9091");
    unsetenv("HERALD_CONFIG");
}

static void
test_refusals(void)
{
    char url[256], key[256], missing[300];

    CHECK(resolve(NULL, NULL, NULL, url, key) == CLI_USAGE);
    CHECK_STR(key, "(none)");
    CHECK(resolve(NULL, NULL, broken, url, key) == CLI_USAGE);
    snprintf(missing, sizeof(missing), "%s/missing.json", dir);
    CHECK(resolve(NULL, "k", missing, url, key) == CLI_USAGE);
}

int
main(void)
{
    setup();
    test_options_and_environment();
    test_config();
    test_refusals();
    teardown();
    return check_done();
}
