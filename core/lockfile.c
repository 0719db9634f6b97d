/*
 * lockfile.c - the store's advisory lock (see lockfile.h).
 *
 * flock() locks belong to the open file description, so the lock lasts
 * as long as the descriptor kept here, is released by the kernel when
 * the process dies, and is not inherited across exec (O_CLOEXEC). It is
 * a separate file beside the store, never the database itself: closing
 * any descriptor of the database would drop the POSIX locks SQLite
 * holds on it.
 */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct herald_lockfile {
    int fd;
};

/* Opens (creating, mode 0600) the lock file and locks it at once. */
static int
lock_path(const char *store_path, const char *path, int *fd,
          struct herald_error *err)
{
    int rc;

    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0) {
        rc = -errno;
        herald_error_set(err, "cannot lock store '%s': cannot open '%s': %s",
                         store_path, path, strerror(errno));
        return rc;
    }
    while (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        if (rc == -EBUSY)
            herald_error_set(err,
                             "store '%s' is in use by another herald "
                             "process (it holds '%s')",
                             store_path, path);
        else
            herald_error_set(err, "cannot lock store '%s': %s", store_path,
                             strerror(-rc));
        close(*fd);
        *fd = -1;
        return rc;
    }
    return 0;
}

int
herald_lockfile_take(const char *store_path, struct herald_lockfile **out,
                     struct herald_error *err)
{
    struct herald_lockfile *l = NULL;
    char *path = NULL;
    int rc;

    *out = NULL;
    if (asprintf(&path, "%s.lock", store_path) < 0 ||
        !(l = malloc(sizeof(*l)))) {
        free(path);
        herald_error_set(err, "cannot lock store '%s': %s", store_path,
                         strerror(ENOMEM));
        return -ENOMEM;
    }
    rc = lock_path(store_path, path, &l->fd, err);
    free(path);
    if (rc < 0) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void
herald_lockfile_release(struct herald_lockfile *l)
{
    if (!l)
        return;
    close(l->fd);
    free(l);
}
