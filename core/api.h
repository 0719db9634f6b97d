/*
 * api.h - the HTTP API under /v1: routing, authentication, answers.
 *
 * Every request the server completes lands in herald_api_handle(). The
 * API checks the API key (Authorization: Bearer, compared in constant
 * time; /v1/health alone is open), routes by method and path, and answers
 * in JSON. Errors have one shape: {"error": {"code", "message"}}.
 *
 * Calling context: the loop thread, from the server's handler callback.
 */
#ifndef HERALD_API_H
#define HERALD_API_H

#include "httpd.h"

/* The server's handler; udata is the struct herald_daemon. */
void herald_api_handle(struct herald_request *req, void *udata);

#endif
