/*
 * schema.h - checks a JSON configuration document against a schema.
 *
 * This module owns the one validator every JSON configuration goes
 * through: a document is checked against a table of struct
 * herald_config_key (herald/plugin.h), optionally tightened by rules
 * (ranges, allowed values, non-empty strings), and comes out as a new
 * object with every default filled in and every secret reference
 * resolved. The engine configuration (core/config.c) calls it for the
 * engine file and for each network's file, from the main thread at
 * startup, before the loop runs. It also owns how a relative path in a
 * document is resolved, so the engine's paths and secret files agree.
 *
 * Every error is one line that points into the file:
 *     FILE:LINE:COL: key 'NAME': what was expected
 *     FILE:LINE:COL: unknown key 'NAME'
 *     FILE:LINE:COL: missing required key 'NAME'
 *     FILE:LINE:COL: invalid JSON: jansson's message
 * Lines and columns are 1-based and count bytes (core/jsonpos.h).
 *
 * Invariant: the value of a key marked secret, and whatever a secret
 * reference resolves to, never appears in an error message.
 */
#ifndef HERALD_SCHEMA_H
#define HERALD_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "herald/plugin.h"

/*
 * A check the core adds to one key of its own schemas, found by the key's
 * name. A rule narrows what the key's type accepts, and the message for
 * a value that breaks it says what is expected ("an integer from 0 to
 * 65535", "one of ...", "a non-empty string"). Plugins declare no rules.
 */
struct herald_schema_rule {
    const char *name; /* the key's name; NULL ends a table */
    int ranged;       /* integer keys: min and max apply */
    long long min;
    long long max;              /* LLONG_MAX reads "of at least min" */
    const char *const *choices; /* string keys: allowed values, NULL-ended */
    int nonempty;               /* strings and array elements */
};

/*
 * Validates a JSON document (text of len bytes, need not end with NUL)
 * against schema, an array of struct herald_config_key ending with a
 * NULL name, and rules, an array ending with a NULL name (or NULL: no
 * rules). file names the document in messages and gives the directory
 * that relative {"file": PATH} references are resolved against.
 *
 * The document must be an object whose keys are all in the schema, with
 * every required key present and every value of its declared type:
 * integers are JSON integers, booleans true or false, URLs strings
 * starting with http:// or https:// and naming a host. A key marked
 * secret may instead hold a reference, {"env": "NAME"} (a set, non-empty
 * environment variable) or {"file": "PATH"} (a file not readable or
 * writable by group or others, whose contents less one trailing newline
 * are the value); references resolve to strings, so they suit string,
 * URL and string-array keys (each element may be one). A value must also
 * keep its key's rule, if any.
 *
 * Returns 0 and stores in *out a new reference to an object holding
 * every schema key that was given or has a default, with references
 * resolved. Returns -EINVAL with err filled (*out untouched) for a syntax
 * error (duplicate keys included), a root that is not an object, an
 * unknown key, a missing required key, a wrong type, a broken rule or a
 * reference that cannot be resolved (a missing secret file included:
 * never -ENOENT), and also for a schema whose default_json does not
 * parse or fit its type; -ENOMEM. Every pointer is borrowed.
 */
int herald_schema_validate(const char *file, const char *text, size_t len,
                           const struct herald_config_key *schema,
                           const struct herald_schema_rule *rules,
                           json_t **out, struct herald_error *err);

/*
 * Reads the file at path (at most 1 MiB) and validates it as
 * herald_schema_validate() does, with path naming it in messages. The
 * text read is wiped before it is freed, since it may hold secrets.
 *
 * Returns 0 and stores a new reference in *out; a negative errno value
 * when the file cannot be read (-ENOENT when it does not exist, -EFBIG
 * past 1 MiB; err: "cannot read config 'PATH': ..."); otherwise what
 * herald_schema_validate() returns. err is filled on every failure and
 * *out untouched. Every pointer is borrowed.
 */
int herald_schema_load(const char *path,
                       const struct herald_config_key *schema,
                       const struct herald_schema_rule *rules, json_t **out,
                       struct herald_error *err);

/*
 * Makes the absolute directory of the document named file, the one its
 * relative paths are resolved against: the directory part of file,
 * taken from the current directory when file is relative.
 *
 * Returns 0 and stores a new string in *dir (the caller frees it);
 * -ENOMEM, or -EINVAL when the current directory cannot be found, with
 * err filled and *dir untouched. file is borrowed.
 */
int herald_schema_document_dir(const char *file, char **dir,
                               struct herald_error *err);

/*
 * Resolves rel against dir (a directory, with or without a trailing
 * '/'): returns a new string, dir/rel, or a copy of rel when rel is
 * absolute; NULL when out of memory. The caller frees the result; both
 * arguments are borrowed. No file is looked at.
 */
char *herald_schema_resolve_path(const char *dir, const char *rel);

#endif
