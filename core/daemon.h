/*
 * daemon.h - herald serve: the running daemon and what it holds.
 *
 * The daemon owns the one libev loop and everything on it: the store, the
 * loaded networks, the outgoing HTTP client, the API server and the
 * signal watchers. It is built in order at start and torn down in reverse
 * at stop; the modules it holds (api.c, host.c) read it but never free
 * any of it.
 *
 * Invariant: every piece is either fully started or absent (NULL), so a
 * start that fails half-way tears down exactly what exists.
 */
#ifndef HERALD_DAEMON_H
#define HERALD_DAEMON_H

#include <ev.h>

#include "client.h"
#include "config.h"
#include "crypto.h"
#include "error.h"
#include "httpd.h"
#include "loader.h"
#include "lockfile.h"
#include "store.h"

struct herald_daemon {
    const struct herald_config *cfg; /* borrowed from the caller */
    struct ev_loop *loop;
    struct herald_key key;
    struct herald_lockfile *store_lock; /* held from start to stop */
    struct herald_store *store;
    struct herald_registry registry;
    struct herald_client *client;
    struct herald_httpd *httpd;
    struct herald_keeper *keeper;       /* keeper.c; NULL when not running */
    struct herald_scheduler *scheduler; /* scheduler.c; NULL likewise */
    struct herald_notifier *notifier;   /* notifier.c; NULL likewise */
    ev_signal sigint;
    ev_signal sigterm;
    ev_signal sighup;
    ev_timer drain;              /* polls in-flight work while stopping */
    ev_prepare flush;            /* commits the store's batch each turn */
    ev_tstamp started;           /* loop time at start */
    ev_tstamp stop_asked;        /* loop time of the stop signal, 0 before */
    unsigned auth_failures;      /* failed API key checks in the window */
    ev_tstamp auth_window_start; /* start of that window */
};

/*
 * Runs the daemon on cfg until SIGINT or SIGTERM: takes the store's lock
 * (lockfile.h; -EBUSY when another process holds it), opens or creates
 * the store (creating the key file only together with a new store), loads
 * the plugins and their network configuration, listens, and runs the
 * loop.
 * On a stop signal it stops accepting, lets in-flight work finish for a
 * grace period, leaves the rest for recovery, and closes the store.
 * Returns 0 after a clean stop, or a negative errno value with err naming
 * what could not start.
 */
int herald_daemon_run(const struct herald_config *cfg,
                      struct herald_error *err);

/*
 * Loads the plugins and the network configuration of cfg into reg without
 * initialising any plugin: what "herald config check" validates. Returns
 * 0, or a negative errno value with err naming the first problem.
 */
int herald_daemon_load_networks(const struct herald_config *cfg,
                                struct herald_registry *reg,
                                struct herald_error *err);

#endif
