/*
 * daemon.c - starts, runs and stops herald serve.
 *
 * Start order: log level, libraries, the store's lock, key and store,
 * plugins and their configuration, HTTP client, API server, keeper,
 * scheduler, notifier, signals. Stop runs the other way. Startup
 * problems come back as one line in err and a negative value; nothing
 * here calls exit().
 */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "api.h"
#include "hostapi.h"
#include "keeper.h"
#include "lockfile.h"
#include "metrics.h"
#include "notifier.h"
#include "scheduler.h"
#include "log.h"

/* How long a stop waits for requests in flight before leaving them. */
#define STOP_GRACE_SECONDS 10.0

/* Largest body accepted from a network's response. */
#define MAX_RESPONSE_BODY (8u << 20)

static int
exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/*
 * A key is made only together with a new store: an existing store whose
 * key is missing must stop the daemon, never get a fresh key.
 */
static int
open_store(struct herald_daemon *d, struct herald_error *err)
{
    const struct herald_config *cfg = d->cfg;
    int rc;

    /* Before anything is read or created: one process per store. */
    rc = herald_lockfile_take(cfg->store_path, &d->store_lock, err);
    if (rc != 0)
        return rc;
    if (!exists(cfg->store_path) && !exists(cfg->key_file)) {
        rc = herald_key_generate_file(cfg->key_file, err);
        if (rc != 0)
            return rc;
        HLOG(LOG_NOTICE, "daemon", "created key file '%s' for new store '%s'",
             cfg->key_file, cfg->store_path);
    }
    rc = herald_key_load(cfg->key_file, &d->key, err);
    if (rc != 0)
        return rc;
    return herald_store_open(cfg->store_path, cfg->store_synchronous,
                             cfg->store_busy_timeout_ms, &d->key, &d->store,
                             err);
}

static int
configure_network(const struct herald_config *cfg, struct herald_network *net,
                  struct herald_error *err)
{
    const struct herald_plugin *p = net->plugin;
    int rc;

    rc = herald_config_load_network(cfg, p->name, p->config_schema,
                                    p->default_scopes, &net->config, err);
    if (rc == -ENOENT) {
        HLOG(LOG_NOTICE, "daemon", "network '%s' is not configured: %s",
             p->name, err->msg);
        err->msg[0] = '\0';
        return 0;
    }
    if (rc != 0)
        return rc;
    net->enabled = json_is_true(json_object_get(net->config, "enabled"));
    return 0;
}

int
herald_daemon_load_networks(const struct herald_config *cfg,
                            struct herald_registry *reg,
                            struct herald_error *err)
{
    int rc;

    rc = herald_loader_load_dir(reg, cfg->plugin_dir, err);
    for (size_t i = 0; rc == 0 && i < reg->count; i++)
        rc = configure_network(cfg, &reg->networks[i], err);
    return rc;
}

static int
init_networks(struct herald_daemon *d, struct herald_error *err)
{
    for (size_t i = 0; i < d->registry.count; i++) {
        struct herald_network *net = &d->registry.networks[i];
        int rc;

        if (!net->enabled)
            continue;
        rc = net->plugin->init(herald_host_api(), net->config, &net->state);
        if (rc != 0) {
            herald_error_set(err, "network '%s' failed to start: %s",
                             net->plugin->name, strerror(-rc));
            return rc;
        }
        net->initialised = 1;
        HLOG(LOG_INFO, "daemon", "network '%s' enabled", net->plugin->name);
    }
    return 0;
}

static void
stop_now(struct herald_daemon *d)
{
    unsigned left = d->httpd ? herald_httpd_in_flight(d->httpd) : 0;
    size_t out = herald_client_pending(d->client);

    if (left || out)
        HLOG(LOG_NOTICE, "daemon",
             "stopping with %u API request(s) and %zu outgoing request(s) "
             "unfinished; they are left for recovery",
             left, out);
    ev_timer_stop(d->loop, &d->drain);
    ev_break(d->loop, EVBREAK_ALL);
}

static void
drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct herald_daemon *d = w->data;
    int idle = herald_httpd_in_flight(d->httpd) == 0 &&
               herald_client_pending(d->client) == 0;

    (void)revents;
    if (idle || ev_now(loop) - d->stop_asked >= STOP_GRACE_SECONDS)
        stop_now(d);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct herald_daemon *d = w->data;

    (void)revents;
    if (d->stop_asked > 0) {
        HLOG(LOG_NOTICE, "daemon", "second stop signal: stopping now");
        stop_now(d);
        return;
    }
    HLOG(LOG_NOTICE, "daemon", "signal %d: no longer accepting requests",
         w->signum);
    d->stop_asked = ev_now(loop);
    herald_httpd_quiesce(d->httpd);
    ev_timer_init(&d->drain, drain_cb, 0., 0.05);
    d->drain.data = d;
    ev_timer_start(loop, &d->drain);
}

static int
start_server(struct herald_daemon *d, struct herald_error *err)
{
    const struct herald_config *cfg = d->cfg;
    struct herald_httpd_limits limits = {
        .max_body_bytes = cfg->max_body_bytes,
        .max_header_bytes = cfg->max_header_bytes,
        .connection_timeout_s = cfg->connection_timeout_s,
        .request_deadline_s = cfg->request_deadline_s,
        .max_connections = cfg->max_connections,
    };
    int rc;

    rc = herald_httpd_start(d->loop, cfg->listen_address, cfg->listen_port,
                            &limits, herald_api_handle, d, &d->httpd, err);
    if (rc != 0)
        return rc;
    HLOG(LOG_NOTICE, "daemon", "listening on %s:%d", cfg->listen_address,
         herald_httpd_port(d->httpd));
    if (cfg->test_clock)
        HLOG(LOG_WARNING, "daemon",
             "the test clock is enabled: API clients can move time "
             "forward; never do this in production");
    if (cfg->api_key_count == 0)
        HLOG(LOG_WARNING, "daemon",
             "no API keys configured: every endpoint but /v1/health "
             "refuses requests");
    return 0;
}

/* SIGHUP, which asks many daemons to reload, must not end this one. */
static void
hangup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    HLOG(LOG_WARNING, "daemon",
         "SIGHUP: herald does not reload its configuration; restart it "
         "to apply changes");
}

static void
watch_signals(struct herald_daemon *d)
{
    ev_signal_init(&d->sighup, hangup_cb, SIGHUP);
    ev_signal_start(d->loop, &d->sighup);
    ev_signal_init(&d->sigint, signal_cb, SIGINT);
    d->sigint.data = d;
    ev_signal_start(d->loop, &d->sigint);
    ev_signal_init(&d->sigterm, signal_cb, SIGTERM);
    d->sigterm.data = d;
    ev_signal_start(d->loop, &d->sigterm);
}

/*
 * Makes the store's open batch durable (store.h): before a request
 * leaves, before an answer is given, and at the end of each turn of the
 * loop, so nothing outside can see work that a crash could still undo.
 */
static int
flush_store(void *arg)
{
    struct herald_daemon *d = arg;
    int rc = herald_store_flush(d->store);

    if (rc != 0) {
        HLOG(LOG_ERR, "daemon", "cannot commit to the store: %s",
             strerror(-rc));
        herald_scheduler_store_failed(d);
    }
    return rc;
}

static void
flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    flush_store(w->data);
}

static int
start(struct herald_daemon *d, struct herald_error *err)
{
    int rc;

    herald_metrics_reset();
    rc = open_store(d, err);
    if (rc == 0)
        rc = herald_daemon_load_networks(d->cfg, &d->registry, err);
    if (rc == 0)
        rc = herald_host_init(d);
    if (rc == 0)
        rc = init_networks(d, err);
    if (rc == 0) {
        rc = herald_client_new(d->loop, 30000, MAX_RESPONSE_BODY, &d->client);
        if (rc != 0)
            herald_error_set(err, "cannot start the HTTP client: %s",
                             strerror(-rc));
    }
    if (rc == 0) {
        herald_client_set_before_send(d->client, flush_store, d);
        ev_prepare_init(&d->flush, flush_cb);
        d->flush.data = d;
        ev_prepare_start(d->loop, &d->flush);
        rc = start_server(d, err);
    }
    if (rc == 0)
        herald_httpd_set_before_answer(d->httpd, flush_store, d);
    if (rc == 0) {
        rc = herald_keeper_start(d);
        if (rc != 0)
            herald_error_set(err, "cannot start the account keeper: %s",
                             strerror(-rc));
    }
    if (rc == 0) {
        rc = herald_scheduler_start(d);
        if (rc != 0)
            herald_error_set(err, "cannot start the scheduler: %s",
                             strerror(-rc));
    }
    if (rc == 0) {
        rc = herald_notifier_start(d);
        if (rc != 0)
            herald_error_set(err, "cannot start the notifier: %s",
                             strerror(-rc));
    }
    return rc;
}

static void
teardown(struct herald_daemon *d)
{
    ev_signal_stop(d->loop, &d->sigint);
    ev_signal_stop(d->loop, &d->sigterm);
    ev_signal_stop(d->loop, &d->sighup);
    ev_timer_stop(d->loop, &d->drain);
    ev_prepare_stop(d->loop, &d->flush);
    herald_notifier_stop(d);
    herald_scheduler_stop(d);
    herald_keeper_stop(d);
    /*
     * Requests in flight end now, while the plugins are loaded and the
     * API connections waiting for them can still be answered; only then
     * can the server stop (it must not stop with suspended connections).
     */
    if (d->client)
        herald_client_cancel_all(d->client);
    herald_httpd_stop(d->httpd);
    d->httpd = NULL;
    herald_registry_free(&d->registry);
    herald_client_free(d->client);
    d->client = NULL;
    herald_host_fini();
    if (d->store)
        flush_store(d);
    herald_store_close(d->store);
    d->store = NULL;
    herald_lockfile_release(d->store_lock);
    d->store_lock = NULL;
    sodium_memzero(&d->key, sizeof(d->key));
}

int
herald_daemon_run(const struct herald_config *cfg, struct herald_error *err)
{
    struct herald_daemon d;
    int rc;

    memset(&d, 0, sizeof(d));
    d.cfg = cfg;
    herald_log_level = cfg->log_level;
    /* Past a file size limit a write fails with EFBIG, which the store
     * handles like a full disk, instead of killing the daemon. */
    signal(SIGXFSZ, SIG_IGN);
    if (herald_crypto_init() != 0) {
        herald_error_set(err, "cannot initialise libsodium");
        return -EIO;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        herald_error_set(err, "cannot initialise libcurl");
        return -EIO;
    }
    d.loop = ev_default_loop(EVFLAG_AUTO);
    if (!d.loop) {
        herald_error_set(err, "cannot create the event loop");
        curl_global_cleanup();
        return -EIO;
    }
    d.started = ev_now(d.loop);

    /*
     * Watched from the start: a stop signal that comes while the daemon
     * is still starting (it may already answer) waits for the loop
     * instead of killing the process.
     */
    watch_signals(&d);
    rc = start(&d, err);
    if (rc == 0) {
        HLOG(LOG_NOTICE, "daemon", "herald %s ready", HERALD_VERSION);
        ev_run(d.loop, 0);
        HLOG(LOG_NOTICE, "daemon", "stopped cleanly");
    }
    teardown(&d);
    ev_loop_destroy(d.loop);
    curl_global_cleanup();
    return rc;
}
