/*
 * cli_args.h - reads the options of one command-line client command.
 *
 * Options are "--name VALUE", "--name=VALUE" or a bare "--flag"; "-h"
 * and "--help" ask for help; "--" ends the options. Everything else is
 * a positional argument. The command's own options and the global ones
 * are read together, so global options may come anywhere. Pure: no I/O.
 */
#ifndef HERALD_CLI_ARGS_H
#define HERALD_CLI_ARGS_H

#include <stddef.h>

#define CLI_MAX_GIVEN      256
#define CLI_MAX_POSITIONAL 8

/* One option a command accepts. Tables end with a NULL name. */
struct cli_option {
    const char *name;    /* "owner" for --owner */
    const char *metavar; /* "O" for a value; NULL for a flag */
    int repeat;          /* may be given more than once */
    const char *help;    /* one line for --help */
};

/* One option found on the command line. */
struct cli_given {
    const char *name;  /* the option's name, from its table */
    const char *value; /* borrowed from argv; "" for a flag */
};

/* What one command line said. Every string is borrowed from argv. */
struct cli_parsed {
    struct cli_given given[CLI_MAX_GIVEN];
    size_t count;
    const char *positional[CLI_MAX_POSITIONAL];
    size_t npositional;
    int help; /* -h or --help was given */
};

/*
 * Reads argc/argv (no program or command name in it) against the option
 * tables opts and globals (either may be NULL). Returns 0 and fills out;
 * or -EINVAL with a one-line problem in msg (len bytes): an unknown
 * option, a value missing or given to a flag, an option given twice
 * that may be given once, too many positional arguments.
 */
int cli_parse(const struct cli_option *opts, const struct cli_option *globals,
              int argc, char **argv, struct cli_parsed *out, char *msg,
              size_t len);

/* The value of the option name (the last one when repeated), or NULL. */
const char *cli_get(const struct cli_parsed *p, const char *name);

/*
 * Fills out with up to max values of the option name, in command-line
 * order. Returns how many there are in all (which may be more than max).
 */
size_t cli_get_all(const struct cli_parsed *p, const char *name,
                   const char **out, size_t max);

/*
 * Finds the option named by arg ("--name" or "--name=value") in table.
 * Returns it or NULL. When arg has no "=" and the option takes a value,
 * *takes_next is set to 1.
 */
const struct cli_option *cli_find_option(const struct cli_option *table,
                                         const char *arg, int *takes_next);

#endif
