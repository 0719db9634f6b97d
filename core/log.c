/*
 * log.c - formats and writes log lines.
 *
 * One line is built in a stack buffer and written with a single write(2),
 * so lines from one process never interleave. Messages longer than the
 * buffer are cut and end with "...". Control characters in messages are
 * replaced by '?', so outside input cannot forge extra lines. When the
 * log goes straight to the systemd journal (JOURNAL_STREAM names the log
 * descriptor), each line starts with its syslog priority ("<4>"), so
 * the journal files it at the right level.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int herald_log_level = LOG_INFO;

static int log_fd = STDERR_FILENO;
static int to_journal = -1; /* -1: not looked at yet */

static const char *const level_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void
herald_log_set_fd(int fd)
{
    log_fd = fd;
    to_journal = -1;
}

/* Whether log_fd is the stream systemd gave us to its journal: the
 * "DEVICE:INODE" of JOURNAL_STREAM. */
static int
is_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    return stream && sscanf(stream, "%llu:%llu", &dev, &ino) == 2 &&
           fstat(log_fd, &st) == 0 && (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

const char *
herald_log_level_name(int level)
{
    if (level < LOG_EMERG || level > LOG_DEBUG)
        return "unknown";
    return level_names[level];
}

int
herald_log_parse_level(const char *name, int *level)
{
    for (int i = LOG_EMERG; i <= LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    return -EINVAL;
}

static size_t
format_prefix(char *buf, size_t len, int level, const char *subsystem,
              int64_t account_id, int64_t post_id)
{
    struct timespec ts;
    struct tm tm;
    int n;

    int p = 0;

    if (to_journal < 0)
        to_journal = is_journal();
    if (to_journal)
        p = snprintf(buf, len, "<%d>", level & 7);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(buf + p, len - (size_t)p,
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s:",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                 herald_log_level_name(level), subsystem ? subsystem : "-");
    if (n < 0 || (size_t)(n + p) >= len)
        return 0;
    n += p;
    if (account_id > 0) {
        int m = snprintf(buf + n, len - (size_t)n, " account=%lld",
                         (long long)account_id);
        if (m > 0 && (size_t)m < len - (size_t)n)
            n += m;
    }
    if (post_id > 0) {
        int m = snprintf(buf + n, len - (size_t)n, " post=%lld",
                         (long long)post_id);
        if (m > 0 && (size_t)m < len - (size_t)n)
            n += m;
    }
    return (size_t)n;
}

void
herald_log_vwrite(int level, const char *subsystem, int64_t account_id,
                  int64_t post_id, const char *fmt, va_list ap)
{
    char line[2048];
    size_t n, avail;
    int m;
    int saved_errno = errno;

    n = format_prefix(line, sizeof(line) - 2, level, subsystem, account_id,
                      post_id);
    line[n++] = ' ';
    avail = sizeof(line) - n - 1;
    m = vsnprintf(line + n, avail, fmt, ap);
    if (m < 0)
        m = 0;
    if ((size_t)m >= avail) {
        memcpy(line + sizeof(line) - 5, "...", 3);
        m = (int)avail - 1;
    }
    for (size_t i = n; i < n + (size_t)m; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            line[i] = '?';
    }
    n += (size_t)m;
    line[n++] = '\n';

    /* A failed log write has nowhere to be reported; drop the line. */
    if (write(log_fd, line, n) < 0)
        errno = saved_errno;
    errno = saved_errno;
}

void
herald_log_write(int level, const char *subsystem, int64_t account_id,
                 int64_t post_id, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    herald_log_vwrite(level, subsystem, account_id, post_id, fmt, ap);
    va_end(ap);
}
