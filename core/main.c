/*
 * main.c - the herald program: reads the command line and runs one
 * subcommand.
 *
 *   herald serve [--config FILE]        run the daemon
 *   herald config check --config FILE   validate without starting
 *   herald keygen --out FILE            write a new encryption key
 *   herald rekey --config FILE --new-key FILE
 *                                       re-seal the store under a new key
 *   herald networks|accounts|posts|bulk|events ...
 *                                       operate a running daemon (cli.c)
 *
 * Exit status: 0 on success, 1 when the work failed, 2 on bad usage.
 * Every failure prints one line on stderr that names the thing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "daemon.h"
#include "log.h"
#include "rekey.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: herald <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]          run the daemon (without --config:\n"
    "                                 the embedded default configuration)\n"
    "  config check --config FILE     validate a configuration, its network\n"
    "                                 files and plugins, and exit\n"
    "  keygen --out FILE              write a new encryption key (mode "
    "0600)\n"
    "  rekey --config FILE --new-key FILE\n"
    "                                 re-seal the store under a new key "
    "(the\n"
    "                                 daemon stopped)\n"
    "  version                        print the version\n"
    "\n"
    "options:\n"
    "  -h, --help                     show this help\n";

static int
usage(const char *problem)
{
    if (problem)
        fprintf(stderr, "herald: %s\n", problem);
    fputs(usage_text, problem ? stderr : stdout);
    herald_cli_help(problem ? stderr : stdout);
    return problem ? EXIT_USAGE : 0;
}

/*
 * Reads "--NAME VALUE" or "--NAME=VALUE" options from argv. Returns 0,
 * or EXIT_USAGE after printing what was wrong.
 */
static int
parse_option(int argc, char **argv, const char *name, const char **value)
{
    size_t n = strlen(name);

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return -1;
        if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, n) == 0 &&
            a[2 + n] == '=') {
            *value = a + 3 + n;
        } else if (strncmp(a, "--", 2) == 0 && strcmp(a + 2, name) == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "herald: option '--%s' needs a value\n", name);
                return EXIT_USAGE;
            }
            *value = argv[++i];
        } else {
            fprintf(stderr, "herald: unknown argument '%s'\n", a);
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int
cmd_serve(int argc, char **argv)
{
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;
    const char *path = NULL;
    int rc;

    rc = parse_option(argc, argv, "config", &path);
    if (rc != 0)
        return rc < 0 ? usage(NULL) : rc;
    if (herald_config_load(path, &cfg, &err) != 0) {
        fprintf(stderr, "herald: %s\n", err.msg);
        return 1;
    }
    rc = herald_daemon_run(cfg, &err);
    herald_config_free(cfg);
    if (rc != 0) {
        fprintf(stderr, "herald: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static int
cmd_config_check(int argc, char **argv)
{
    struct herald_registry reg = {0};
    struct herald_error err = {""};
    struct herald_config *cfg = NULL;
    const char *path = NULL;
    size_t configured = 0;
    int rc;

    rc = parse_option(argc, argv, "config", &path);
    if (rc != 0)
        return rc < 0 ? usage(NULL) : rc;
    if (!path)
        return usage("config check needs --config FILE");

    /* Plugin refusals are logged; checking wants them on stderr too. */
    herald_log_level = LOG_WARNING;
    rc = herald_config_load(path, &cfg, &err);
    if (rc == 0)
        rc = herald_daemon_load_networks(cfg, &reg, &err);
    if (rc != 0) {
        fprintf(stderr, "herald: %s\n", err.msg);
        rc = 1;
        goto done;
    }
    for (size_t i = 0; i < reg.count; i++)
        configured += reg.networks[i].config ? 1 : 0;
    printf("config '%s' is valid: %zu plugin(s) loaded, %zu network(s) "
           "configured\n",
           path, reg.count, configured);
done:
    herald_registry_free(&reg);
    herald_config_free(cfg);
    return rc;
}

static int
cmd_keygen(int argc, char **argv)
{
    struct herald_error err = {""};
    const char *out = NULL;
    int rc;

    rc = parse_option(argc, argv, "out", &out);
    if (rc != 0)
        return rc < 0 ? usage(NULL) : rc;
    if (!out)
        return usage("keygen needs --out FILE");
    if (herald_crypto_init() != 0 ||
        herald_key_generate_file(out, &err) != 0) {
        fprintf(stderr, "herald: %s\n",
                err.msg[0] ? err.msg : "cannot initialise libsodium");
        return 1;
    }
    printf("wrote a new key to '%s' (mode 0600); back it up with the store\n",
           out);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (herald_cli_claims(argc, argv))
        return herald_cli_main(argc, argv);
    if (!cmd)
        return usage("a command is needed");
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "help") == 0)
        return usage(NULL);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("herald %s (plugin ABI %d.%d)\n", HERALD_VERSION,
               HERALD_ABI_MAJOR, HERALD_ABI_MINOR);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc - 2, argv + 2);
    if (strcmp(cmd, "rekey") == 0)
        return herald_rekey_command(argc - 2, argv + 2);
    if (strcmp(cmd, "config") == 0) {
        if (argc > 2 && strcmp(argv[2], "check") == 0)
            return cmd_config_check(argc - 3, argv + 3);
        return usage("config needs a subcommand: check");
    }
    fprintf(stderr, "herald: unknown command '%s'; see 'herald --help'\n",
            cmd);
    return EXIT_USAGE;
}
