/*
 * config.h - the engine configuration and the networks' files.
 *
 * This module owns the engine's settings (struct herald_config, read once
 * at startup from one JSON file) and the keys common to every network's
 * file, which it loads with the plugin's own keys
 * (struct herald_config_key, herald/plugin.h). Both kinds of file are
 * checked by the validator in core/schema.h, whose one-line
 * "FILE:LINE:COL: ..." errors these functions return. Called from the
 * main thread at startup, before the loop runs.
 *
 * Invariant: a loaded struct herald_config has every field filled and
 * every path absolute; its API keys are secrets, never put in a message
 * and wiped when it is freed.
 */
#ifndef HERALD_CONFIG_H
#define HERALD_CONFIG_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "herald/plugin.h"

/* The name herald_config_load() gives the configuration without a file. */
#define HERALD_CONFIG_EMBEDDED "(embedded default)"

/*
 * The engine's settings, every field filled (defaults included). Paths are
 * absolute once loaded. Every string is owned by the struct.
 */
struct herald_config {
    char *source;              /* file path, or "(embedded default)" */
    char *listen_address;      /* "127.0.0.1" default */
    int listen_port;           /* 8080 default, 0..65535 (0: a free port) */
    char *public_url;          /* base URL of the API, no trailing '/';
                                  default "http://<listen_address>:<port>" */
    char *store_path;          /* "herald.db" default */
    char *store_synchronous;   /* "full" (default), "normal" or "extra" */
    int store_busy_timeout_ms; /* 5000 default, >= 0 */
    char *key_file;            /* "herald.key" default */
    char *plugin_dir;  /* default HERALD_DEFAULT_PLUGIN_DIR, relative to
                          the directory of the running program */
    char *network_dir; /* "networks" default: one <network>.json each */
    char **api_keys;   /* resolved secrets, api_key_count, then NULL */
    size_t api_key_count;
    int log_level;                 /* syslog level; "info" default */
    size_t max_body_bytes;         /* 1048576 default */
    size_t max_header_bytes;       /* 16384 default */
    unsigned connection_timeout_s; /* 30 default */
    unsigned request_deadline_s;   /* 60 default */
    unsigned max_connections;      /* 256 default */
    char **return_urls;            /* allowed return URL prefixes, then NULL */
    size_t return_url_count;
    unsigned account_check_interval_s; /* 86400 default, >= 60 */
    int64_t retry_floor_ms;            /* first backoff wait; 30000 default */
    int64_t retry_ceiling_ms;     /* longest backoff wait; 3600000 default */
    int64_t post_retry_limit_s;   /* retry a post this long; 86400 */
    unsigned publish_concurrency; /* attempts in flight at most; 64 */
    int resend_unknown;           /* resend unknown outcomes to deduplicating
                                     networks; true default */
    int test_clock;           /* the clock may be moved forward; tests only */
    int metrics_public;       /* GET /metrics needs no API key; false */
    int64_t lateness_limit_s; /* expire posts this late; 0: never */
    int reminder_days[8];     /* days before a hard deadline, descending */
    size_t reminder_count;
    int reconnect_reminder_days[8]; /* before a reconnect window closes */
    size_t reconnect_reminder_count;
    char *smtp_url;       /* "smtp://" or "smtps://" URL; NULL: no email */
    char *smtp_from;      /* the From address; set whenever smtp_url is */
    char *smtp_username;  /* NULL: no SMTP authentication */
    char *smtp_password;  /* secret; wiped when freed */
    int smtp_starttls;    /* require STARTTLS on smtp:// */
    char *webhook_url;    /* the calling app's URL; NULL: no webhooks */
    char *webhook_secret; /* secret signing key; set with webhook_url */
    unsigned reauth_link_days;    /* one-time links last; 7 default */
    unsigned notice_max_attempts; /* per notice and channel; 10 default */
};

/*
 * Loads and validates the engine configuration at path; path NULL loads
 * the embedded default (every key at its default, no file). Relative
 * paths (store_path, key_file, plugin_dir, network_dir, defaults
 * included) are resolved against the directory of the config file, or
 * against the current directory for the embedded default. The one
 * exception is plugin_dir when the file does not set it: a relative
 * HERALD_DEFAULT_PLUGIN_DIR is resolved against the directory of the
 * running program (/proc/self/exe).
 *
 * When listen_port is 0 and public_url is not given, public_url names
 * port 0: whoever binds the socket must rebuild it with the real port.
 *
 * Returns 0 and stores a new struct in *out (free it with
 * herald_config_free()); or a negative errno value with err filled and
 * *out untouched: -ENOENT, -EACCES and the like when the file cannot be
 * read ("cannot read config 'PATH': ..."), -EINVAL when it does not
 * validate, -ENOMEM. path is borrowed.
 */
int herald_config_load(const char *path, struct herald_config **out,
                       struct herald_error *err);

/* Frees cfg and every string it owns, wiping the API keys first.
 * cfg may be NULL. */
void herald_config_free(struct herald_config *cfg);

/*
 * When to retry after the attempts-th failure in a row (1 for the first):
 * retry_floor_ms doubling up to retry_ceiling_ms, varied by up to 20 %
 * either way by random, after now. The one backoff of renewals, posts
 * and notices.
 */
int64_t herald_config_retry_at(const struct herald_config *cfg,
                               int64_t attempts, int64_t now, uint32_t random);

/*
 * Loads <cfg->network_dir>/<name>.json and validates it against the
 * common network keys followed by plugin_schema (which may be NULL). The
 * common keys, owned by the core:
 *     "enabled"       boolean, default true
 *     "client_id"     string, required
 *     "client_secret" string, secret, required
 *     "redirect_uri"  URL, required
 *     "scopes"        array of strings, default default_scopes
 *     "concurrency"   integer 1..1024, default 8
 * default_scopes is NULL-terminated and may be NULL (an empty array).
 * name must be a network id: lower case letters, digits and '_'.
 *
 * Returns 0 and stores a new reference in *out; -ENOENT when the file
 * does not exist (err: "cannot read config 'PATH': ..."); -EINVAL for a
 * bad name, a plugin key that repeats a common key, or a file that does
 * not validate; other negative errno values when the file cannot be
 * read. err is filled on every failure and *out untouched. Every pointer
 * is borrowed.
 */
int herald_config_load_network(const struct herald_config *cfg,
                               const char *name,
                               const struct herald_config_key *plugin_schema,
                               const char *const *default_scopes, json_t **out,
                               struct herald_error *err);

#endif
