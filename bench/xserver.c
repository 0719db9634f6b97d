/*
 * xserver.c - a loopback stand-in for X's posting API, for the benchmarks.
 *
 * It answers the two calls herald's X plugin makes while publishing and
 * checking accounts, as fast as it can so it never is the bottleneck:
 *
 *   POST /2/tweets    201 {"data":{"id":"<unique digits>","text":"..."}}
 *   GET  /2/users/me  200 {"data":{"id":...,"name":...,"username":...}}
 *
 * and two of its own for bench/run.sh:
 *
 *   GET /bench/count  {"posts":N,"me":N,"connections":N}: requests
 *                     answered and TCP connections accepted so far
 *
 * With --record FILE, each post's receive time is kept in memory and
 * written to FILE at exit, one line "RECV_US DUE_MS SEQ" per post, where
 * DUE_MS and SEQ are read from the post's text ("... due=MS seq=N"), as
 * bench/seed.c writes it. The server stops on SIGINT or SIGTERM.
 *
 *   xserver --port PORT [--threads N] [--record FILE] [--max-records N]
 *
 * libmicrohttpd runs its own epoll threads (a pool of --threads, default
 * the number of processors); the counters are atomics, so nothing here
 * takes a lock on the request path. It listens on 127.0.0.1 only.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>
#include <microhttpd.h>

/* A request body larger than this is refused; X's limit is far lower. */
#define MAX_BODY 65536

/* The first post id given out: 19 digits, as X's are. */
#define FIRST_ID 1800000000000000000ULL

struct record {
    int64_t recv_us;
    int64_t due_ms;
    int64_t seq;
};

static atomic_ullong next_id = FIRST_ID;
static atomic_ullong posts_answered;
static atomic_ullong me_answered;
static atomic_ullong connections;
static atomic_size_t record_count;
static struct record *records;
static size_t record_max;

/* One request being read: its body so far, and when it arrived. */
struct req {
    int64_t recv_us;
    size_t len;
    char body[];
};

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, char *json)
{
    struct MHD_Response *r;
    enum MHD_Result ok;

    if (!json)
        return MHD_NO;
    r = MHD_create_response_from_buffer(strlen(json), json,
                                        MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(json);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result
reply_static(struct MHD_Connection *c, unsigned status, const char *json)
{
    return reply(c, status, strdup(json));
}

/* Keeps the receive time of a post whose text names its due time. */
static void
record_post(const struct req *rq, const char *text)
{
    const char *due = text ? strstr(text, "due=") : NULL;
    const char *seq = text ? strstr(text, "seq=") : NULL;
    size_t i;

    if (!records || !due)
        return;
    i = atomic_fetch_add(&record_count, 1);
    if (i >= record_max)
        return;
    records[i].recv_us = rq->recv_us;
    records[i].due_ms = strtoll(due + 4, NULL, 10);
    records[i].seq = seq ? strtoll(seq + 4, NULL, 10) : -1;
}

static enum MHD_Result
post_tweet(struct MHD_Connection *c, const struct req *rq)
{
    json_error_t jerr;
    json_t *body = json_loadb(rq->body, rq->len, 0, &jerr);
    const char *text = json_string_value(json_object_get(body, "text"));
    json_t *resp = NULL;
    char *out = NULL;
    char id[24];

    if (!text) {
        json_decref(body);
        return reply_static(c, 400,
                            "{\"title\":\"Invalid Request\",\"detail\":"
                            "\"text is required\",\"status\":400}");
    }
    record_post(rq, text);
    snprintf(id, sizeof(id), "%llu",
             (unsigned long long)atomic_fetch_add(&next_id, 1));
    resp = json_pack("{s:{s:s,s:s}}", "data", "id", id, "text", text);
    if (resp)
        out = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    json_decref(body);
    atomic_fetch_add(&posts_answered, 1);
    return reply(c, 201, out);
}

/* Answers the identity of the token "bench-at-<remote id>". */
static enum MHD_Result
users_me(struct MHD_Connection *c)
{
    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *tok = auth ? strstr(auth, "bench-at-") : NULL;
    char *out = NULL;

    if (!tok)
        return reply_static(c, 401,
                            "{\"title\":\"Unauthorized\",\"status\":401}");
    tok += strlen("bench-at-");
    if (asprintf(&out,
                 "{\"data\":{\"id\":\"%.19s\",\"name\":\"Bench %.19s\","
                 "\"username\":\"bench_%.19s\"}}",
                 tok, tok, tok) < 0)
        return MHD_NO;
    atomic_fetch_add(&me_answered, 1);
    return reply(c, 200, out);
}

static enum MHD_Result
count(struct MHD_Connection *c)
{
    char *out = NULL;

    if (asprintf(&out, "{\"posts\":%llu,\"me\":%llu,\"connections\":%llu}",
                 (unsigned long long)atomic_load(&posts_answered),
                 (unsigned long long)atomic_load(&me_answered),
                 (unsigned long long)atomic_load(&connections)) < 0)
        return MHD_NO;
    return reply(c, 200, out);
}

static enum MHD_Result
route(struct MHD_Connection *c, const char *method, const char *url,
      const struct req *rq)
{
    if (strcmp(method, "POST") == 0 && strcmp(url, "/2/tweets") == 0)
        return post_tweet(c, rq);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/2/users/me") == 0)
        return users_me(c);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/bench/count") == 0)
        return count(c);
    return reply_static(c, 404, "{\"title\":\"Not Found\",\"status\":404}");
}

/* Reads the body into a struct req, then answers once it is whole. */
static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
          const char *method, const char *version, const char *upload,
          size_t *upload_size, void **con_cls)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)version;
    if (!rq) {
        rq = malloc(sizeof(*rq) + MAX_BODY);
        if (!rq)
            return MHD_NO;
        rq->recv_us = now_us();
        rq->len = 0;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (rq->len + *upload_size > MAX_BODY)
            return MHD_NO;
        memcpy(rq->body + rq->len, upload, *upload_size);
        rq->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    return route(c, method, url, rq);
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void
connection_cb(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)c;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&connections, 1);
}

static int
write_records(const char *path)
{
    size_t n = atomic_load(&record_count);
    FILE *f = fopen(path, "w");

    if (!f) {
        fprintf(stderr, "xserver: cannot write '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    if (n > record_max)
        n = record_max;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%lld %lld %lld\n", (long long)records[i].recv_us,
                (long long)records[i].due_ms, (long long)records[i].seq);
    return fclose(f) == 0 ? 0 : -1;
}

static void
usage(void)
{
    fprintf(stderr, "usage: xserver --port PORT [--threads N]"
                    " [--record FILE] [--max-records N]\n");
}

int
main(int argc, char **argv)
{
    const char *record_path = NULL;
    unsigned threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    struct MHD_Daemon *d;
    sigset_t set;
    int port = 0, sig = 0, rc = 0;

    record_max = 1000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--record") == 0)
            record_path = argv[i + 1];
        else if (strcmp(argv[i], "--max-records") == 0)
            record_max = (size_t)atoll(argv[i + 1]);
    }
    if (port <= 0 || port > 65535 || threads < 1 || argc % 2 != 1) {
        usage();
        return 2;
    }
    if (record_path && !(records = calloc(record_max, sizeof(*records)))) {
        fprintf(stderr, "xserver: out of memory\n");
        return 1;
    }

    /* Signals are taken by sigwait() below, not by MHD's threads. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, (uint16_t)port, NULL,
        NULL, access_cb, NULL, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
        4096u, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_NOTIFY_COMPLETED,
        completed_cb, NULL, MHD_OPTION_NOTIFY_CONNECTION, connection_cb, NULL,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "xserver: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    printf("xserver listening on 127.0.0.1:%d\n", port);
    fflush(stdout);

    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    if (record_path)
        rc = write_records(record_path);
    printf("xserver: %llu posts, %llu identity checks, %llu connections\n",
           (unsigned long long)atomic_load(&posts_answered),
           (unsigned long long)atomic_load(&me_answered),
           (unsigned long long)atomic_load(&connections));
    free(records);
    return rc == 0 ? 0 : 1;
}
