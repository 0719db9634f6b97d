/*
 * cli_private.h - what the command-line client's files share: the
 * command table's shape, the connection to the daemon, and the helpers
 * that talk to it and print its answers.
 *
 * Private to cli*.c. Every command runs once, blocking, in a process of
 * its own; the API key lives in struct cli_ctx only and is never
 * printed.
 */
#ifndef HERALD_CLI_PRIVATE_H
#define HERALD_CLI_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli_args.h"
#include "cli_table.h"
#include "cli_text.h"

/* Exit statuses: done, refused or failed, bad usage. */
#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

/* Where the daemon is and how to speak to it. */
struct cli_ctx {
    char *url; /* base URL without a trailing '/', owned */
    char *key; /* the API key, owned, wiped when freed; never printed */
    int json;  /* --json: print the daemon's answers as they are */
};

struct cli_command;

typedef int (*cli_run_fn)(struct cli_ctx *c, const struct cli_command *cmd,
                          const struct cli_parsed *p);

/* One command: "herald GROUP NAME ...". Tables end with a NULL group. */
struct cli_command {
    const char *group;   /* "accounts" */
    const char *name;    /* "list" */
    int is_default;      /* runs when the group is given alone */
    const char *args;    /* positional arguments for usage: "ID", "" */
    size_t npositional;  /* exactly this many */
    const char *summary; /* one line */
    const char *about;   /* a paragraph for --help, or NULL */
    const struct cli_option *options;
    cli_run_fn run;
};

/*
 * Fills c from the global options (or NULL), the environment and the
 * engine configuration, in the order docs/cli.md gives. Returns CLI_OK,
 * or CLI_USAGE after saying what is missing or wrong.
 */
int cli_resolve(struct cli_ctx *c, const char *url, const char *key,
                const char *config);

/* Frees what c owns, wiping the key. */
void cli_ctx_clear(struct cli_ctx *c);

/* The command tables of each file. */
extern const struct cli_command cli_network_commands[];
extern const struct cli_command cli_account_commands[];
extern const struct cli_command cli_post_commands[];
extern const struct cli_command cli_bulk_commands[];
extern const struct cli_command cli_event_commands[];

/*
 * Sends one request to the daemon: method on path (with its query),
 * with body as JSON when not NULL and an Idempotency-Key header when
 * idem is not NULL. On a 2xx answer, returns CLI_OK and *answer (a new
 * reference, never NULL). Otherwise prints on stderr what went wrong and
 * what to do (and, with --json, the daemon's JSON answer on stdout) and
 * returns CLI_FAIL. Every pointer is borrowed.
 */
int cli_call(struct cli_ctx *c, const char *method, const char *path,
             json_t *body, const char *idem, json_t **answer);

/* Prints each "problems" entry of the API (account, rule, message) on
 * stderr, one line each. problems is borrowed and may be NULL. */
void cli_print_problems(json_t *problems);

/* Prints j indented on stdout, then a newline. */
void cli_print_json(json_t *j);

/*
 * Prints one "herald: ..." line on stderr, then where to read more,
 * and returns CLI_USAGE. cmd may be NULL (the top level).
 */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Reads a positive decimal id from s (what names it: "a post id"). Returns
 * 0 with *id, or CLI_USAGE after saying what is wrong.
 */
int cli_parse_id(const struct cli_command *cmd, const char *what,
                 const char *s, int64_t *id);

/*
 * Checks that every option of names (NULL-terminated) given in p is a
 * positive number. Returns CLI_OK, or CLI_USAGE after naming the first
 * that is not.
 */
int cli_check_ids(const struct cli_command *cmd, const struct cli_parsed *p,
                  const char *const *names);

/*
 * Appends "&name=escaped(value)" (with '?' first) to path for every
 * option of names (NULL-terminated) given in p. Returns 0 or -ENOMEM.
 */
int cli_add_query(struct cli_buf *path, const struct cli_parsed *p,
                  const char *const *names);

/*
 * The start of every list command: checks that the options of numbers
 * are positive numbers, GETs base with the options of query as its query
 * string (both NULL-terminated) and, with --all, every following page,
 * gathered into the first answer's array (named as base's last
 * segment); with --json prints the answer. Returns CLI_OK with *answer
 * for the caller to print as a table (NULL when it was printed already),
 * CLI_USAGE, or CLI_FAIL.
 */
int cli_get_list(struct cli_ctx *c, const struct cli_command *cmd,
                 const struct cli_parsed *p, const char *base,
                 const char *const *query, const char *const *numbers,
                 json_t **answer);

/* The string member name of o, or NULL. o may be NULL. */
const char *cli_str(json_t *o, const char *name);

/* Writes the integer member name of o into buf, or "-" when it is not
 * one. Returns buf. */
const char *cli_number(json_t *o, const char *name, char *buf, size_t len);

/* Writes the time member name of o into buf as tables show times
 * (cli_time()). Returns buf. */
const char *cli_time_of(json_t *o, const char *name, char *buf, size_t len);

/* Adds a "name  value" row to a two-column table; t may be NULL (out of
 * memory), when nothing happens. */
void cli_pair(struct cli_table *t, const char *name, const char *value);

/* Adds a "name  time" row from the time member field of o. */
void cli_pair_time(struct cli_table *t, const char *name, json_t *o,
                   const char *field);

/* Prints "more: add --after N" on stderr when answer's "next" is set. */
void cli_hint_next(json_t *answer);

/* Prints t on stdout and frees it; a NULL t (out of memory) says so. */
int cli_table_done(struct cli_table *t);

#endif
