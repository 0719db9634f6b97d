/*
 * test_log.c - the shape of log lines, the level filter, and the
 * priority prefix when the log goes to the systemd journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static char logpath[] = "/tmp/herald-log-XXXXXX";
static int fd;

static const char *
read_back(void)
{
    static char buf[8192];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    buf[n > 0 ? n : 0] = '\0';
    CHECK(ftruncate(fd, 0) == 0);
    lseek(fd, 0, SEEK_SET);
    return buf;
}

static int evaluated;

static int
count(void)
{
    return ++evaluated;
}

int
main(void)
{
    char big[4096];
    const char *line;
    int level = -1;

    fd = mkstemp(logpath);
    herald_log_set_fd(fd);

    CHECK(herald_log_parse_level("warning", &level) == 0);
    CHECK(level == LOG_WARNING);
    CHECK(herald_log_parse_level("verbose", &level) == -EINVAL);
    CHECK(level == LOG_WARNING);
    CHECK_STR(herald_log_level_name(LOG_ERR), "err");
    CHECK_STR(herald_log_level_name(42), "unknown");

    herald_log_level = LOG_INFO;
    HLOG(LOG_INFO, "loader", "loaded %d plugin(s)", 3);
    line = read_back();
    CHECK(strlen(line) > 25 && line[4] == '-' && line[10] == 'T');
    CHECK_CONTAINS(line, "Z info loader: loaded 3 plugin(s)\n");

    HLOG_ACCOUNT(LOG_ERR, "scheduler", 12, 34, "attempt failed");
    CHECK_CONTAINS(read_back(),
                   " err scheduler: account=12 post=34 attempt failed\n");

    /* Below the level nothing is formatted, not even the arguments. */
    HLOG(LOG_DEBUG, "loader", "%d", count());
    CHECK(evaluated == 0);
    CHECK_STR(read_back(), "");

    /* Outside input cannot forge a second line. */
    HLOG(LOG_NOTICE, "api", "got %s", "a\nfake 2026 err line\r");
    line = read_back();
    CHECK_CONTAINS(line, "got a?fake 2026 err line?\n");
    CHECK(strchr(line, '\n') == line + strlen(line) - 1);

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    HLOG(LOG_NOTICE, "api", "%s", big);
    line = read_back();
    CHECK(strlen(line) < 2048);
    CHECK_CONTAINS(line, "xxx...\n");

    /* Straight to the journal: each line carries its priority. */
    {
        struct stat st;
        char stream[64];

        CHECK(fstat(fd, &st) == 0);
        snprintf(stream, sizeof(stream), "%llu:%llu",
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", stream, 1);
        herald_log_set_fd(fd);
        HLOG(LOG_WARNING, "daemon", "to the journal");
        line = read_back();
        CHECK(strncmp(line, "<4>20", 5) == 0);
        CHECK_CONTAINS(line, "Z warning daemon: to the journal\n");
        setenv("JOURNAL_STREAM", "1:1", 1);
        herald_log_set_fd(fd);
        HLOG(LOG_WARNING, "daemon", "not the journal");
        CHECK(strncmp(read_back(), "20", 2) == 0);
        unsetenv("JOURNAL_STREAM");
    }

    herald_log_set_fd(2);
    close(fd);
    unlink(logpath);
    return check_done();
}
