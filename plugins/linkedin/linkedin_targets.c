/*
 * linkedin_targets.c - the organizations a member can post as.
 *
 * Called by the exchange in linkedin.c, after userinfo, when the network
 * file sets "organizations". Two requests on the versioned REST API:
 *
 *   GET {rest_url}/organizationAcls?q=roleAssignee&role=ADMINISTRATOR
 *       &state=APPROVED&count=100      which organizations, by URN
 *   GET {rest_url}/organizations?ids=List(1,2,...)   their names
 *
 * and the connection's targets become [{"id": "<organization id>",
 * "name": "<localizedName>", "kind": "organization"}]. The member's own
 * profile is not a target: a post without a target goes there.
 *
 * Invariant: whatever happens here, the connection itself has succeeded,
 * so this step always ends in li_connect_finish(). A failure is logged
 * and leaves fewer targets (none, or organizations named by their id);
 * the member can reauthorize to try again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "linkedin.h"

#define ORG_URN "urn:li:organization:"

/* Logs why the organizations could not be read, then finishes. */
static void
targets_give_up(struct li_connect *c, const char *what,
                const struct herald_http_response *resp)
{
    struct herald_outcome out;
    struct li_call call = {0};

    if (resp) {
        li_api_outcome(c->li, resp, &call, &out, c->msg, NULL, NULL);
        c->li->host->log(c->op, LOG_WARNING, "%s: %s", what, out.message);
    } else {
        c->li->host->log(c->op, LOG_WARNING, "%s", what);
    }
    li_connect_finish(c);
}

/* Returns non-zero when array holds the string s. */
static int
holds(json_t *array, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(array, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* Adds to c->org_ids the organization of every approved administrator
 * role in an organizationAcls answer. */
static void
read_acls(struct li_connect *c, json_t *body)
{
    json_t *elements = json_object_get(body, "elements");
    size_t i;
    json_t *e;

    json_array_foreach(elements, i, e)
    {
        const char *org =
            json_string_value(json_object_get(e, "organization"));
        const char *role = json_string_value(json_object_get(e, "role"));
        const char *state = json_string_value(json_object_get(e, "state"));

        if (!org)
            org =
                json_string_value(json_object_get(e, "organizationalTarget"));
        if (!org || strncmp(org, ORG_URN, strlen(ORG_URN)) != 0 ||
            !org[strlen(ORG_URN)])
            continue;
        if ((role && strcmp(role, "ADMINISTRATOR") != 0) ||
            (state && strcmp(state, "APPROVED") != 0))
            continue;
        org += strlen(ORG_URN);
        if (!holds(c->org_ids, org))
            json_array_append_new(c->org_ids, json_string(org));
    }
}

/* Returns the name LinkedIn gives organization id in a batch answer, or
 * NULL. */
static const char *
org_name(json_t *results, const char *id)
{
    json_t *org = json_object_get(results, id);
    const char *name =
        json_string_value(json_object_get(org, "localizedName"));
    json_t *localized;
    const char *key;
    json_t *v;

    if (name && *name)
        return name;
    localized = json_object_get(json_object_get(org, "name"), "localized");
    json_object_foreach(localized, key, v)
    {
        if (json_string_value(v) && *json_string_value(v))
            return json_string_value(v);
    }
    return NULL;
}

/* Makes c->targets from c->org_ids and the names in results (may be
 * NULL), then finishes. */
static void
targets_build(struct li_connect *c, json_t *results)
{
    size_t i;
    json_t *v;

    json_array_foreach(c->org_ids, i, v)
    {
        const char *id = json_string_value(v);
        const char *name = org_name(results, id);

        json_array_append_new(
            c->targets, json_pack("{s:s, s:s, s:s}", "id", id, "name",
                                  name ? name : id, "kind", "organization"));
    }
    li_connect_finish(c);
}

static void
names_done(struct herald_op *op, const struct herald_http_response *resp,
           void *udata)
{
    struct li_connect *c = udata;
    json_t *body = NULL;
    json_t *results = NULL;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200) {
        body = c->li->host->json_parse(resp->body, resp->body_len);
        results = json_object_get(body, "results");
    }
    if (!json_is_object(results)) {
        struct herald_outcome out;
        struct li_call call = {0};

        li_api_outcome(c->li, resp, &call, &out, c->msg, NULL, NULL);
        c->li->host->log(c->op, LOG_WARNING,
                         "cannot read the names of the member's "
                         "organizations: %s",
                         out.message);
    }
    targets_build(c, results);
    json_decref(body);
}

/* Returns "{rest_url}/organizations?ids=List(a,b,...)" (malloc()ed). */
static char *
names_url(struct li_connect *c)
{
    size_t len = strlen("organizations?ids=List()") + 1;
    size_t i;
    json_t *v;
    char *path;
    char *url;

    json_array_foreach(c->org_ids, i, v)
    {
        len += strlen(json_string_value(v)) + 1;
    }
    path = calloc(1, len);
    if (!path)
        return NULL;
    strcpy(path, "organizations?ids=List(");
    json_array_foreach(c->org_ids, i, v)
    {
        if (i > 0)
            strcat(path, ",");
        strcat(path, json_string_value(v));
    }
    strcat(path, ")");
    url = li_url(c->li->rest_url, path);
    free(path);
    return url;
}

static void
acls_done(struct herald_op *op, const struct herald_http_response *resp,
          void *udata)
{
    struct li_connect *c = udata;
    json_t *body = NULL;
    struct li_headers h;
    char *url = NULL;
    int rc;

    (void)op;
    if (resp->transport == HERALD_TRANSPORT_OK && resp->status == 200)
        body = c->li->host->json_parse(resp->body, resp->body_len);
    if (!json_is_array(json_object_get(body, "elements"))) {
        json_decref(body);
        targets_give_up(c,
                        "cannot list the organizations the member "
                        "administers",
                        resp);
        return;
    }
    read_acls(c, body);
    json_decref(body);
    if (json_array_size(c->org_ids) == 0) {
        li_connect_finish(c);
        return;
    }

    rc = li_headers_init(&h, c->li, c->access_token, 1, NULL);
    if (rc == 0) {
        url = names_url(c);
        rc = url ? li_send(c->li, c->op, "GET", url, &h, NULL, 0, 0,
                           names_done, c)
                 : -1;
    }
    li_headers_free(&h);
    free(url);
    if (rc != 0)
        targets_build(c, NULL);
}

void
li_targets_fetch(struct li_connect *c)
{
    struct li_headers h;
    char *url;
    int rc;

    c->targets = json_array();
    c->org_ids = json_array();
    url = li_url(c->li->rest_url, "organizationAcls?q=roleAssignee"
                                  "&role=ADMINISTRATOR&state=APPROVED"
                                  "&count=100");
    rc = c->targets && c->org_ids && url ? 0 : -1;
    if (rc == 0) {
        rc = li_headers_init(&h, c->li, c->access_token, 1, NULL);
        if (rc == 0)
            rc = li_send(c->li, c->op, "GET", url, &h, NULL, 0, 0, acls_done,
                         c);
        li_headers_free(&h);
    }
    free(url);
    if (rc != 0)
        targets_give_up(c, "cannot ask for the member's organizations", NULL);
}
