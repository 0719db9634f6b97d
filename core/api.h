/*
 * api.h - the HTTP API (under /v1, and /metrics): routing,
 * authentication, answers.
 *
 * Every request the server completes lands in herald_api_handle(). The
 * API checks the API key (Authorization: Bearer, compared in constant
 * time; routes marked open need none, and GET /metrics none when
 * metrics_public is set), routes by method and path, and answers in JSON
 * (GET /metrics in Prometheus text). Errors have one shape:
 * {"error": {"code", "message"}}. Each answer is counted in the metrics
 * under the route pattern it matched.
 *
 * Calling context: the loop thread, from the server's handler callback.
 */
#ifndef HERALD_API_H
#define HERALD_API_H

#include "httpd.h"

/* The server's handler; udata is the struct herald_daemon. */
void herald_api_handle(struct herald_request *req, void *udata);

#endif
