/*
 * config.c - builds the engine's settings and loads the networks' files.
 *
 * The engine file and each network file are checked by core/schema.c
 * against the tables here: the engine's keys with the rules that bound
 * each value to the field it fills, and the keys common to every network
 * ahead of the plugin's own. Once the engine file has validated, its
 * values are copied into struct herald_config, with relative paths
 * resolved against the file's directory. Called from the main thread at
 * startup (core/main.c, core/daemon.c).
 *
 * Invariant: every integer reaching struct herald_config has passed a
 * rule that bounds it to its field's type, and the API keys are wiped
 * before they are freed.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mail.h"
#include "schema.h"

static int
oom(struct herald_error *err)
{
    herald_error_set(err, "out of memory");
    return -ENOMEM;
}

/* Returns a new string formatted like printf, or NULL. */
static char *__attribute__((format(printf, 1, 2)))
format_new(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- the engine's file -------------------------------------------- */

static const char *const synchronous_modes[] = {"full", "normal", "extra",
                                                NULL};

static const char *const level_names[] = {
    "emerg",  "alert", "crit",  "err", "warning",
    "notice", "info",  "debug", NULL,
};

#define SIZE_LIMIT                                                            \
    ((unsigned long long)SIZE_MAX > (unsigned long long)LLONG_MAX             \
         ? LLONG_MAX                                                          \
         : (long long)SIZE_MAX)

static const struct herald_config_key engine_schema[] = {
    {"listen_address", HERALD_CONF_STRING, 0, 0, "\"127.0.0.1\"",
     "address the API listens on"},
    {"listen_port", HERALD_CONF_INTEGER, 0, 0, "8080",
     "TCP port of the API; 0 picks a free port"},
    {"public_url", HERALD_CONF_URL, 0, 0, NULL,
     "base URL people reach the API at"},
    {"store_path", HERALD_CONF_STRING, 0, 0, "\"herald.db\"",
     "SQLite database file"},
    {"store_synchronous", HERALD_CONF_STRING, 0, 0, "\"full\"",
     "SQLite synchronous mode"},
    {"store_busy_timeout_ms", HERALD_CONF_INTEGER, 0, 0, "5000",
     "how long a store call waits for a lock"},
    {"key_file", HERALD_CONF_STRING, 0, 0, "\"herald.key\"",
     "file holding the key that encrypts credentials"},
    /* No default_json: the built-in directory is filled in by code. */
    {"plugin_dir", HERALD_CONF_STRING, 0, 0, NULL,
     "directory plugins are loaded from"},
    {"network_dir", HERALD_CONF_STRING, 0, 0, "\"networks\"",
     "directory of the networks' <name>.json files"},
    {"api_keys", HERALD_CONF_STRING_ARRAY, 0, 1, "[]",
     "secrets API clients present"},
    {"log_level", HERALD_CONF_STRING, 0, 0, "\"info\"",
     "most verbose syslog level logged"},
    {"max_body_bytes", HERALD_CONF_INTEGER, 0, 0, "1048576",
     "largest request body accepted"},
    {"max_header_bytes", HERALD_CONF_INTEGER, 0, 0, "16384",
     "largest request header block accepted"},
    {"connection_timeout_s", HERALD_CONF_INTEGER, 0, 0, "30",
     "idle seconds before a connection is closed"},
    {"request_deadline_s", HERALD_CONF_INTEGER, 0, 0, "60",
     "seconds a request may take in all"},
    {"max_connections", HERALD_CONF_INTEGER, 0, 0, "256",
     "most connections served at once"},
    {"return_urls", HERALD_CONF_STRING_ARRAY, 0, 0, "[]",
     "URL prefixes a connect may ask to return the person to"},
    {"account_check_interval_s", HERALD_CONF_INTEGER, 0, 0, "86400",
     "idle seconds before an account's access is checked"},
    {"retry_floor_ms", HERALD_CONF_INTEGER, 0, 0, "30000",
     "first wait after a transient failure"},
    {"retry_ceiling_ms", HERALD_CONF_INTEGER, 0, 0, "3600000",
     "longest wait between retries"},
    {"post_retry_limit_s", HERALD_CONF_INTEGER, 0, 0, "86400",
     "how long a post is retried before it fails"},
    {"publish_concurrency", HERALD_CONF_INTEGER, 0, 0, "64",
     "most posts published at once, all networks together"},
    {"resend_unknown", HERALD_CONF_BOOLEAN, 0, 0, "true",
     "resend a post of unknown outcome where repeats are refused"},
    {"lateness_limit_s", HERALD_CONF_INTEGER, 0, 0, "0",
     "expire a post this late past its schedule; 0 publishes however late"},
    {"reminder_days", HERALD_CONF_STRING, 0, 0, "\"14,7,1\"",
     "days before a hard deadline that reminders go out"},
    {"reconnect_reminder_days", HERALD_CONF_STRING, 0, 0, "\"7,3,1\"",
     "days before a reconnect window closes that reminders go out"},
    {"test_clock", HERALD_CONF_BOOLEAN, 0, 0, "false",
     "let POST /v1/test/clock move the clock forward (tests only)"},
    {"metrics_public", HERALD_CONF_BOOLEAN, 0, 0, "false",
     "serve GET /metrics without an API key"},
    {"smtp_url", HERALD_CONF_STRING, 0, 0, NULL,
     "SMTP server notices are mailed through; absent or empty: no email"},
    {"smtp_from", HERALD_CONF_STRING, 0, 0, NULL,
     "the From address of notices"},
    {"smtp_username", HERALD_CONF_STRING, 0, 0, NULL,
     "user name at the SMTP server"},
    {"smtp_password", HERALD_CONF_STRING, 0, 1, NULL,
     "password at the SMTP server"},
    {"smtp_starttls", HERALD_CONF_BOOLEAN, 0, 0, "false",
     "require STARTTLS on an smtp:// server"},
    {"webhook_url", HERALD_CONF_URL, 0, 0, NULL,
     "the calling app's URL webhooks are posted to; absent: none"},
    {"webhook_secret", HERALD_CONF_STRING, 0, 1, NULL,
     "key webhooks are signed with"},
    {"reauth_link_days", HERALD_CONF_INTEGER, 0, 0, "7",
     "days a one-time reauthorization link stays valid"},
    {"notice_max_attempts", HERALD_CONF_INTEGER, 0, 0, "10",
     "attempts at delivering one notice before it fails"},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct herald_schema_rule engine_rules[] = {
    {.name = "listen_address", .nonempty = 1},
    {.name = "listen_port", .ranged = 1, .min = 0, .max = 65535},
    {.name = "store_path", .nonempty = 1},
    {.name = "store_synchronous", .choices = synchronous_modes},
    {.name = "store_busy_timeout_ms", .ranged = 1, .max = INT_MAX},
    {.name = "key_file", .nonempty = 1},
    {.name = "plugin_dir", .nonempty = 1},
    {.name = "network_dir", .nonempty = 1},
    {.name = "api_keys", .nonempty = 1},
    {.name = "log_level", .choices = level_names},
    {.name = "max_body_bytes", .ranged = 1, .min = 1, .max = SIZE_LIMIT},
    {.name = "max_header_bytes", .ranged = 1, .min = 1, .max = SIZE_LIMIT},
    {.name = "connection_timeout_s", .ranged = 1, .min = 1, .max = UINT_MAX},
    {.name = "request_deadline_s", .ranged = 1, .min = 1, .max = UINT_MAX},
    {.name = "max_connections", .ranged = 1, .min = 1, .max = UINT_MAX},
    {.name = "return_urls", .nonempty = 1},
    {.name = "account_check_interval_s",
     .ranged = 1,
     .min = 60,
     .max = UINT_MAX},
    {.name = "retry_floor_ms", .ranged = 1, .min = 100, .max = INT_MAX},
    {.name = "retry_ceiling_ms", .ranged = 1, .min = 100, .max = INT_MAX},
    {.name = "post_retry_limit_s", .ranged = 1, .min = 1, .max = INT_MAX},
    {.name = "publish_concurrency", .ranged = 1, .min = 1, .max = 4096},
    {.name = "lateness_limit_s", .ranged = 1, .min = 0, .max = INT_MAX},
    {.name = "smtp_from", .nonempty = 1},
    {.name = "smtp_username", .nonempty = 1},
    {.name = "webhook_secret", .nonempty = 1},
    {.name = "reauth_link_days", .ranged = 1, .min = 1, .max = 365},
    {.name = "notice_max_attempts", .ranged = 1, .min = 1, .max = 100},
    {.name = NULL},
};

static const char *
get_string(const json_t *root, const char *name)
{
    return json_string_value(json_object_get(root, name));
}

static long long
get_integer(const json_t *root, const char *name)
{
    return json_integer_value(json_object_get(root, name));
}

/* Stores a copy of a string, or the path it names resolved against dir. */
static int
copy_string(const char *value, const char *dir, char **out)
{
    *out = dir ? herald_schema_resolve_path(dir, value) : strdup(value);
    return *out ? 0 : -ENOMEM;
}

/*
 * Makes the built-in plugin directory absolute. A relative one is
 * relative to the directory of the running program, so one binary finds
 * its plugins in the build tree and where it is installed.
 */
static int
default_plugin_dir(char **out, struct herald_error *err)
{
    const char *rel = HERALD_DEFAULT_PLUGIN_DIR;
    char exe[PATH_MAX];
    ssize_t n;

    if (rel[0] == '/')
        return copy_string(rel, NULL, out);
    n = readlink("/proc/self/exe", exe, sizeof(exe));
    if (n < 0 || (size_t)n >= sizeof(exe) || exe[0] != '/') {
        herald_error_set(err,
                         "cannot find the directory of the program: "
                         "%s",
                         strerror(n < 0 ? errno : ENAMETOOLONG));
        return -EINVAL;
    }
    exe[n] = '\0';
    strrchr(exe, '/')[1] = '\0';
    return copy_string(rel, exe, out);
}

/* Builds public_url: the given one less trailing '/', or the default. */
static int
make_public_url(struct herald_config *cfg, const char *given)
{
    const char *open = strchr(cfg->listen_address, ':') ? "[" : "";
    const char *close = open[0] ? "]" : "";
    size_t len;

    if (given) {
        len = strlen(given);
        while (len > 0 && given[len - 1] == '/')
            len--;
        cfg->public_url = strndup(given, len);
    } else {
        cfg->public_url =
            format_new("http://%s%s%s:%d", open, cfg->listen_address, close,
                       cfg->listen_port);
    }
    return cfg->public_url ? 0 : -ENOMEM;
}

/* Copies an array of strings into a NULL-ended list and its count. */
static int
copy_strings(const json_t *array, char ***list, size_t *count)
{
    size_t n = json_array_size(array);

    *list = calloc(n + 1, sizeof(**list));
    if (!*list)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*list)[i] = strdup(json_string_value(json_array_get(array, i)));
        if (!(*list)[i])
            return -ENOMEM;
        (*count)++;
    }
    return 0;
}

/* Copies the paths of a validated engine document, resolved, into cfg. */
static int
engine_paths(struct herald_config *cfg, const json_t *root, const char *dir,
             struct herald_error *err)
{
    const char *plugin_dir = get_string(root, "plugin_dir");
    int rc;

    rc = copy_string(get_string(root, "store_path"), dir, &cfg->store_path);
    if (rc == 0)
        rc = copy_string(get_string(root, "key_file"), dir, &cfg->key_file);
    if (rc == 0)
        rc = copy_string(get_string(root, "network_dir"), dir,
                         &cfg->network_dir);
    if (rc == 0 && plugin_dir)
        rc = copy_string(plugin_dir, dir, &cfg->plugin_dir);
    else if (rc == 0)
        rc = default_plugin_dir(&cfg->plugin_dir, err);
    return rc;
}

/* Copies the other strings of a validated engine document into cfg. */
static int
engine_strings(struct herald_config *cfg, const json_t *root)
{
    int rc;

    rc = copy_string(get_string(root, "listen_address"), NULL,
                     &cfg->listen_address);
    if (rc == 0)
        rc = copy_string(get_string(root, "store_synchronous"), NULL,
                         &cfg->store_synchronous);
    if (rc == 0)
        rc = make_public_url(cfg, get_string(root, "public_url"));
    if (rc == 0)
        rc = copy_strings(json_object_get(root, "api_keys"), &cfg->api_keys,
                          &cfg->api_key_count);
    if (rc == 0)
        rc = copy_strings(json_object_get(root, "return_urls"),
                          &cfg->return_urls, &cfg->return_url_count);
    return rc;
}

/* Copies the numbers of a validated engine document into cfg. */
static void
engine_numbers(struct herald_config *cfg, const json_t *root)
{
    /* The rules bound every integer to the range of its field. */
    cfg->listen_port = (int)get_integer(root, "listen_port");
    cfg->store_busy_timeout_ms =
        (int)get_integer(root, "store_busy_timeout_ms");
    cfg->max_body_bytes = (size_t)get_integer(root, "max_body_bytes");
    cfg->max_header_bytes = (size_t)get_integer(root, "max_header_bytes");
    cfg->connection_timeout_s =
        (unsigned)get_integer(root, "connection_timeout_s");
    cfg->request_deadline_s =
        (unsigned)get_integer(root, "request_deadline_s");
    cfg->max_connections = (unsigned)get_integer(root, "max_connections");
    cfg->account_check_interval_s =
        (unsigned)get_integer(root, "account_check_interval_s");
    cfg->retry_floor_ms = get_integer(root, "retry_floor_ms");
    cfg->retry_ceiling_ms = get_integer(root, "retry_ceiling_ms");
    cfg->post_retry_limit_s = get_integer(root, "post_retry_limit_s");
    cfg->publish_concurrency =
        (unsigned)get_integer(root, "publish_concurrency");
    cfg->resend_unknown =
        json_is_true(json_object_get(root, "resend_unknown"));
    cfg->test_clock = json_is_true(json_object_get(root, "test_clock"));
    cfg->metrics_public =
        json_is_true(json_object_get(root, "metrics_public"));
    cfg->lateness_limit_s = get_integer(root, "lateness_limit_s");
    cfg->smtp_starttls = json_is_true(json_object_get(root, "smtp_starttls"));
    cfg->reauth_link_days = (unsigned)get_integer(root, "reauth_link_days");
    cfg->notice_max_attempts =
        (unsigned)get_integer(root, "notice_max_attempts");
}

/* Copies an optional string (NULL or empty: absent) into *out. */
static int
copy_optional(const json_t *root, const char *name, char **out)
{
    const char *v = get_string(root, name);

    *out = NULL;
    if (!v || !*v)
        return 0;
    *out = strdup(v);
    return *out ? 0 : -ENOMEM;
}

/*
 * Returns what is wrong with the notifier's settings in cfg, with *key
 * naming the key, or NULL when they go together.
 */
static const char *
notice_problem(const struct herald_config *cfg, const char **key)
{
    char from[256];

    *key = "smtp_url";
    if (cfg->smtp_url && strncmp(cfg->smtp_url, "smtp://", 7) != 0 &&
        strncmp(cfg->smtp_url, "smtps://", 8) != 0)
        return "expected a URL starting with smtp:// or smtps://";
    *key = "smtp_from";
    if (cfg->smtp_url && !cfg->smtp_from)
        return "required when smtp_url is set";
    if (cfg->smtp_from &&
        herald_mail_envelope_address(cfg->smtp_from, from, sizeof(from)))
        return "expected an address, or a name and <address>";
    *key = "smtp_password";
    if (cfg->smtp_password && !cfg->smtp_username)
        return "given without smtp_username";
    *key = "webhook_secret";
    if (cfg->webhook_url && !cfg->webhook_secret)
        return "required when webhook_url is set";
    return NULL;
}

/*
 * Copies the notifier's settings into cfg and checks the ones that go
 * together. Returns 0, -ENOMEM, or -EINVAL with err naming the key.
 */
static int
engine_notices(struct herald_config *cfg, const json_t *root,
               struct herald_error *err)
{
    static const char *const keys[] = {"smtp_url",      "smtp_from",
                                       "smtp_username", "smtp_password",
                                       "webhook_url",   "webhook_secret"};
    char **fields[] = {&cfg->smtp_url,      &cfg->smtp_from,
                       &cfg->smtp_username, &cfg->smtp_password,
                       &cfg->webhook_url,   &cfg->webhook_secret};
    const char *key, *why;

    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        if (copy_optional(root, keys[i], fields[i]) != 0)
            return -ENOMEM;
    why = notice_problem(cfg, &key);
    if (!why)
        return 0;
    herald_error_set(err, "%s: key '%s': %s", cfg->source, key, why);
    return -EINVAL;
}

/* Sets the log level; its name was checked against level_names. */
static int
engine_level(struct herald_config *cfg, const json_t *root,
             struct herald_error *err)
{
    const char *name = get_string(root, "log_level");

    if (herald_log_parse_level(name, &cfg->log_level) == 0)
        return 0;
    herald_error_set(err,
                     "%s: key 'log_level': '%s' is not a level the "
                     "logger knows",
                     cfg->source, name);
    return -EINVAL;
}

/*
 * Parses a list of days such as "14,7,1" (1 to 8 numbers from 1 to 365)
 * into days[], sorted from the largest. Returns 0 or -EINVAL with err.
 */
static int
engine_days(struct herald_config *cfg, const json_t *root, const char *key,
            int *days, size_t *count, struct herald_error *err)
{
    const char *s = get_string(root, key);
    char *end;

    *count = 0;
    while (s && *s) {
        long v = strtol(s, &end, 10);

        if (end == s || v < 1 || v > 365 || *count == 8 ||
            (*end && *end != ',')) {
            herald_error_set(err,
                             "%s: key '%s': expected up to 8 numbers of "
                             "days from 1 to 365, separated by commas",
                             cfg->source, key);
            return -EINVAL;
        }
        days[(*count)++] = (int)v;
        s = *end ? end + 1 : end;
    }
    /* Largest first: the order reminders fall due. */
    for (size_t i = 1; i < *count; i++)
        for (size_t j = i; j > 0 && days[j] > days[j - 1]; j--) {
            int t = days[j];
            days[j] = days[j - 1];
            days[j - 1] = t;
        }
    return 0;
}

/* Builds the struct from the validated document root of file into *out. */
static int
engine_build(const char *file, const json_t *root, struct herald_config **out,
             struct herald_error *err)
{
    struct herald_config *cfg;
    char *dir;
    int rc;

    rc = herald_schema_document_dir(file, &dir, err);
    if (rc < 0)
        return rc;
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        rc = oom(err);
        goto out_dir;
    }

    engine_numbers(cfg, root);
    cfg->source = strdup(file);
    rc = cfg->source ? engine_strings(cfg, root) : -ENOMEM;
    if (rc == 0)
        rc = engine_paths(cfg, root, dir, err);
    if (rc == 0)
        rc = engine_level(cfg, root, err);
    if (rc == 0)
        rc = engine_days(cfg, root, "reminder_days", cfg->reminder_days,
                         &cfg->reminder_count, err);
    if (rc == 0)
        rc = engine_days(cfg, root, "reconnect_reminder_days",
                         cfg->reconnect_reminder_days,
                         &cfg->reconnect_reminder_count, err);
    if (rc == 0)
        rc = engine_notices(cfg, root, err);
    if (rc == 0 && cfg->retry_ceiling_ms < cfg->retry_floor_ms) {
        herald_error_set(err,
                         "%s: key 'retry_ceiling_ms': must not be less "
                         "than retry_floor_ms",
                         cfg->source);
        rc = -EINVAL;
    }

    if (rc < 0) {
        if (rc == -ENOMEM)
            oom(err);
        herald_config_free(cfg);
    } else {
        *out = cfg;
    }
out_dir:
    free(dir);
    return rc;
}

int
herald_config_load(const char *path, struct herald_config **out,
                   struct herald_error *err)
{
    const char *file = path ? path : HERALD_CONFIG_EMBEDDED;
    json_t *root;
    int rc;

    /* The schema module wipes the file's text, which may hold API keys. */
    if (path)
        rc = herald_schema_load(path, engine_schema, engine_rules, &root, err);
    else
        rc = herald_schema_validate(file, "{}", 2, engine_schema, engine_rules,
                                    &root, err);
    if (rc < 0)
        return rc;

    rc = engine_build(file, root, out, err);
    json_decref(root);
    return rc;
}

static void
free_secret(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}

void
herald_config_free(struct herald_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->api_key_count; i++)
        free_secret(cfg->api_keys[i]);
    free(cfg->api_keys);
    for (size_t i = 0; i < cfg->return_url_count; i++)
        free(cfg->return_urls[i]);
    free(cfg->return_urls);
    free(cfg->source);
    free(cfg->listen_address);
    free(cfg->public_url);
    free(cfg->store_path);
    free(cfg->store_synchronous);
    free(cfg->key_file);
    free(cfg->plugin_dir);
    free(cfg->network_dir);
    free(cfg->smtp_url);
    free(cfg->smtp_from);
    free(cfg->smtp_username);
    free_secret(cfg->smtp_password);
    free(cfg->webhook_url);
    free_secret(cfg->webhook_secret);
    free(cfg);
}

/* ---- network files ------------------------------------------------ */

static const struct herald_config_key network_common[] = {
    {"enabled", HERALD_CONF_BOOLEAN, 0, 0, "true",
     "false keeps the network's plugin unused"},
    {"client_id", HERALD_CONF_STRING, 1, 0, NULL,
     "the application's id at the network"},
    {"client_secret", HERALD_CONF_STRING, 1, 1, NULL,
     "the application's secret at the network"},
    {"redirect_uri", HERALD_CONF_URL, 1, 0, NULL,
     "the OAuth callback registered at the network"},
    /* The default is the plugin's default_scopes, set at load. */
    {"scopes", HERALD_CONF_STRING_ARRAY, 0, 0, NULL, "the scopes to ask for"},
    {"concurrency", HERALD_CONF_INTEGER, 0, 0, "8",
     "most posts published on the network at once"},
};

#define NETWORK_COMMON_COUNT                                                  \
    (sizeof(network_common) / sizeof(network_common[0]))

static const struct herald_schema_rule network_rules[] = {
    {.name = "client_id", .nonempty = 1},
    {.name = "client_secret", .nonempty = 1},
    {.name = "scopes", .nonempty = 1},
    {.name = "concurrency", .ranged = 1, .min = 1, .max = 1024},
    {.name = NULL},
};

/* Returns whether name is a network id: [a-z0-9_]+. */
static int
is_network_name(const char *name)
{
    if (!name[0])
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return 1;
}

/* Makes the JSON text of the default scopes (new string). */
static char *
scopes_json(const char *const *scopes)
{
    json_t *array = json_array();
    char *text = NULL;
    int rc = array ? 0 : -1;

    for (size_t i = 0; rc == 0 && scopes && scopes[i]; i++)
        rc = json_array_append_new(array, json_string(scopes[i]));
    if (rc == 0)
        text = json_dumps(array, JSON_COMPACT);
    json_decref(array);
    return text;
}

/*
 * Makes the schema of a network file in *out (new array, freed by the
 * caller): the common keys, then the plugin's. The scopes default is
 * borrowed from scopes.
 */
static int
network_schema(const char *name, const struct herald_config_key *plugin,
               const char *scopes, struct herald_config_key **out,
               struct herald_error *err)
{
    size_t count = 0;
    struct herald_config_key *schema;

    for (; plugin && plugin[count].name; count++) {
        for (size_t i = 0; i < NETWORK_COMMON_COUNT; i++) {
            if (strcmp(plugin[count].name, network_common[i].name) != 0)
                continue;
            herald_error_set(err,
                             "network '%s': plugin key '%s' repeats a "
                             "common network key",
                             name, plugin[count].name);
            return -EINVAL;
        }
    }

    schema = calloc(NETWORK_COMMON_COUNT + count + 1, sizeof(*schema));
    if (!schema)
        return oom(err);
    memcpy(schema, network_common, sizeof(network_common));
    if (count)
        memcpy(schema + NETWORK_COMMON_COUNT, plugin, count * sizeof(*schema));
    for (size_t i = 0; i < NETWORK_COMMON_COUNT; i++)
        if (strcmp(schema[i].name, "scopes") == 0)
            schema[i].default_json = scopes;
    *out = schema;
    return 0;
}

int
herald_config_load_network(const struct herald_config *cfg, const char *name,
                           const struct herald_config_key *plugin_schema,
                           const char *const *default_scopes, json_t **out,
                           struct herald_error *err)
{
    struct herald_config_key *schema = NULL;
    char *scopes;
    char *path = NULL;
    int rc;

    if (!is_network_name(name)) {
        herald_error_set(err, "invalid network name '%s'", name);
        return -EINVAL;
    }
    scopes = scopes_json(default_scopes);
    if (!scopes)
        return oom(err);

    rc = network_schema(name, plugin_schema, scopes, &schema, err);
    if (rc < 0)
        goto out_scopes;
    path = format_new("%s/%s.json", cfg->network_dir, name);
    if (!path) {
        rc = oom(err);
        goto out_schema;
    }

    rc = herald_schema_load(path, schema, network_rules, out, err);
    free(path);
out_schema:
    free(schema);
out_scopes:
    free(scopes);
    return rc;
}

int64_t
herald_config_retry_at(const struct herald_config *cfg, int64_t attempts,
                       int64_t now, uint32_t random)
{
    int64_t wait = cfg->retry_floor_ms;

    for (int64_t i = 1; i < attempts && wait < cfg->retry_ceiling_ms; i++)
        wait *= 2;
    if (wait > cfg->retry_ceiling_ms)
        wait = cfg->retry_ceiling_ms;
    /* What failed together is not all retried together. */
    wait = wait * 4 / 5 + (int64_t)(random % (uint64_t)(wait * 2 / 5 + 1));
    return now + wait;
}
