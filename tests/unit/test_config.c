/*
 * test_config.c - the engine configuration and the validator.
 *
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
#include <stdarg.h>
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

/* Same as check_engine_error() with a formatted expected message. */
static void __attribute__((format(printf, 3, 4)))
check_engine_errorf(const char *text, int want_rc, const char *fmt, ...)
{
    char want[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    check_engine_error(text, want_rc, want);
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
                  "  \"max_connections\": 3\n"
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
    CHECK(cfg == NULL);
}

static void
test_syntax_errors(void)
{
    check_engine_error("{\n"
                       "  \"listen_port\": 8080,\n"
                       "  \"store_path\": \"x.db\"\n"
                       "  \"key_file\": \"k\"\n"
                       "}\n",
                       -EINVAL, ENGINE ":4:12: invalid JSON: '}' expected");
    check_engine_error("{\n"
                       "  \"listen_port\": 8080,\n"
                       "  \"listen_port\": 8081\n"
                       "}\n",
                       -EINVAL,
                       ENGINE ":3:15: invalid JSON: duplicate object key "
                              "near '\"listen_port\"'");
    check_engine_error("", -EINVAL,
                       ENGINE ":1:1: invalid JSON: '[' or '{' expected near "
                              "end of file");
    /* Columns count bytes, as jsonpos does: "é" is two. */
    check_engine_error("{\"\xc3\xa9\": x}", -EINVAL,
                       ENGINE ":1:8: invalid JSON: invalid token");
    check_engine_error("\n  [1]", -EINVAL,
                       ENGINE ":2:3: expected an object at the top level, "
                              "got an array");
}

static void
test_unknown_keys(void)
{
    check_engine_error("{\n"
                       "  \"listen_port\": 8080,\n"
                       "    \"store_path\": \"x.db\", \"listen_adress\": "
                       "\"::1\"\n"
                       "}\n",
                       -EINVAL, ENGINE ":3:27: unknown key 'listen_adress'");
    /* The first unknown key in file order is the one reported. */
    check_engine_error("{\"zz\": 1,\n \"aa\": 2}", -EINVAL,
                       ENGINE ":1:2: unknown key 'zz'");
    /* Keys are compared decoded; the position is the raw key's. */
    check_engine_error("{\"listen_port\": 1, \"list\\u00e9n\": 2}", -EINVAL,
                       ENGINE ":1:20: unknown key 'list\xc3\xa9n'");
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
test_env_references(void)
{
    struct herald_config *cfg;
    const char *text = "{\n"
                       "  \"api_keys\": [\n"
                       "    \"first-key\",\n"
                       "    {\"env\": \"HERALD_TEST_KEY\"}\n"
                       "  ]\n"
                       "}\n";

    unsetenv("HERALD_TEST_KEY");
    check_engine_error(text, -EINVAL,
                       ENGINE ":4:5: key 'api_keys[1]': environment variable "
                              "'HERALD_TEST_KEY' is not set");
    setenv("HERALD_TEST_KEY", "", 1);
    check_engine_error(text, -EINVAL,
                       ENGINE ":4:5: key 'api_keys[1]': environment variable "
                              "'HERALD_TEST_KEY' is empty");

    setenv("HERALD_TEST_KEY", "key-from-env", 1);
    cfg = load_text(text);
    if (cfg) {
        CHECK(cfg->api_key_count == 2);
        CHECK_STR(cfg->api_keys[0], "first-key");
        CHECK_STR(cfg->api_keys[1], "key-from-env");
    }
    herald_config_free(cfg);
    unsetenv("HERALD_TEST_KEY");
}

static void
test_reference_shapes(void)
{
    static const char *const shapes[] = {
        "{\"api_keys\": [{\"env\": \"A\", \"file\": \"b\"}]}",
        "{\"api_keys\": [{\"nope\": \"A\"}]}",
        "{\"api_keys\": [{\"env\": 5}]}",
        "{\"api_keys\": [{\"env\": \"\"}]}",
        "{\"api_keys\": [{}]}",
    };

    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        check_engine_error(shapes[i], -EINVAL,
                           ENGINE ":1:15: key 'api_keys[0]': expected a "
                                  "secret reference {\"env\": \"NAME\"} or "
                                  "{\"file\": \"PATH\"}");
    check_engine_error("{\"api_keys\": [\"a\", [\"b\"]]}", -EINVAL,
                       ENGINE ":1:20: key 'api_keys[1]': expected a "
                              "non-empty string or a secret reference, got an "
                              "array");
}

static void
test_file_references(void)
{
    struct herald_config *cfg;
    const char *text = "{\n"
                       "  \"api_keys\": [{\"file\": \"secret.txt\"},\n"
                       "               {\"file\": \"keys/two.txt\"}]\n"
                       "}\n";

    /* Resolved against the config file's directory, not the cwd. */
    mkdir("config/keys", 0700);
    write_file("secret.txt", "wrong file\n", 0600);
    write_file("config/keys/two.txt", "two\n\n", 0600);

    write_file("config/secret.txt", "one\n", 0644);
    check_engine_errorf(text, -EINVAL,
                        ENGINE
                        ":2:16: key 'api_keys[0]': secret file '%s' "
                        "is accessible by group or others (mode 0644); make "
                        "it 0600",
                        abs_path("config/secret.txt"));
    write_file("config/secret.txt", "one\n", 0604);
    check_engine_errorf(text, -EINVAL,
                        ENGINE
                        ":2:16: key 'api_keys[0]': secret file '%s' "
                        "is accessible by group or others (mode 0604); make "
                        "it 0600",
                        abs_path("config/secret.txt"));

    /* Only one trailing newline is stripped. */
    write_file("config/secret.txt", "one\n", 0400);
    cfg = load_text(text);
    if (cfg) {
        CHECK_STR(cfg->api_keys[0], "one");
        CHECK_STR(cfg->api_keys[1], "two\n");
    }
    herald_config_free(cfg);

    unlink("config/keys/two.txt");
    check_engine_errorf(text, -EINVAL,
                        ENGINE ":3:16: key 'api_keys[1]': cannot read secret "
                               "file '%s': No such file or directory",
                        abs_path("config/keys/two.txt"));
    write_file("config/keys/two.txt", "\n", 0600);
    check_engine_errorf(text, -EINVAL,
                        ENGINE ":3:16: key 'api_keys[1]': secret file '%s' "
                               "is empty",
                        abs_path("config/keys/two.txt"));
    check_engine_errorf("{\"api_keys\": [{\"file\": \"keys\"}]}", -EINVAL,
                        ENGINE ":1:15: key 'api_keys[0]': secret file '%s' "
                               "is not a regular file",
                        abs_path("config/keys"));
}

/* Loads text and checks that the error names the key and hides secret. */
static void
check_hidden(const char *text, const char *key, const char *secret)
{
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;

    write_file(ENGINE, text, 0644);
    CHECK(herald_config_load(ENGINE, &cfg, &err) == -EINVAL);
    CHECK_CONTAINS(err.msg, key);
    CHECK(strstr(err.msg, secret) == NULL);
    if (strstr(err.msg, secret))
        fprintf(stderr, "  leaked '%s' in: %s\n", secret, err.msg);
}

static void
test_secrets_hidden(void)
{
    check_engine_error("{\"api_keys\": [\"ok\", 987654]}", -EINVAL,
                       ENGINE ":1:21: key 'api_keys[1]': expected a "
                              "non-empty string or a secret reference, got an "
                              "integer");
    check_hidden("{\"api_keys\": [\"ok\", 987654]}", "api_keys[1]", "987654");
    check_hidden("{\"api_keys\": [\"\"]}", "api_keys[0]", "\"\"");
    check_hidden("{\"api_keys\": [true]}", "api_keys[0]", "true");

    /* jansson would quote the token it stopped at: a secret here. */
    check_engine_error("{\"api_keys\": [\"s3cr3t\\q\"]}", -EINVAL,
                       ENGINE ":1:23: invalid JSON: invalid escape");
    check_hidden("{\"api_keys\": [s3cr3t]}", "invalid JSON", "s3cr3t");
    check_hidden("{\"api_keys\": [\"s3cr3t\n\"]}", "invalid JSON", "s3cr3t");
    check_hidden("{\"api_keys\": [\"s3cr3t\" \"x\"]}", "invalid JSON",
                 "s3cr3t");

    /* A secret file whose contents are refused is not quoted. */
    write_file("config/bad.txt", "s3cr3t\xff\n", 0600);
    check_hidden("{\"api_keys\": [{\"file\": \"bad.txt\"}]}", "api_keys[0]",
                 "s3cr3t");
    check_engine_errorf("{\"api_keys\": [{\"file\": \"bad.txt\"}]}", -EINVAL,
                        ENGINE ":1:15: key 'api_keys[0]': secret file '%s' "
                               "is not UTF-8 text",
                        abs_path("config/bad.txt"));
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

static const struct herald_config_key generic_schema[] = {
    {"name", HERALD_CONF_STRING, 1, 0, NULL, "required string"},
    {"count", HERALD_CONF_INTEGER, 0, 0, "3", "integer with a default"},
    {"flag", HERALD_CONF_BOOLEAN, 0, 0, "false", "boolean"},
    {"home", HERALD_CONF_URL, 0, 1, NULL, "secret URL"},
    {"tags", HERALD_CONF_STRING_ARRAY, 0, 0, "[\"a\"]", "list"},
    {"note", HERALD_CONF_STRING, 0, 0, NULL, "optional, no default"},
    {NULL, 0, 0, 0, NULL, NULL},
};

/* Validates text against generic_schema; expects rc and message want. */
static void
check_generic_error(const char *text, const char *want)
{
    json_t *sentinel = json_object();
    json_t *out = sentinel;
    struct herald_error err = {""};

    CHECK(herald_config_validate("g.json", text, strlen(text), generic_schema,
                                 &out, &err) == -EINVAL);
    CHECK(out == sentinel);
    CHECK_STR(err.msg, want);
    json_decref(sentinel);
}

static void
test_generic_validate(void)
{
    const char *text = "{\"name\": \"n\", \"flag\": true}";
    struct herald_error err = {""};
    json_t *out = NULL;

    CHECK(herald_config_validate("g.json", text, strlen(text), generic_schema,
                                 &out, &err) == 0);
    CHECK(json_object_size(out) == 4);
    CHECK_STR(json_string_value(json_object_get(out, "name")), "n");
    CHECK(json_integer_value(json_object_get(out, "count")) == 3);
    CHECK(json_is_true(json_object_get(out, "flag")));
    CHECK_STR(
        json_string_value(json_array_get(json_object_get(out, "tags"), 0)),
        "a");
    CHECK(json_object_get(out, "home") == NULL);
    json_decref(out);

    check_generic_error("{}", "g.json:1:1: missing required key 'name'");
    check_generic_error("{\"name\": \"n\", \"count\": \"3\"}",
                        "g.json:1:15: key 'count': expected an integer, got "
                        "\"3\"");
    check_generic_error("{\"name\": \"n\", \"flag\": 1}",
                        "g.json:1:15: key 'flag': expected true or false, got "
                        "1");
    check_generic_error(
        "{\"name\": \"n\", \"tags\": [\"x\", 2]}",
        "g.json:1:29: key 'tags[1]': expected a string, got 2");
    check_generic_error("{\"name\": {\"env\": \"HOME\"}}",
                        "g.json:1:2: key 'name': expected a string, got an "
                        "object");

    /* A resolved secret that breaks a rule is not quoted either. */
    setenv("HERALD_TEST_HOME", "leaky-value", 1);
    check_generic_error("{\"name\": \"n\", \"home\": {\"env\": "
                        "\"HERALD_TEST_HOME\"}}",
                        "g.json:1:15: key 'home': expected an http:// or "
                        "https:// URL or a secret reference");
    setenv("HERALD_TEST_HOME", "https://home.example", 1);
    text = "{\"name\": \"n\", \"home\": {\"env\": \"HERALD_TEST_HOME\"}}";
    out = NULL;
    CHECK(herald_config_validate("g.json", text, strlen(text), generic_schema,
                                 &out, &err) == 0);
    CHECK_STR(json_string_value(json_object_get(out, "home")),
              "https://home.example");
    json_decref(out);
    unsetenv("HERALD_TEST_HOME");
}

static void
test_missing_at_nested_root(void)
{
    check_generic_error("\n\n   {\n  \"count\": 1\n}",
                        "g.json:3:4: missing required key 'name'");
}

static void
test_bad_schema(void)
{
    static const struct herald_config_key schema[] = {
        {"n", HERALD_CONF_INTEGER, 0, 0, "\"x\"", "default of a wrong type"},
        {NULL, 0, 0, 0, NULL, NULL},
    };
    struct herald_error err = {""};
    json_t *out = NULL;

    CHECK(herald_config_validate("s.json", "{}", 2, schema, &out, &err) ==
          -EINVAL);
    CHECK_STR(err.msg, "schema key 'n': default \"x\" does not fit its type");
    CHECK(out == NULL);
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
    test_syntax_errors();
    test_unknown_keys();
    test_types_and_ranges();
    test_choices();
    test_urls();
    test_env_references();
    test_reference_shapes();
    test_file_references();
    test_secrets_hidden();
    test_example_file();
    test_generic_validate();
    test_missing_at_nested_root();
    test_bad_schema();
    test_networks();
    test_allocation_failures();

    if (chdir(start) < 0)
        perror("test_config: cannot return to the start directory");
    nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_done();
}
