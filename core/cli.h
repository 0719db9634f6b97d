/*
 * cli.h - the herald commands that operate a running daemon through its
 * HTTP API: networks, accounts, posts, bulk and events (docs/cli.md).
 *
 * main.c hands the command line over when herald_cli_claims() says it
 * names one of them; the rest of the program does not know the client.
 * The client runs in its own process, blocking, and never prints the
 * API key.
 */
#ifndef HERALD_CLI_H
#define HERALD_CLI_H

#include <stdio.h>

/*
 * Whether argv (argv[0] being the program) names one of the client's
 * commands, possibly after global options, or starts with a global
 * option. Returns 1 or 0. argv is borrowed.
 */
int herald_cli_claims(int argc, char **argv);

/*
 * Runs the client's command named by argv (argv[0] being the program).
 * Returns the exit status: 0 done, 1 the daemon refused or could not be
 * reached, 2 bad usage. Call once per process, from main().
 */
int herald_cli_main(int argc, char **argv);

/* Prints the client's commands and global options, for herald --help. */
void herald_cli_help(FILE *out);

#endif
