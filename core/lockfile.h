/*
 * lockfile.h - the advisory lock that gives one process the store.
 *
 * herald serve holds an exclusive flock() on "<store_path>.lock" from
 * before it opens the store until after it closed it, and herald rekey
 * holds the same lock while it re-seals; so a second daemon on the same
 * store, or a re-key under a running daemon, is refused before either
 * touches the store. SQLite's own locks serialise writes but would let
 * both run.
 *
 * The lock file is created (mode 0600) when missing and never removed:
 * removing it would let two processes lock two different files. The
 * lock ends with the process, however it ends.
 */
#ifndef HERALD_LOCKFILE_H
#define HERALD_LOCKFILE_H

#include "error.h"

/* A held lock. Opaque. */
struct herald_lockfile;

/*
 * Takes the exclusive lock of the store at store_path without waiting.
 * On success *out is the caller's, to release with
 * herald_lockfile_release(). Returns 0, or:
 *   -EBUSY   another process holds it: "store 'PATH' is in use by another
 *            herald process (it holds 'PATH.lock')";
 *   -errno   the lock file cannot be created or locked ("cannot lock
 *            store 'PATH': cannot open 'PATH.lock': REASON");
 *   -ENOMEM.
 * Call from the main thread.
 */
int herald_lockfile_take(const char *store_path, struct herald_lockfile **out,
                         struct herald_error *err);

/* Releases the lock and frees l. l may be NULL. */
void herald_lockfile_release(struct herald_lockfile *l);

#endif
