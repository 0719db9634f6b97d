/*
 * log.h - the daemon's one family of log calls.
 *
 * Every line carries the time (UTC, milliseconds), the syslog level, the
 * subsystem (a module or plugin name), the account and post ids where they
 * apply, then the message. The level is checked before anything is
 * formatted, so a suppressed call costs one comparison.
 *
 * Invariant: no caller passes a token, secret, authorization code, PKCE
 * verifier, authorization header or request body to these calls.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

/* The highest level that is written; LOG_INFO until configured. */
extern int herald_log_level;

/*
 * Writes one line to the log sink (stderr by default). account_id and
 * post_id are 0 when they do not apply. Call through the macros below so
 * the level is checked first. Safe from any code running on the loop.
 */
void herald_log_write(int level, const char *subsystem, int64_t account_id,
                      int64_t post_id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Same as herald_log_write() with a va_list. */
void herald_log_vwrite(int level, const char *subsystem, int64_t account_id,
                       int64_t post_id, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/*
 * Parses a level name ("emerg" .. "debug", as in syslog) into *level.
 * Returns 0, or -EINVAL for an unknown name (and *level is untouched).
 */
int herald_log_parse_level(const char *name, int *level);

/* Returns the name of a syslog level ("err", "info", ...). */
const char *herald_log_level_name(int level);

/*
 * Sends log lines to fd instead of stderr (the fd is borrowed and must
 * stay open). Used by tests that read the log back.
 */
void herald_log_set_fd(int fd);

#define HLOG(level, sub, ...)                                                 \
    do {                                                                      \
        if ((level) <= herald_log_level)                                      \
            herald_log_write((level), (sub), 0, 0, __VA_ARGS__);              \
    } while (0)

#define HLOG_ACCOUNT(level, sub, account, post, ...)                          \
    do {                                                                      \
        if ((level) <= herald_log_level)                                      \
            herald_log_write((level), (sub), (account), (post), __VA_ARGS__); \
    } while (0)

#endif
