/*
 * api_util.c - reading API requests and writing answers: JSON bodies,
 * ids, times. Shared by the api*.c files through api_private.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_private.h"
#include "clock.h"

json_t *
herald_api_body_object(struct herald_request *req)
{
    json_error_t jerr = {0};
    size_t len;
    const char *body = herald_request_body(req, &len);
    json_t *obj;

    if (len == 0) {
        herald_request_error(req, 400, "invalid_body",
                             "a JSON object is required as the body");
        return NULL;
    }
    obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        herald_request_error(req, 400, "invalid_json",
                             "the body is not valid JSON: %s at line %d, "
                             "column %d",
                             jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        herald_request_error(req, 400, "invalid_body",
                             "the body must be a JSON object");
        return NULL;
    }
    return obj;
}

int
herald_api_opt_string(struct herald_request *req, json_t *obj,
                      const char *name, const char **out)
{
    json_t *v = json_object_get(obj, name);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        herald_request_error(req, 400, "invalid_field",
                             "'%s' must be a string", name);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int64_t
herald_api_parse_id(const char *s)
{
    char *end;
    long long v;

    if (!s || *s < '1' || *s > '9')
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0)
        return 0;
    return (int64_t)v;
}

static int
parse_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int
expect(const char **p, char c)
{
    if (**p != c && !(c == 'T' && **p == 't'))
        return -1;
    (*p)++;
    return 0;
}

/* Parses the optional fraction and the zone (Z or +hh:mm) of RFC 3339. */
static int
parse_zone(const char *p, int *frac_ms, int *offset_s)
{
    int hh, mm;
    int sign;

    *frac_ms = 0;
    *offset_s = 0;
    if (*p == '.') {
        int scale = 100;

        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
            *frac_ms += (*p - '0') * scale;
    }
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0' ? 0 : -1;
    if (*p != '+' && *p != '-')
        return -1;
    sign = *p++ == '-' ? -1 : 1;
    if (parse_digits(&p, 2, &hh) || expect(&p, ':') ||
        parse_digits(&p, 2, &mm) || *p != '\0' || hh > 23 || mm > 59)
        return -1;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int
herald_api_parse_time(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    const char *p = s;
    int frac_ms, offset_s;
    char *end;
    time_t t;

    if (!s || !*s)
        return -1;
    if (strspn(s, "0123456789") == strlen(s)) {
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE || v <= 0)
            return -1;
        *ms = (int64_t)v;
        return 0;
    }
    if (parse_digits(&p, 4, &tm.tm_year) || expect(&p, '-') ||
        parse_digits(&p, 2, &tm.tm_mon) || expect(&p, '-') ||
        parse_digits(&p, 2, &tm.tm_mday) || expect(&p, 'T') ||
        parse_digits(&p, 2, &tm.tm_hour) || expect(&p, ':') ||
        parse_digits(&p, 2, &tm.tm_min) || expect(&p, ':') ||
        parse_digits(&p, 2, &tm.tm_sec) || parse_zone(p, &frac_ms, &offset_s))
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    *ms = ((int64_t)t - offset_s) * 1000 + frac_ms;
    /* Times before 1970 are no schedule herald can keep. */
    return *ms > 0 ? 0 : -1;
}

const char *
herald_api_format_time(int64_t ms, char *buf, size_t len)
{
    time_t t;
    struct tm tm;

    if (ms <= 0)
        return NULL;
    t = (time_t)(ms / 1000);
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return buf;
}

json_t *
herald_api_time_json(int64_t ms)
{
    char buf[40];

    if (ms <= 0)
        return json_null();
    return json_string(herald_api_format_time(ms, buf, sizeof(buf)));
}

int64_t
herald_api_now_ms(void)
{
    return herald_clock_now_ms();
}

int
herald_api_limit(struct herald_request *req, size_t def, size_t max,
                 size_t *limit)
{
    const char *v = herald_request_query(req, "limit");
    int64_t n;

    *limit = def;
    if (!v)
        return 0;
    n = herald_api_parse_id(v);
    if (n == 0 || (uint64_t)n > max) {
        herald_request_error(req, 400, "invalid_query",
                             "'limit' must be from 1 to %zu", max);
        return -1;
    }
    *limit = (size_t)n;
    return 0;
}
