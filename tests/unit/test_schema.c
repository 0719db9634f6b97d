/*
 * test_schema.c - the configuration validator, core/schema.c.
 *
 * Documents are checked against two schemas: a slice of the engine's keys
 * and rules, written to "config/herald.json" and read back with
 * herald_schema_load(), so the expected messages read as the daemon
 * prints them; and a generic one, validated from memory. Every file is
 * written by the test into a fresh directory under /tmp, which is also
 * the working directory while the tests run, so messages can be compared
 * whole. The positions in the expected messages were counted by hand
 * (1-based, columns in bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "schema.h"

#define ENGINE "config/herald.json"

static char tmp_dir[] = "/tmp/herald-schema-XXXXXX";
static char cwd[PATH_MAX]; /* tmp_dir as getcwd() spells it */

/* The engine keys and rules the file-based checks use. */
static const struct herald_config_key doc_schema[] = {
    {"listen_address", HERALD_CONF_STRING, 0, 0, "\"127.0.0.1\"",
     "address the API listens on"},
    {"listen_port", HERALD_CONF_INTEGER, 0, 0, "8080", "TCP port of the API"},
    {"store_path", HERALD_CONF_STRING, 0, 0, "\"herald.db\"",
     "SQLite database file"},
    {"key_file", HERALD_CONF_STRING, 0, 0, "\"herald.key\"",
     "file holding the key that encrypts credentials"},
    {"api_keys", HERALD_CONF_STRING_ARRAY, 0, 1, "[]",
     "secrets API clients present"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct herald_schema_rule doc_rules[] = {
    {.name = "listen_address", .nonempty = 1},
    {.name = "listen_port", .ranged = 1, .min = 0, .max = 65535},
    {.name = "store_path", .nonempty = 1},
    {.name = "key_file", .nonempty = 1},
    {.name = "api_keys", .nonempty = 1},
    {.name = NULL},
};

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

/* Loads text as ENGINE against doc_schema; returns the object or NULL. */
static json_t *
load_doc(const char *text)
{
    struct herald_error err = {""};
    json_t *doc = NULL;
    int rc;

    write_file(ENGINE, text, 0644);
    rc = herald_schema_load(ENGINE, doc_schema, doc_rules, &doc, &err);
    CHECK(rc == 0);
    if (rc != 0)
        fprintf(stderr, "  unexpected error: %s\n", err.msg);
    return doc;
}

/* Returns element i of the api_keys of doc, or NULL. */
static const char *
api_key(const json_t *doc, size_t i)
{
    return json_string_value(
        json_array_get(json_object_get(doc, "api_keys"), i));
}

/* Loads text as ENGINE and expects rc and message want. */
static void
check_doc_error(const char *text, int want_rc, const char *want)
{
    json_t *sentinel = json_object();
    json_t *doc = sentinel;
    struct herald_error err = {""};

    write_file(ENGINE, text, 0644);
    CHECK(herald_schema_load(ENGINE, doc_schema, doc_rules, &doc, &err) ==
          want_rc);
    CHECK(doc == sentinel);
    CHECK_STR(err.msg, want);
    json_decref(sentinel);
}

/* Same as check_doc_error() with a formatted expected message. */
static void __attribute__((format(printf, 3, 4)))
check_doc_errorf(const char *text, int want_rc, const char *fmt, ...)
{
    char want[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    check_doc_error(text, want_rc, want);
}

static void
test_syntax_errors(void)
{
    check_doc_error("{\n"
                    "  \"listen_port\": 8080,\n"
                    "  \"store_path\": \"x.db\"\n"
                    "  \"key_file\": \"k\"\n"
                    "}\n",
                    -EINVAL, ENGINE ":4:12: invalid JSON: '}' expected");
    check_doc_error("{\n"
                    "  \"listen_port\": 8080,\n"
                    "  \"listen_port\": 8081\n"
                    "}\n",
                    -EINVAL,
                    ENGINE ":3:15: invalid JSON: duplicate object key "
                           "near '\"listen_port\"'");
    check_doc_error("", -EINVAL,
                    ENGINE ":1:1: invalid JSON: '[' or '{' expected near "
                           "end of file");
    /* Columns count bytes, as jsonpos does: "é" is two. */
    check_doc_error("{\"\xc3\xa9\": x}", -EINVAL,
                    ENGINE ":1:8: invalid JSON: invalid token");
    check_doc_error("\n  [1]", -EINVAL,
                    ENGINE ":2:3: expected an object at the top level, "
                           "got an array");
}

static void
test_unknown_keys(void)
{
    check_doc_error("{\n"
                    "  \"listen_port\": 8080,\n"
                    "    \"store_path\": \"x.db\", \"listen_adress\": "
                    "\"::1\"\n"
                    "}\n",
                    -EINVAL, ENGINE ":3:27: unknown key 'listen_adress'");
    /* The first unknown key in file order is the one reported. */
    check_doc_error("{\"zz\": 1,\n \"aa\": 2}", -EINVAL,
                    ENGINE ":1:2: unknown key 'zz'");
    /* Keys are compared decoded; the position is the raw key's. */
    check_doc_error("{\"listen_port\": 1, \"list\\u00e9n\": 2}", -EINVAL,
                    ENGINE ":1:20: unknown key 'list\xc3\xa9n'");
}

static void
test_env_references(void)
{
    json_t *doc;
    const char *text = "{\n"
                       "  \"api_keys\": [\n"
                       "    \"first-key\",\n"
                       "    {\"env\": \"HERALD_TEST_KEY\"}\n"
                       "  ]\n"
                       "}\n";

    unsetenv("HERALD_TEST_KEY");
    check_doc_error(text, -EINVAL,
                    ENGINE ":4:5: key 'api_keys[1]': environment variable "
                           "'HERALD_TEST_KEY' is not set");
    setenv("HERALD_TEST_KEY", "", 1);
    check_doc_error(text, -EINVAL,
                    ENGINE ":4:5: key 'api_keys[1]': environment variable "
                           "'HERALD_TEST_KEY' is empty");

    setenv("HERALD_TEST_KEY", "key-from-env", 1);
    doc = load_doc(text);
    if (doc) {
        CHECK(json_array_size(json_object_get(doc, "api_keys")) == 2);
        CHECK_STR(api_key(doc, 0), "first-key");
        CHECK_STR(api_key(doc, 1), "key-from-env");
    }
    json_decref(doc);
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
        check_doc_error(shapes[i], -EINVAL,
                        ENGINE ":1:15: key 'api_keys[0]': expected a "
                               "secret reference {\"env\": \"NAME\"} or "
                               "{\"file\": \"PATH\"}");
    check_doc_error("{\"api_keys\": [\"a\", [\"b\"]]}", -EINVAL,
                    ENGINE ":1:20: key 'api_keys[1]': expected a "
                           "non-empty string or a secret reference, got an "
                           "array");
}

static void
test_file_references(void)
{
    json_t *doc;
    const char *text = "{\n"
                       "  \"api_keys\": [{\"file\": \"secret.txt\"},\n"
                       "               {\"file\": \"keys/two.txt\"}]\n"
                       "}\n";

    /* Resolved against the config file's directory, not the cwd. */
    mkdir("config/keys", 0700);
    write_file("secret.txt", "wrong file\n", 0600);
    write_file("config/keys/two.txt", "two\n\n", 0600);

    write_file("config/secret.txt", "one\n", 0644);
    check_doc_errorf(text, -EINVAL,
                     ENGINE
                     ":2:16: key 'api_keys[0]': secret file '%s' "
                     "is accessible by group or others (mode 0644); make "
                     "it 0600",
                     abs_path("config/secret.txt"));
    write_file("config/secret.txt", "one\n", 0604);
    check_doc_errorf(text, -EINVAL,
                     ENGINE
                     ":2:16: key 'api_keys[0]': secret file '%s' "
                     "is accessible by group or others (mode 0604); make "
                     "it 0600",
                     abs_path("config/secret.txt"));

    /* Only one trailing newline is stripped. */
    write_file("config/secret.txt", "one\n", 0400);
    doc = load_doc(text);
    if (doc) {
        CHECK_STR(api_key(doc, 0), "one");
        CHECK_STR(api_key(doc, 1), "two\n");
    }
    json_decref(doc);

    unlink("config/keys/two.txt");
    check_doc_errorf(text, -EINVAL,
                     ENGINE ":3:16: key 'api_keys[1]': cannot read secret "
                            "file '%s': No such file or directory",
                     abs_path("config/keys/two.txt"));
    write_file("config/keys/two.txt", "\n", 0600);
    check_doc_errorf(text, -EINVAL,
                     ENGINE ":3:16: key 'api_keys[1]': secret file '%s' "
                            "is empty",
                     abs_path("config/keys/two.txt"));
    check_doc_errorf("{\"api_keys\": [{\"file\": \"keys\"}]}", -EINVAL,
                     ENGINE ":1:15: key 'api_keys[0]': secret file '%s' "
                            "is not a regular file",
                     abs_path("config/keys"));
    /* A FIFO is refused at once: nothing waits for a writer. */
    CHECK(mkfifo("config/keys/fifo", 0600) == 0);
    check_doc_errorf("{\"api_keys\": [{\"file\": \"keys/fifo\"}]}", -EINVAL,
                     ENGINE ":1:15: key 'api_keys[0]': secret file '%s' "
                            "is not a regular file",
                     abs_path("config/keys/fifo"));
    unlink("config/keys/fifo");
}

/* Loads text and checks that the error names the key and hides secret. */
static void
check_hidden(const char *text, const char *key, const char *secret)
{
    struct herald_error err = {""};
    json_t *doc = NULL;

    write_file(ENGINE, text, 0644);
    CHECK(herald_schema_load(ENGINE, doc_schema, doc_rules, &doc, &err) ==
          -EINVAL);
    CHECK_CONTAINS(err.msg, key);
    CHECK(strstr(err.msg, secret) == NULL);
    if (strstr(err.msg, secret))
        fprintf(stderr, "  leaked '%s' in: %s\n", secret, err.msg);
}

static void
test_secrets_hidden(void)
{
    check_doc_error("{\"api_keys\": [\"ok\", 987654]}", -EINVAL,
                    ENGINE ":1:21: key 'api_keys[1]': expected a "
                           "non-empty string or a secret reference, got an "
                           "integer");
    check_hidden("{\"api_keys\": [\"ok\", 987654]}", "api_keys[1]", "987654");
    check_hidden("{\"api_keys\": [\"\"]}", "api_keys[0]", "\"\"");
    check_hidden("{\"api_keys\": [true]}", "api_keys[0]", "true");

    /* jansson would quote the token it stopped at: a secret here. */
    check_doc_error("{\"api_keys\": [\"s3cr3t\\q\"]}", -EINVAL,
                    ENGINE ":1:23: invalid JSON: invalid escape");
    check_hidden("{\"api_keys\": [s3cr3t]}", "invalid JSON", "s3cr3t");
    check_hidden("{\"api_keys\": [\"s3cr3t\n\"]}", "invalid JSON", "s3cr3t");
    check_hidden("{\"api_keys\": [\"s3cr3t\" \"x\"]}", "invalid JSON",
                 "s3cr3t");

    /* A secret file whose contents are refused is not quoted. */
    write_file("config/bad.txt", "s3cr3t\xff\n", 0600);
    check_hidden("{\"api_keys\": [{\"file\": \"bad.txt\"}]}", "api_keys[0]",
                 "s3cr3t");
    check_doc_errorf("{\"api_keys\": [{\"file\": \"bad.txt\"}]}", -EINVAL,
                     ENGINE ":1:15: key 'api_keys[0]': secret file '%s' "
                            "is not UTF-8 text",
                     abs_path("config/bad.txt"));
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

    CHECK(herald_schema_validate("g.json", text, strlen(text), generic_schema,
                                 NULL, &out, &err) == -EINVAL);
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

    CHECK(herald_schema_validate("g.json", text, strlen(text), generic_schema,
                                 NULL, &out, &err) == 0);
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
    CHECK(herald_schema_validate("g.json", text, strlen(text), generic_schema,
                                 NULL, &out, &err) == 0);
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

    CHECK(herald_schema_validate("s.json", "{}", 2, schema, NULL, &out,
                                 &err) == -EINVAL);
    CHECK_STR(err.msg, "schema key 'n': default \"x\" does not fit its type");
    CHECK(out == NULL);
}

/* Validates text as r.json against schema and rules; returns rc. */
static int
validate_with(const char *text, const struct herald_config_key *schema,
              const struct herald_schema_rule *rules, json_t **out,
              struct herald_error *err)
{
    return herald_schema_validate("r.json", text, strlen(text), schema, rules,
                                  out, err);
}

static void
test_rules(void)
{
    static const char *const colours[] = {"red", "blue", NULL};
    static const struct herald_config_key schema[] = {
        {"n", HERALD_CONF_INTEGER, 0, 0, NULL, "ranged"},
        {"big", HERALD_CONF_INTEGER, 0, 0, NULL, "bounded below"},
        {"colour", HERALD_CONF_STRING, 0, 0, NULL, "one of colours"},
        {"tags", HERALD_CONF_STRING_ARRAY, 0, 0, NULL, "non-empty strings"},
        {NULL, 0, 0, 0, NULL, NULL},
    };
    static const struct herald_schema_rule rules[] = {
        {.name = "n", .ranged = 1, .min = -2, .max = 2},
        {.name = "big", .ranged = 1, .min = 10, .max = LLONG_MAX},
        {.name = "colour", .choices = colours},
        {.name = "tags", .nonempty = 1},
        {.name = NULL},
    };
    static const char *const bad[][2] = {
        {"{\"n\": 3}", "r.json:1:2: key 'n': expected an integer from -2 "
                       "to 2, got 3"},
        {"{\"big\": 9}", "r.json:1:2: key 'big': expected an integer of at "
                         "least 10, got 9"},
        {"{\"colour\": \"green\"}", "r.json:1:2: key 'colour': expected "
                                    "one of \"red\", \"blue\", got "
                                    "\"green\""},
        {"{\"tags\": [\"a\", \"\"]}", "r.json:1:16: key 'tags[1]': "
                                      "expected a non-empty string, got \"\""},
    };
    const char *good = "{\"n\": -2, \"big\": 10, \"colour\": \"blue\", "
                       "\"tags\": []}";
    struct herald_error err = {""};
    json_t *out;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        out = NULL;
        CHECK(validate_with(bad[i][0], schema, rules, &out, &err) == -EINVAL);
        CHECK_STR(err.msg, bad[i][1]);
        CHECK(out == NULL);

        /* Without rules, the same values only have to be of their type. */
        CHECK(validate_with(bad[i][0], schema, NULL, &out, &err) == 0);
        json_decref(out);
    }

    out = NULL;
    CHECK(validate_with(good, schema, rules, &out, &err) == 0);
    CHECK(json_integer_value(json_object_get(out, "n")) == -2);
    json_decref(out);
}

/* Checks herald_schema_document_dir(file) against want. */
static void
check_dir(const char *file, const char *want)
{
    struct herald_error err = {""};
    char *dir = NULL;

    CHECK(herald_schema_document_dir(file, &dir, &err) == 0);
    CHECK_STR(dir, want);
    free(dir);
}

/* Checks herald_schema_resolve_path(dir, rel) against want. */
static void
check_resolved(const char *dir, const char *rel, const char *want)
{
    char *path = herald_schema_resolve_path(dir, rel);

    CHECK_STR(path, want);
    free(path);
}

static void
test_paths(void)
{
    struct herald_error err = {""};
    json_t *sentinel = json_object();
    json_t *out = sentinel;

    check_dir("/etc/herald/herald.json", "/etc/herald");
    check_dir("/herald.json", "/");
    check_dir("herald.json", cwd);
    check_dir(ENGINE, abs_path("config"));

    check_resolved("/srv", "herald.db", "/srv/herald.db");
    check_resolved("/srv/", "data/herald.db", "/srv/data/herald.db");
    check_resolved("/srv", "/var/herald.db", "/var/herald.db");

    CHECK(herald_schema_load("config/missing.json", doc_schema, doc_rules,
                             &out, &err) == -ENOENT);
    CHECK_STR(err.msg, "cannot read config 'config/missing.json': "
                       "No such file or directory");
    CHECK(out == sentinel);
    json_decref(sentinel);
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
        perror("test_schema: cannot set up the temp directory");
        return 1;
    }

    test_syntax_errors();
    test_unknown_keys();
    test_env_references();
    test_reference_shapes();
    test_file_references();
    test_secrets_hidden();
    test_generic_validate();
    test_missing_at_nested_root();
    test_bad_schema();
    test_rules();
    test_paths();

    if (chdir(start) < 0)
        perror("test_schema: cannot return to the start directory");
    nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_done();
}
