/*
 * hostapi.h - the core's side of herald/host.h, and running operations.
 *
 * This module builds the struct herald_host handed to every plugin and
 * owns struct herald_op, the record of one running plugin operation. The
 * core starts an operation with herald_op_new() and a completion callback;
 * the plugin's requests run through the daemon's HTTP client; the
 * plugin's host->complete() reaches the callback exactly once.
 *
 * Calling context: the loop thread only.
 *
 * Invariant: an op is freed only when it has completed and none of its
 * requests is still in flight, so a late response never touches freed
 * memory; responses that arrive after completion are dropped.
 */
#ifndef HERALD_HOSTAPI_H
#define HERALD_HOSTAPI_H

#include <stdint.h>

#include "herald/plugin.h"

struct herald_daemon;
struct herald_network;

/* Called once when an operation completes; outcome and result are
 * borrowed for the call. */
typedef void (*herald_op_done_fn)(struct herald_op *op,
                                  const struct herald_outcome *outcome,
                                  const struct herald_result *result,
                                  void *udata);

/* Binds the host API to d. Returns 0. Call before any plugin's init(). */
int herald_host_init(struct herald_daemon *d);

/* Forgets the daemon; after this no operation may be started. */
void herald_host_fini(void);

/* The host API handed to plugins; a constant that lives forever. */
const struct herald_host *herald_host_api(void);

/*
 * Creates an operation for net, on behalf of account_id and post_id (0
 * when none), ending in done(udata). attempt_id names the publish attempt
 * whose checkpoint host->checkpoint() writes (0: checkpoints refused).
 * Returns the op, or NULL when out of memory.
 */
struct herald_op *herald_op_new(struct herald_network *net, int64_t account_id,
                                int64_t post_id, int64_t attempt_id,
                                herald_op_done_fn done, void *udata);

/*
 * Marks an op whose starting call returned an error (so complete() will
 * never come) and frees it once its requests, if any, are over.
 */
void herald_op_abandon(struct herald_op *op);

#endif
