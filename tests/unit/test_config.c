/*
 * test_config.c - the engine configuration and the networks' files.
 *
 * The validator underneath has its own tests (test_schema.c); these check
 * the engine's keys, rules, defaults and paths, and the network files.
 * Every fixture is written by the test into a fresh directory under /tmp,
 * which is also the working directory while the tests run, so the engine
 * file is "config/herald.json" and messages can be compared whole. The
 * positions in the expected messages were counted by hand (1-based,
 * columns in bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

#define ENGINE "config/herald.json"

static char tmp_dir[] = "/tmp/herald-config-XXXXXX";
static char cwd[PATH_MAX]; /* tmp_dir as getcwd() spells it */

/* Writes text to the file at path (relative to the temp dir), mode. */
static void
write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t len = strlen(text);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, text, len) == (ssize_t)len);
    CHECK(fchmod(fd, mode) == 0);
    close(fd);
}

/* Returns cwd/rel in a static buffer; one call at a time. */
static const char *
abs_path(const char *rel)
{
    static char buf[PATH_MAX + 64];

    snprintf(buf, sizeof(buf), "%s/%s", cwd, rel);
    return buf;
}

/* Loads text as the engine file; returns the config or NULL. */
static struct herald_config *
load_text(const char *text)
{
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;
    int rc;

    write_file(ENGINE, text, 0644);
    rc = herald_config_load(ENGINE, &cfg, &err);
    CHECK(rc == 0);
    if (rc != 0)
        fprintf(stderr, "  unexpected error: %s\n", err.msg);
    return cfg;
}

/* Loads text as the engine file and expects rc and message want. */
static void
check_engine_error(const char *text, int want_rc, const char *want)
{
    struct herald_config *sentinel = (struct herald_config *)&sentinel;
    struct herald_config *cfg = sentinel;
    struct herald_error err = {""};

    write_file(ENGINE, text, 0644);
    CHECK(herald_config_load(ENGINE, &cfg, &err) == want_rc);
    CHECK(cfg == sentinel);
    CHECK_STR(err.msg, want);
}

static void
test_embedded_default(void)
{
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;
    char want[2 * PATH_MAX + 256];

    CHECK(herald_config_load(NULL, &cfg, &err) == 0);
    if (!cfg)
        return;
    CHECK_STR(cfg->source, "(embedded default)");
    CHECK_STR(cfg->listen_address, "127.0.0.1");
    CHECK(cfg->listen_port == 8080);
    CHECK_STR(cfg->public_url, "http://127.0.0.1:8080");
    CHECK_STR(cfg->store_path, abs_path("herald.db"));
    CHECK_STR(cfg->store_synchronous, "full");
    CHECK(cfg->store_busy_timeout_ms == 5000);
    CHECK_STR(cfg->key_file, abs_path("herald.key"));
    CHECK_STR(cfg->network_dir, abs_path("networks"));
    CHECK(cfg->api_key_count == 0);
    CHECK(cfg->api_keys && cfg->api_keys[0] == NULL);
    CHECK(cfg->log_level == LOG_INFO);
    CHECK(cfg->max_body_bytes == 1048576);
    CHECK(cfg->max_header_bytes == 16384);
    CHECK(cfg->connection_timeout_s == 30);
    CHECK(cfg->request_deadline_s == 60);
    CHECK(cfg->max_connections == 256);
    CHECK(cfg->metrics_public == 0);

    /* The built-in plugin directory hangs off the program's directory. */
    CHECK(cfg->plugin_dir[0] == '/');
    if (HERALD_DEFAULT_PLUGIN_DIR[0] == '/') {
        CHECK_STR(cfg->plugin_dir, HERALD_DEFAULT_PLUGIN_DIR);
    } else {
        char exe[PATH_MAX] = "";
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        CHECK(n > 0);
        exe[n > 0 ? n : 0] = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(want, sizeof(want), "%s/%s", exe, HERALD_DEFAULT_PLUGIN_DIR);
        CHECK_STR(cfg->plugin_dir, want);
    }
    herald_config_free(cfg);
}

static void
test_every_key(void)
{
    struct herald_config *cfg =
        load_text("{\n"
                  "  \"listen_address\": \"0.0.0.0\",\n"
                  "  \"listen_port\": 9000,\n"
                  "  \"public_url\": \"https://herald.example.com/api//\",\n"
                  "  \"store_path\": \"data/herald.db\",\n"
                  "  \"store_synchronous\": \"normal\",\n"
                  "  \"store_busy_timeout_ms\": 0,\n"
                  "  \"key_file\": \"/etc/herald/herald.key\",\n"
                  "  \"plugin_dir\": \"../plugins\",\n"
                  "  \"network_dir\": \"nets\",\n"
                  "  \"api_keys\": [\"k1\", \"k2\"],\n"
                  "  \"log_level\": \"debug\",\n"
                  "  \"max_body_bytes\": 2048,\n"
                  "  \"max_header_bytes\": 1024,\n"
                  "  \"connection_timeout_s\": 5,\n"
                  "  \"request_deadline_s\": 10,\n"
                  "  \"max_connections\": 3,\n"
                  "  \"metrics_public\": true\n"
                  "}\n");

    if (!cfg)
        return;
    CHECK_STR(cfg->source, ENGINE);
    CHECK_STR(cfg->listen_address, "0.0.0.0");
    CHECK(cfg->listen_port == 9000);
    CHECK_STR(cfg->public_url, "https://herald.example.com/api");
    CHECK_STR(cfg->store_synchronous, "normal");
    CHECK(cfg->store_busy_timeout_ms == 0);
    CHECK(cfg->api_key_count == 2);
    CHECK_STR(cfg->api_keys[0], "k1");
    CHECK_STR(cfg->api_keys[1], "k2");
    CHECK(cfg->api_keys[2] == NULL);
    CHECK(cfg->log_level == LOG_DEBUG);
    CHECK(cfg->max_body_bytes == 2048);
    CHECK(cfg->max_header_bytes == 1024);
    CHECK(cfg->connection_timeout_s == 5);
    CHECK(cfg->request_deadline_s == 10);
    CHECK(cfg->max_connections == 3);
    CHECK(cfg->metrics_public == 1);

    /* Relative paths hang off the file's directory, absolute ones stay. */
    CHECK_STR(cfg->store_path, abs_path("config/data/herald.db"));
    CHECK_STR(cfg->key_file, "/etc/herald/herald.key");
    CHECK_STR(cfg->plugin_dir, abs_path("config/../plugins"));
    CHECK_STR(cfg->network_dir, abs_path("config/nets"));
    herald_config_free(cfg);
}

static void
test_defaults_in_file(void)
{
    struct herald_error err = {""};
    struct herald_config *cfg = load_text("{\"listen_address\": \"::1\", "
                                          "\"listen_port\": 0}");

    /* Defaulted paths hang off the file's directory too. */
    if (cfg) {
        CHECK_STR(cfg->store_path, abs_path("config/herald.db"));
        CHECK_STR(cfg->key_file, abs_path("config/herald.key"));
        CHECK_STR(cfg->network_dir, abs_path("config/networks"));
        CHECK_STR(cfg->public_url, "http://[::1]:0");
        CHECK(cfg->listen_port == 0);
    }
    herald_config_free(cfg);

    /* An absolute config path gives absolute results the same way. */
    cfg = NULL;
    CHECK(herald_config_load(abs_path(ENGINE), &cfg, &err) == 0);
    if (cfg)
        CHECK_STR(cfg->store_path, abs_path("config/herald.db"));
    herald_config_free(cfg);
}

static void
test_unreadable(void)
{
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;

    CHECK(herald_config_load("config/missing.json", &cfg, &err) == -ENOENT);
    CHECK_STR(err.msg, "cannot read config 'config/missing.json': "
                       "No such file or directory");
    CHECK(herald_config_load("config", &cfg, &err) == -EISDIR);
    CHECK_STR(err.msg, "cannot read config 'config': Is a directory");
    /* A FIFO is refused at once: nothing waits for a writer. */
    CHECK(mkfifo("fifo.json", 0600) == 0);
    CHECK(herald_config_load("fifo.json", &cfg, &err) == -EINVAL);
    CHECK_STR(err.msg, "cannot read config 'fifo.json': not a regular file");
    unlink("fifo.json");
    CHECK(cfg == NULL);
}

static void
test_types_and_ranges(void)
{
    check_engine_error("{\n"
                       "  \"listen_address\": \"127.0.0.1\",\n"
                       "  \"store_path\": \"x.db\",\n"
                       "  \"listen_port\": \"80a\"\n"
                       "}\n",
                       -EINVAL,
                       ENGINE ":4:3: key 'listen_port': expected an integer "
                              "from 0 to 65535, got \"80a\"");
    check_engine_error("{\"listen_port\": 70000}", -EINVAL,
                       ENGINE ":1:2: key 'listen_port': expected an integer "
                              "from 0 to 65535, got 70000");
    check_engine_error("{\"listen_port\": -1}", -EINVAL,
                       ENGINE ":1:2: key 'listen_port': expected an integer "
                              "from 0 to 65535, got -1");
    check_engine_error("{\"max_connections\": 1.5}", -EINVAL,
                       ENGINE ":1:2: key 'max_connections': expected an "
                              "integer from 1 to 4294967295, got 1.5");
    check_engine_error("{\"max_body_bytes\": 0}", -EINVAL,
                       ENGINE ":1:2: key 'max_body_bytes': expected an "
                              "integer of at least 1, got 0");
    check_engine_error("{\"store_busy_timeout_ms\": true}", -EINVAL,
                       ENGINE ":1:2: key 'store_busy_timeout_ms': expected "
                              "an integer from 0 to 2147483647, got true");
    check_engine_error("{\"store_path\": \"\"}", -EINVAL,
                       ENGINE ":1:2: key 'store_path': expected a non-empty "
                              "string, got \"\"");
    check_engine_error("{\"network_dir\": null}", -EINVAL,
                       ENGINE ":1:2: key 'network_dir': expected a "
                              "non-empty string, got null");
    check_engine_error("{\"api_keys\": \"k\"}", -EINVAL,
                       ENGINE ":1:2: key 'api_keys': expected an array of "
                              "non-empty strings or secret references, got a "
                              "string");
    check_engine_error("{\"metrics_public\": \"yes\"}", -EINVAL,
                       ENGINE ":1:2: key 'metrics_public': expected true "
                              "or false, got \"yes\"");
    /* A key that is not secret takes no reference. */
    check_engine_error("{\"store_path\": {\"env\": \"HOME\"}}", -EINVAL,
                       ENGINE ":1:2: key 'store_path': expected a non-empty "
                              "string, got an object");
}

static void
test_choices(void)
{
    check_engine_error("{\n  \"store_synchronous\": \"fast\"\n}", -EINVAL,
                       ENGINE
                       ":2:3: key 'store_synchronous': expected one "
                       "of \"full\", \"normal\", \"extra\", got \"fast\"");
    check_engine_error("{\"log_level\": \"verbose\"}", -EINVAL,
                       ENGINE
                       ":1:2: key 'log_level': expected one of "
                       "\"emerg\", \"alert\", \"crit\", \"err\", "
                       "\"warning\", \"notice\", \"info\", \"debug\", got "
                       "\"verbose\"");
}

static void
test_urls(void)
{
    static const char *const bad[] = {
        "{\"public_url\": \"ftp://x.example\"}",
        "{\"public_url\": \"http://\"}",
        "{\"public_url\": \"https:///path\"}",
        "{\"public_url\": \"http://:8080/\"}",
        "{\"public_url\": \"http://user@/\"}",
        "{\"public_url\": \"http://a b/\"}",
        "{\"public_url\": \"example.com\"}",
    };
    struct herald_config *cfg;

    check_engine_error(bad[0], -EINVAL,
                       ENGINE ":1:2: key 'public_url': expected an http:// "
                              "or https:// URL, got \"ftp://x.example\"");
    for (size_t i = 1; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct herald_error err = {""};

        write_file(ENGINE, bad[i], 0644);
        cfg = NULL;
        CHECK(herald_config_load(ENGINE, &cfg, &err) == -EINVAL);
        CHECK_CONTAINS(err.msg, ":1:2: key 'public_url': expected an ");
    }

    cfg = load_text("{\"public_url\": \"HTTPS://u:p@[::1]:8443/x?y#z\"}");
    if (cfg)
        CHECK_STR(cfg->public_url, "HTTPS://u:p@[::1]:8443/x?y#z");
    herald_config_free(cfg);
}

static void
test_example_file(void)
{
    const char *source = getenv("HERALD_SOURCE_DIR");
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;

    /* ctest sets HERALD_SOURCE_DIR; by hand, this file locates the tree. */
    if (!source) {
        snprintf(dir, sizeof(dir), "%s", __FILE__);
        *strstr(dir, "/tests/unit/") = '\0';
        source = dir;
    }
    snprintf(path, sizeof(path), "%s/config/herald.json", source);

    setenv("HERALD_API_KEY", "example-key", 1);
    CHECK(herald_config_load(path, &cfg, &err) == 0);
    unsetenv("HERALD_API_KEY");
    if (!cfg) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    CHECK_STR(cfg->listen_address, "127.0.0.1");
    CHECK(cfg->listen_port == 8080);
    CHECK_STR(cfg->public_url, "http://127.0.0.1:8080");
    CHECK(cfg->api_key_count == 1);
    CHECK_STR(cfg->api_keys[0], "example-key");
    CHECK(cfg->log_level == LOG_INFO);
    snprintf(path, sizeof(path), "%s/config/networks", source);
    CHECK_STR(cfg->network_dir, path);
    snprintf(path, sizeof(path), "%s/config/../data/herald.db", source);
    CHECK_STR(cfg->store_path, path);
    herald_config_free(cfg);
}

static const struct herald_config_key demo_schema[] = {
    {"page_size", HERALD_CONF_INTEGER, 0, 0, "20", "posts per page"},
    {"api_base", HERALD_CONF_URL, 0, 0, "\"https://api.demo.example\"",
     "API root"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const char *const demo_scopes[] = {"read", "write", NULL};

/* Loads network name with demo_schema; returns rc. */
static int
load_demo(const struct herald_config *cfg, const char *name,
          const struct herald_config_key *schema, json_t **out,
          struct herald_error *err)
{
    return herald_config_load_network(cfg, name, schema, demo_scopes, out,
                                      err);
}

static void
test_network_ok(const struct herald_config *cfg)
{
    struct herald_error err = {""};
    json_t *out = NULL;
    json_t *scopes;

    write_file("config/networks/demo.secret", "client-secret\n", 0600);
    write_file("config/networks/demo.json",
               "{\n"
               "  \"client_id\": \"abc\",\n"
               "  \"client_secret\": {\"file\": \"demo.secret\"},\n"
               "  \"redirect_uri\": \"http://127.0.0.1:8080/cb/demo\",\n"
               "  \"page_size\": 50\n"
               "}\n",
               0644);
    CHECK(load_demo(cfg, "demo", demo_schema, &out, &err) == 0);
    if (!out) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    CHECK(json_is_true(json_object_get(out, "enabled")));
    CHECK_STR(json_string_value(json_object_get(out, "client_id")), "abc");
    CHECK_STR(json_string_value(json_object_get(out, "client_secret")),
              "client-secret");
    CHECK(json_integer_value(json_object_get(out, "page_size")) == 50);
    CHECK_STR(json_string_value(json_object_get(out, "api_base")),
              "https://api.demo.example");
    scopes = json_object_get(out, "scopes");
    CHECK(json_array_size(scopes) == 2);
    CHECK_STR(json_string_value(json_array_get(scopes, 1)), "write");
    json_decref(out);

    /* Without default scopes the default is an empty array. */
    out = NULL;
    CHECK(herald_config_load_network(cfg, "demo", NULL, NULL, &out, &err) ==
          -EINVAL);
    CHECK_CONTAINS(err.msg, "unknown key 'page_size'");
    write_file("config/networks/bare.json",
               "{\"enabled\": false, \"client_id\": \"a\", \"client_secret\": "
               "\"b\", \"redirect_uri\": \"https://x.example/cb\"}",
               0644);
    CHECK(herald_config_load_network(cfg, "bare", NULL, NULL, &out, &err) ==
          0);
    CHECK(json_is_false(json_object_get(out, "enabled")));
    CHECK(json_is_array(json_object_get(out, "scopes")));
    CHECK(json_array_size(json_object_get(out, "scopes")) == 0);
    json_decref(out);
}

static void
test_network_errors(const struct herald_config *cfg)
{
    static const struct herald_config_key clash[] = {
        {"page_size", HERALD_CONF_INTEGER, 0, 0, NULL, "fine"},
        {"scopes", HERALD_CONF_STRING, 0, 0, NULL, "repeats a common key"},
        {NULL, 0, 0, 0, NULL, NULL},
    };
    char want[2 * PATH_MAX + 256];
    struct herald_error err = {""};
    json_t *out = NULL;

    CHECK(load_demo(cfg, "demo", clash, &out, &err) == -EINVAL);
    CHECK_STR(err.msg, "network 'demo': plugin key 'scopes' repeats a "
                       "common network key");
    CHECK(load_demo(cfg, "absent", demo_schema, &out, &err) == -ENOENT);
    snprintf(want, sizeof(want),
             "cannot read config '%s': No such file or directory",
             abs_path("config/networks/absent.json"));
    CHECK_STR(err.msg, want);
    CHECK(load_demo(cfg, "../herald", demo_schema, &out, &err) == -EINVAL);
    CHECK_STR(err.msg, "invalid network name '../herald'");

    write_file("config/networks/miss.json",
               "\n{\n  \"client_secret\": \"s\",\n  \"enabled\": \"yes\"\n}",
               0644);
    CHECK(load_demo(cfg, "miss", demo_schema, &out, &err) == -EINVAL);
    snprintf(want, sizeof(want),
             "%s:4:3: key 'enabled': expected true or false, got \"yes\"",
             abs_path("config/networks/miss.json"));
    CHECK_STR(err.msg, want);
    write_file("config/networks/miss.json",
               "\n{\n  \"client_secret\": \"s\",\n  \"enabled\": true\n}",
               0644);
    CHECK(load_demo(cfg, "miss", demo_schema, &out, &err) == -EINVAL);
    snprintf(want, sizeof(want), "%s:2:1: missing required key 'client_id'",
             abs_path("config/networks/miss.json"));
    CHECK_STR(err.msg, want);

    /* A missing secret file is a bad file, not an absent network. */
    write_file("config/networks/nosecret.json",
               "{\"client_id\": \"a\", \"client_secret\": {\"file\": "
               "\"gone\"}, \"redirect_uri\": \"https://x.example/cb\"}",
               0644);
    CHECK(load_demo(cfg, "nosecret", demo_schema, &out, &err) == -EINVAL);
    CHECK_CONTAINS(err.msg, ":1:20: key 'client_secret': cannot read secret "
                            "file '");

    /* The client secret is never quoted, the client id may be. */
    write_file("config/networks/leak.json",
               "{\"client_id\": \"a\", \"client_secret\": 1234567, "
               "\"redirect_uri\": \"https://x.example/cb\"}",
               0644);
    CHECK(load_demo(cfg, "leak", demo_schema, &out, &err) == -EINVAL);
    snprintf(want, sizeof(want),
             "%s:1:20: key 'client_secret': expected a non-empty string or "
             "a secret reference, got an integer",
             abs_path("config/networks/leak.json"));
    CHECK_STR(err.msg, want);
    CHECK(out == NULL);
}

static void
test_networks(void)
{
    struct herald_config *cfg = load_text("{\"network_dir\": \"networks\"}");

    if (!cfg)
        return;
    mkdir("config/networks", 0700);
    test_network_ok(cfg);
    test_network_errors(cfg);
    herald_config_free(cfg);
}

/* jansson's allocations left before one fails; -1: none fails. */
static long alloc_budget = -1;
static int alloc_failed; /* an allocation was refused */

static void *
failing_malloc(size_t size)
{
    if (alloc_budget == 0) {
        alloc_failed = 1;
        return NULL;
    }
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(size);
}

/* Loads the engine file, then network "demo", failing jansson's nth
 * allocation; returns -ENOMEM while an allocation did fail. */
static int
load_failing_at(long n, int *bad)
{
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;
    json_t *out = NULL;
    int failed;
    int rc;

    alloc_budget = n;
    alloc_failed = 0;
    rc = herald_config_load(ENGINE, &cfg, &err);
    if (rc == 0)
        rc = load_demo(cfg, "demo", demo_schema, &out, &err);
    herald_config_free(cfg);
    json_decref(out);

    failed = alloc_failed;
    if ((rc == 0 && failed) || (rc != 0 && !failed) ||
        !(rc == 0 || err.msg[0]) ||
        (rc == -ENOMEM && strcmp(err.msg, "out of memory") != 0)) {
        fprintf(stderr, "  allocation %ld: rc %d, %s\n", n, rc, err.msg);
        *bad = 1;
    }
    return failed ? -ENOMEM : 0;
}

/*
 * Fails each of jansson's allocations in turn while loading files that
 * use every feature. Each run fails with a message (or, when nothing
 * failed, succeeds) and LeakSanitizer sees nothing left behind. jansson
 * reports some failures inside its lexer as syntax errors, so the rc is
 * not always -ENOMEM; when it is, the message says "out of memory".
 */
static void
test_allocation_failures(void)
{
    int bad = 0;
    long n;

    setenv("HERALD_TEST_KEY", "key-from-env", 1);
    write_file("config/secret.txt", "one\n", 0600);
    write_file(ENGINE,
               "{\"network_dir\": \"networks\", \"log_level\": \"debug\", "
               "\"api_keys\": [\"k\", {\"env\": \"HERALD_TEST_KEY\"}, "
               "{\"file\": \"secret.txt\"}]}",
               0644);
    json_set_alloc_funcs(failing_malloc, free);
    for (n = 0; n < 10000 && load_failing_at(n, &bad) < 0; n++)
        ;
    json_set_alloc_funcs(malloc, free);
    alloc_budget = -1;
    unsetenv("HERALD_TEST_KEY");
    CHECK(n > 10 && n < 10000);
    CHECK(!bad);
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
             struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int
main(void)
{
    char start[PATH_MAX];

    if (!getcwd(start, sizeof(start)) || !mkdtemp(tmp_dir) ||
        chdir(tmp_dir) < 0 || !getcwd(cwd, sizeof(cwd)) ||
        mkdir("config", 0700) < 0) {
        perror("test_config: cannot set up the temp directory");
        return 1;
    }

    test_embedded_default();
    test_every_key();
    test_defaults_in_file();
    test_unreadable();
    test_types_and_ranges();
    test_choices();
    test_urls();
    test_example_file();
    test_networks();
    test_allocation_failures();

    if (chdir(start) < 0)
        perror("test_config: cannot return to the start directory");
    nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_done();
}
