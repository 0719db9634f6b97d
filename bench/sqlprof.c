/*
 * sqlprof.c - an LD_PRELOAD library that shows where a herald process
 * spends its time in SQLite, for the drain diagnosis in bench/run.sh.
 *
 *   SQLPROF_OUT=FILE LD_PRELOAD=bench/sqlprof.so herald serve ...
 *
 * It wraps sqlite3_step() and sqlite3_exec() (BEGIN, COMMIT, ...) and
 * the fdatasync()/fsync() SQLite calls underneath them, and adds up per
 * SQL text: executions, steps, wall time, and the syncs and their time
 * spent inside that statement (a write in autocommit mode syncs inside
 * its own step; an explicit transaction syncs inside "COMMIT"), and the
 * longest single call and how many calls took 10 ms or more. At exit it
 * writes one tab-separated line per statement to FILE, most time first:
 *
 *   total_ms  executions  steps  syncs  sync_ms  max_ms  slow  sql
 *
 * herald's loop is one thread; the counters are not locked, so the
 * library is for single-threaded processes only. It changes nothing in
 * what SQLite does.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define SLOTS 1024

struct slot {
    char *sql;
    uint64_t hash;
    uint64_t runs;
    uint64_t steps;
    uint64_t syncs;
    double ms;
    double sync_ms;
    double max_ms;
    uint64_t slow; /* calls of 10 ms or more */
};

static struct slot slots[SLOTS];
static struct slot *current; /* the statement running now, for syncs */
static int in_exec;          /* sqlite3_exec() steps through our wrapper */
static struct slot other_syncs = {.sql = "(sync outside any statement)"};

/* A call this long or longer counts as slow. */
#define SLOW_MS 10.0

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t
fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/* The slot of an SQL text, made on first sight; NULL when full. */
static struct slot *
slot_of(const char *sql)
{
    uint64_t h;
    size_t i;

    if (!sql)
        sql = "(null)";
    h = fnv(sql);
    for (size_t n = 0; n < SLOTS; n++) {
        i = (size_t)((h + n) % SLOTS);
        if (!slots[i].sql) {
            slots[i].sql = strdup(sql);
            slots[i].hash = h;
            return slots[i].sql ? &slots[i] : NULL;
        }
        if (slots[i].hash == h && strcmp(slots[i].sql, sql) == 0)
            return &slots[i];
    }
    return NULL;
}

/* Adds one call of ms milliseconds to s. */
static void
account(struct slot *s, double ms, int fresh)
{
    s->ms += ms;
    s->steps++;
    s->runs += (uint64_t)fresh;
    if (ms > s->max_ms)
        s->max_ms = ms;
    if (ms >= SLOW_MS)
        s->slow++;
}

static void *
next_fn(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (!f) {
        fprintf(stderr, "sqlprof: no '%s'\n", name);
        abort();
    }
    return f;
}

int
sqlite3_step(sqlite3_stmt *stmt)
{
    static int (*real)(sqlite3_stmt *);
    struct slot *s, *outer = current;
    int fresh;
    double t0;
    int rc;

    if (!real)
        real = (int (*)(sqlite3_stmt *))next_fn("sqlite3_step");
    /* sqlite3_exec() calls sqlite3_step() through the PLT, so its steps
     * arrive here too: they are counted once, as the exec. */
    if (in_exec)
        return real(stmt);
    s = slot_of(sqlite3_sql(stmt));
    fresh = !sqlite3_stmt_busy(stmt);
    current = s;
    t0 = now_ms();
    rc = real(stmt);
    current = outer;
    if (s)
        account(s, now_ms() - t0, fresh);
    return rc;
}

int
sqlite3_exec(sqlite3 *db, const char *sql,
             int (*cb)(void *, int, char **, char **), void *arg,
             char **errmsg)
{
    static int (*real)(sqlite3 *, const char *,
                       int (*)(void *, int, char **, char **), void *,
                       char **);
    struct slot *s = slot_of(sql);
    struct slot *outer = current;
    double t0;
    int rc;

    if (!real)
        real = next_fn("sqlite3_exec");
    current = s;
    in_exec++;
    t0 = now_ms();
    rc = real(db, sql, cb, arg, errmsg);
    in_exec--;
    current = outer;
    if (s)
        account(s, now_ms() - t0, 1);
    return rc;
}

static int
timed_sync(const char *name, int fd)
{
    int (*real)(int) = (int (*)(int))next_fn(name);
    struct slot *s = current ? current : &other_syncs;
    double t0 = now_ms();
    int rc = real(fd);

    s->syncs++;
    s->sync_ms += now_ms() - t0;
    return rc;
}

int
fdatasync(int fd)
{
    return timed_sync("fdatasync", fd);
}

int
fsync(int fd)
{
    return timed_sync("fsync", fd);
}

static int
by_time(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;

    if (!x->sql || !y->sql)
        return !x->sql - !y->sql;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

__attribute__((destructor)) static void
dump(void)
{
    const char *path = getenv("SQLPROF_OUT");
    FILE *f;

    if (!path || !(f = fopen(path, "w")))
        return;
    qsort(slots, SLOTS, sizeof(slots[0]), by_time);
    for (size_t i = 0; i < SLOTS && slots[i].sql; i++)
        fprintf(f, "%.1f\t%llu\t%llu\t%llu\t%.1f\t%.1f\t%llu\t%s\n",
                slots[i].ms, (unsigned long long)slots[i].runs,
                (unsigned long long)slots[i].steps,
                (unsigned long long)slots[i].syncs, slots[i].sync_ms,
                slots[i].max_ms, (unsigned long long)slots[i].slow,
                slots[i].sql);
    if (other_syncs.syncs)
        fprintf(f, "%.1f\t0\t0\t%llu\t%.1f\t0\t0\t%s\n", other_syncs.sync_ms,
                (unsigned long long)other_syncs.syncs, other_syncs.sync_ms,
                other_syncs.sql);
    fclose(f);
}
