/*
 * schema.c - checks configuration documents against their schemas.
 *
 * One pass, validate_document(), serves every document: it parses with
 * jansson, then walks the schema and checks each key, resolving secret
 * references on the way, into a new object. Errors are located by
 * scanning the raw text again with core/jsonpos.h. A caller's rules
 * (ranges, allowed values) are checked by the same pass, so a key's
 * expectation is described the same way whatever went wrong. Called by
 * core/config.c for the engine file and the network files.
 *
 * Invariant: a secret's value, given or resolved, never reaches an error
 * message; messages about a secret key name the kind of value at most.
 * Buffers that held a secret are wiped before they are freed.
 */
#include "schema.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonpos.h"

#define DOCUMENT_MAX_BYTES (1024 * 1024) /* largest configuration file */
#define SECRET_MAX_BYTES   (64 * 1024)   /* largest secret file */
#define GOT_MAX            48            /* longest value quoted in errors */

/* One document being validated. */
struct schema_doc {
    const char *file; /* name used in messages */
    const char *text;
    size_t len;
    const struct herald_schema_rule *rules; /* NULL-name ended, or NULL */
    char *dir; /* absolute directory of file, made on first use */
};

/* The value being checked: a schema key, or one element of its array. */
struct schema_item {
    const struct herald_config_key *key;
    const struct herald_schema_rule *rule; /* NULL when the key has none */
    int in_array;
    size_t index;
};

static int
oom(struct herald_error *err)
{
    herald_error_set(err, "out of memory");
    return -ENOMEM;
}

/* Appends to the string in buf, cutting what does not fit. */
static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 1 >= size)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* ---- files and paths ---------------------------------------------- */

/* Moves a buffer into one twice as large, wiping the old one. */
static int
grow_buffer(char **buf, size_t *cap, size_t used)
{
    char *bigger = malloc(*cap * 2);

    if (!bigger)
        return -ENOMEM;
    memcpy(bigger, *buf, used);
    explicit_bzero(*buf, *cap);
    free(*buf);
    *buf = bigger;
    *cap *= 2;
    return 0;
}

/*
 * Reads fd to its end into a new NUL-terminated buffer (*out, freed by
 * the caller). Returns 0, -EFBIG past max bytes, or a negative errno.
 */
static int
read_fd(int fd, size_t max, char **out, size_t *out_len)
{
    size_t cap = 4096;
    size_t len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    int rc = 0;

    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len + 1 == cap)
            rc = len > max ? -EFBIG : grow_buffer(&buf, &cap, len);
        if (rc < 0)
            break;
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        len += (size_t)n;
    }

    if (rc == 0 && len > max)
        rc = -EFBIG;
    if (rc < 0) {
        explicit_bzero(buf, cap);
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/* Reads a configuration file into a new buffer. */
static int
read_document(const char *path, char **text, size_t *len,
              struct herald_error *err)
{
    /* O_NONBLOCK: a FIFO must not hang the start (refused below). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    int rc;

    if (fd < 0) {
        rc = -errno;
        herald_error_set(err, "cannot read config '%s': %s", path,
                         strerror(-rc));
        return rc;
    }
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        close(fd);
        herald_error_set(err, "cannot read config '%s': %s", path,
                         rc == -EISDIR ? strerror(EISDIR)
                                       : "not a regular file");
        return rc;
    }
    rc = read_fd(fd, DOCUMENT_MAX_BYTES, text, len);
    close(fd);
    if (rc < 0)
        herald_error_set(err, "cannot read config '%s': %s", path,
                         strerror(-rc));
    return rc;
}

/* Returns dir/rel as a new string, or a copy of rel when it is absolute. */
static char *
path_join(const char *dir, const char *rel, size_t rel_len)
{
    size_t dir_len = strlen(dir);
    const char *sep = dir_len && dir[dir_len - 1] == '/' ? "" : "/";
    size_t size = dir_len + strlen(sep) + rel_len + 1;
    char *path;

    if (rel_len > 0 && rel[0] == '/')
        return strndup(rel, rel_len);
    path = malloc(size);
    if (path)
        snprintf(path, size, "%s%s%.*s", dir, sep, (int)rel_len, rel);
    return path;
}

int
herald_schema_document_dir(const char *file, char **dir,
                           struct herald_error *err)
{
    const char *slash = strrchr(file, '/');
    char *cwd;
    int rc;

    if (file[0] == '/') {
        *dir = slash == file ? strdup("/")
                             : strndup(file, (size_t)(slash - file));
        return *dir ? 0 : oom(err);
    }

    cwd = getcwd(NULL, 0);
    if (!cwd) {
        rc = errno;
        herald_error_set(err, "cannot find the current directory: %s",
                         strerror(rc));
        return rc == ENOMEM ? -ENOMEM : -EINVAL;
    }
    if (!slash) {
        *dir = cwd;
        return 0;
    }
    *dir = path_join(cwd, file, (size_t)(slash - file));
    free(cwd);
    return *dir ? 0 : oom(err);
}

/* ---- error messages ----------------------------------------------- */

/* Finds the position of path in the document, or 1:1 if it cannot. */
static void
doc_position(const struct schema_doc *doc,
             const struct herald_jsonpos_step *path, size_t depth, int *line,
             int *column)
{
    if (herald_jsonpos_find(doc->text, doc->len, path, depth, line, column) <
        0) {
        *line = 1;
        *column = 1;
    }
}

/* Fills err with "FILE:LINE:COL: MESSAGE" for the member at path. */
static int __attribute__((format(printf, 5, 6)))
doc_fail(const struct schema_doc *doc, const struct herald_jsonpos_step *path,
         size_t depth, struct herald_error *err, const char *fmt, ...)
{
    char msg[sizeof(err->msg)];
    int line;
    int column;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    doc_position(doc, path, depth, &line, &column);
    herald_error_set(err, "%s:%d:%d: %s", doc->file, line, column, msg);
    return -EINVAL;
}

/* Fills err with "FILE:LINE:COL: key 'NAME': MESSAGE" for item. */
static int __attribute__((format(printf, 4, 5)))
item_fail(const struct schema_doc *doc, const struct schema_item *item,
          struct herald_error *err, const char *fmt, ...)
{
    struct herald_jsonpos_step path[2] = {{item->key->name, 0},
                                          {NULL, item->index}};
    char msg[sizeof(err->msg)];
    char name[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (item->in_array)
        snprintf(name, sizeof(name), "%s[%zu]", item->key->name, item->index);
    else
        snprintf(name, sizeof(name), "%s", item->key->name);
    return doc_fail(doc, path, item->in_array ? 2 : 1, err, "key '%s': %s",
                    name, msg);
}

/*
 * Returns whether a failed jansson parse ran out of memory. jansson 2.14
 * sets the code for some allocation failures and leaves the text empty
 * for others; a failure inside its lexer still reads as a syntax error.
 */
static int
parse_out_of_memory(const json_error_t *jerr)
{
    return json_error_code(jerr) == json_error_out_of_memory ||
           jerr->text[0] == '\0';
}

/*
 * Reports a syntax error at jansson's position, counted in bytes like
 * every other position. jansson quotes the token it stopped at ("near
 * '...'"), which may be part of a secret, so that part is dropped, except
 * for a duplicate key, whose token is a key.
 */
static int
syntax_error(const struct schema_doc *doc, const json_error_t *jerr,
             struct herald_error *err)
{
    char text[sizeof(jerr->text)];
    size_t pos = jerr->position > 0 ? (size_t)jerr->position : 0;
    int line = 1;
    int column = 0;
    char *near;

    if (parse_out_of_memory(jerr))
        return oom(err);
    for (size_t i = 0; i < pos && i < doc->len; i++) {
        column = doc->text[i] == '\n' ? 0 : column + 1;
        line += doc->text[i] == '\n';
    }

    snprintf(text, sizeof(text), "%s", jerr->text);
    near = strstr(text, " near '");
    if (near && json_error_code(jerr) != json_error_duplicate_key)
        *near = '\0';
    herald_error_set(err, "%s:%d:%d: invalid JSON: %s", doc->file, line,
                     column > 0 ? column : 1, text);
    return -EINVAL;
}

/* Names the kind of a value: "a string", "an object", ... */
static const char *
kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Writes ", got VALUE" for a value that may be shown, shortened. */
static void
describe_got(const json_t *v, char *buf, size_t size)
{
    char *text;
    size_t len;

    if (json_is_object(v) || json_is_array(v)) {
        snprintf(buf, size, ", got %s", kind_of(v));
        return;
    }
    text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) {
        snprintf(buf, size, ", got %s", kind_of(v));
        return;
    }
    len = strlen(text);
    if (len > GOT_MAX) {
        len = GOT_MAX - 3;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
        memcpy(text + len, "...", 4);
    }
    snprintf(buf, size, ", got %s", text);
    free(text);
}

/* Writes what an item must be: "an integer from 0 to 65535", ... */
static void
describe_expected(const struct schema_item *item, char *buf, size_t size)
{
    const struct herald_schema_rule *rule = item->rule;
    enum herald_config_type type = item->key->type;
    int nonempty = rule && rule->nonempty;

    buf[0] = '\0';
    if (type == HERALD_CONF_STRING_ARRAY && !item->in_array) {
        append(buf, size, "an array of %sstrings%s",
               nonempty ? "non-empty " : "",
               item->key->secret ? " or secret references" : "");
        return;
    }
    if (type == HERALD_CONF_BOOLEAN) {
        append(buf, size, "true or false");
        return;
    }
    if (type == HERALD_CONF_INTEGER) {
        append(buf, size, "an integer");
        if (rule && rule->ranged && rule->max == LLONG_MAX)
            append(buf, size, " of at least %lld", rule->min);
        else if (rule && rule->ranged)
            append(buf, size, " from %lld to %lld", rule->min, rule->max);
        return;
    }

    if (type == HERALD_CONF_URL)
        append(buf, size, "an http:// or https:// URL");
    else if (rule && rule->choices)
        for (size_t i = 0; rule->choices[i]; i++)
            append(buf, size, "%s\"%s\"", i ? ", " : "one of ",
                   rule->choices[i]);
    else
        append(buf, size, "a %sstring", nonempty ? "non-empty " : "");
    if (item->key->secret)
        append(buf, size, " or a secret reference");
}

/* Reports a value of the wrong JSON type. */
static int
type_error(const struct schema_doc *doc, const struct schema_item *item,
           const json_t *given, struct herald_error *err)
{
    char expected[256];
    char got[96];

    describe_expected(item, expected, sizeof(expected));
    if (item->key->secret)
        snprintf(got, sizeof(got), ", got %s", kind_of(given));
    else
        describe_got(given, got, sizeof(got));
    return item_fail(doc, item, err, "expected %s%s", expected, got);
}

/* Reports a value of the right type that breaks a rule. */
static int
content_error(const struct schema_doc *doc, const struct schema_item *item,
              const json_t *given, struct herald_error *err)
{
    char expected[256];
    char got[96] = "";

    describe_expected(item, expected, sizeof(expected));
    if (!item->key->secret)
        describe_got(given, got, sizeof(got));
    return item_fail(doc, item, err, "expected %s%s", expected, got);
}

/* ---- secret references -------------------------------------------- */

/* Returns the length of the UTF-8 sequence led by c, or 0. */
static size_t
utf8_length(unsigned char c, uint32_t *cp)
{
    if ((c & 0xE0) == 0xC0) {
        *cp = c & 0x1F;
        return 2;
    }
    if ((c & 0xF0) == 0xE0) {
        *cp = c & 0x0F;
        return 3;
    }
    if ((c & 0xF8) == 0xF0) {
        *cp = c & 0x07;
        return 4;
    }
    return 0;
}

/* Returns whether s is UTF-8 text without NUL bytes, as jansson wants. */
static int
is_utf8_text(const char *s, size_t len)
{
    static const uint32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t i = 0;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp = c;
        size_t n = c < 0x80 ? 1 : utf8_length(c, &cp);

        if (c == 0 || n == 0 || n > len - i)
            return 0;
        for (size_t k = 1; k < n; k++) {
            unsigned char b = (unsigned char)s[i + k];

            if ((b & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (b & 0x3F);
        }
        if (n > 1 && (cp < shortest[n] || cp > 0x10FFFF ||
                      (cp >= 0xD800 && cp <= 0xDFFF)))
            return 0;
        i += n;
    }
    return 1;
}

/* Resolves {"env": "NAME"} into a new string. */
static int
resolve_env(const struct schema_doc *doc, const struct schema_item *item,
            const char *name, json_t **value, struct herald_error *err)
{
    const char *secret = getenv(name);

    if (!secret)
        return item_fail(doc, item, err,
                         "environment variable '%s' is not set", name);
    if (!secret[0])
        return item_fail(doc, item, err, "environment variable '%s' is empty",
                         name);
    if (!is_utf8_text(secret, strlen(secret)))
        return item_fail(doc, item, err,
                         "environment variable '%s' is not UTF-8 text", name);
    *value = json_string(secret);
    return *value ? 0 : oom(err);
}

/*
 * Opens a secret file and checks that only its owner can reach it. A
 * missing file is -EINVAL like any bad reference, never -ENOENT, which
 * callers read as "no such configuration file".
 */
static int
open_secret(const struct schema_doc *doc, const struct schema_item *item,
            const char *path, int *fd, struct herald_error *err)
{
    struct stat st;
    int rc;

    /* O_NONBLOCK: opening a FIFO must not hang the start. */
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (*fd < 0 || fstat(*fd, &st) < 0) {
        rc = errno;
        if (*fd >= 0)
            close(*fd);
        return item_fail(doc, item, err, "cannot read secret file '%s': %s",
                         path, strerror(rc));
    }

    if (!S_ISREG(st.st_mode))
        rc = item_fail(doc, item, err,
                       "secret file '%s' is not a regular file", path);
    else if (st.st_mode & 077)
        rc = item_fail(doc, item, err,
                       "secret file '%s' is accessible by group or others "
                       "(mode %04o); make it 0600",
                       path, (unsigned)(st.st_mode & 07777));
    else
        return 0;
    close(*fd);
    return rc;
}

/* Turns the contents of a secret file into a new string. */
static int
secret_from_text(const struct schema_doc *doc, const struct schema_item *item,
                 const char *path, char *text, size_t len, json_t **value,
                 struct herald_error *err)
{
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len == 0)
        return item_fail(doc, item, err, "secret file '%s' is empty", path);
    if (!is_utf8_text(text, len))
        return item_fail(doc, item, err, "secret file '%s' is not UTF-8 text",
                         path);
    *value = json_stringn(text, len);
    return *value ? 0 : oom(err);
}

/* Resolves {"file": "PATH"} into a new string. */
static int
resolve_file(struct schema_doc *doc, const struct schema_item *item,
             const char *given, json_t **value, struct herald_error *err)
{
    char *path = NULL;
    char *text = NULL;
    size_t len = 0;
    int fd;
    int rc = 0;

    if (!doc->dir)
        rc = herald_schema_document_dir(doc->file, &doc->dir, err);
    if (rc < 0)
        return rc;
    path = path_join(doc->dir, given, strlen(given));
    if (!path)
        return oom(err);

    rc = open_secret(doc, item, path, &fd, err);
    if (rc < 0)
        goto out_path;
    rc = read_fd(fd, SECRET_MAX_BYTES, &text, &len);
    close(fd);
    if (rc == -ENOMEM)
        oom(err);
    else if (rc < 0)
        rc = item_fail(doc, item, err, "cannot read secret file '%s': %s",
                       path, strerror(-rc));
    if (rc < 0)
        goto out_path;

    rc = secret_from_text(doc, item, path, text, len, value, err);
    explicit_bzero(text, len);
    free(text);
out_path:
    free(path);
    return rc;
}

/* Resolves a secret reference object into a new string. */
static int
resolve_reference(struct schema_doc *doc, const struct schema_item *item,
                  const json_t *ref, json_t **value, struct herald_error *err)
{
    const json_t *env = json_object_get(ref, "env");
    const json_t *file = json_object_get(ref, "file");

    if (json_object_size(ref) == 1 && json_is_string(env) &&
        json_string_length(env) > 0)
        return resolve_env(doc, item, json_string_value(env), value, err);
    if (json_object_size(ref) == 1 && json_is_string(file) &&
        json_string_length(file) > 0)
        return resolve_file(doc, item, json_string_value(file), value, err);
    return item_fail(doc, item, err,
                     "expected a secret reference {\"env\": \"NAME\"} or "
                     "{\"file\": \"PATH\"}");
}

/* ---- type checks -------------------------------------------------- */

/* Returns whether s is an http(s) URL naming a host, without spaces. */
static int
is_http_url(const char *s)
{
    size_t skip;
    size_t host;

    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;

    /* The host ends the authority's userinfo and precedes a port. */
    s += skip;
    host = strcspn(s, "/?#");
    for (size_t i = host; i > 0; i--) {
        if (s[i - 1] == '@') {
            s += i;
            host -= i;
            break;
        }
    }
    return host > 0 && s[0] != ':';
}

/* Checks a string's contents against its type and rule. */
static int
check_string_content(const struct schema_doc *doc,
                     const struct schema_item *item, const json_t *v,
                     struct herald_error *err)
{
    const struct herald_schema_rule *rule = item->rule;
    const char *s = json_string_value(v);
    int ok = 1;

    if (item->key->type == HERALD_CONF_URL)
        ok = is_http_url(s);
    if (rule && rule->nonempty && s[0] == '\0')
        ok = 0;
    if (rule && rule->choices) {
        ok = 0;
        for (size_t i = 0; rule->choices[i]; i++)
            ok = ok || strcmp(s, rule->choices[i]) == 0;
    }
    return ok ? 0 : content_error(doc, item, v, err);
}

/* Checks a string, URL or array element; *value gets a new reference. */
static int
check_string(struct schema_doc *doc, const struct schema_item *item,
             json_t *given, json_t **value, struct herald_error *err)
{
    json_t *v = NULL;
    int rc;

    if (item->key->secret && json_is_object(given)) {
        rc = resolve_reference(doc, item, given, &v, err);
        if (rc < 0)
            return rc;
    } else if (json_is_string(given)) {
        v = json_incref(given);
    } else {
        return type_error(doc, item, given, err);
    }

    rc = check_string_content(doc, item, v, err);
    if (rc < 0) {
        json_decref(v);
        return rc;
    }
    *value = v;
    return 0;
}

/* Checks an array of strings element by element into a new array. */
static int
check_array(struct schema_doc *doc, const struct schema_item *item,
            json_t *given, json_t **value, struct herald_error *err)
{
    struct schema_item element = *item;
    json_t *result;
    json_t *v;
    int rc = 0;

    if (!json_is_array(given))
        return type_error(doc, item, given, err);
    result = json_array();
    if (!result)
        return oom(err);

    element.in_array = 1;
    for (size_t i = 0; i < json_array_size(given) && rc == 0; i++) {
        element.index = i;
        rc = check_string(doc, &element, json_array_get(given, i), &v, err);
        if (rc == 0 && json_array_append_new(result, v) < 0)
            rc = oom(err);
    }
    if (rc < 0) {
        json_decref(result);
        return rc;
    }
    *value = result;
    return 0;
}

/* Checks an integer against its range; *value gets a new reference. */
static int
check_integer(const struct schema_doc *doc, const struct schema_item *item,
              json_t *given, json_t **value, struct herald_error *err)
{
    const struct herald_schema_rule *rule = item->rule;
    json_int_t n;

    if (!json_is_integer(given))
        return type_error(doc, item, given, err);
    n = json_integer_value(given);
    if (rule && rule->ranged && (n < rule->min || n > rule->max))
        return content_error(doc, item, given, err);
    *value = json_incref(given);
    return 0;
}

/* Checks one given value against its key; *value gets a new reference. */
static int
check_value(struct schema_doc *doc, const struct schema_item *item,
            json_t *given, json_t **value, struct herald_error *err)
{
    switch (item->key->type) {
    case HERALD_CONF_STRING:
    case HERALD_CONF_URL:
        return check_string(doc, item, given, value, err);
    case HERALD_CONF_INTEGER:
        return check_integer(doc, item, given, value, err);
    case HERALD_CONF_BOOLEAN:
        if (!json_is_boolean(given))
            return type_error(doc, item, given, err);
        *value = json_incref(given);
        return 0;
    case HERALD_CONF_STRING_ARRAY:
        return check_array(doc, item, given, value, err);
    }
    herald_error_set(err, "schema key '%s' has an unknown type %d",
                     item->key->name, (int)item->key->type);
    return -EINVAL;
}

/* ---- documents ---------------------------------------------------- */

/* Returns whether a default value fits its key's type. */
static int
default_fits(const struct herald_config_key *key, const json_t *v)
{
    size_t i;
    json_t *element;

    switch (key->type) {
    case HERALD_CONF_STRING:
        return json_is_string(v);
    case HERALD_CONF_URL:
        return json_is_string(v) && is_http_url(json_string_value(v));
    case HERALD_CONF_INTEGER:
        return json_is_integer(v);
    case HERALD_CONF_BOOLEAN:
        return json_is_boolean(v);
    case HERALD_CONF_STRING_ARRAY:
        if (!json_is_array(v))
            return 0;
        json_array_foreach(v, i, element)
        {
            if (!json_is_string(element))
                return 0;
        }
        return 1;
    }
    return 0;
}

/* Parses a schema key's default into a new reference. */
static int
parse_default(const struct herald_config_key *key, json_t **value,
              struct herald_error *err)
{
    json_error_t jerr = {0};
    json_t *v = json_loads(key->default_json, JSON_DECODE_ANY, &jerr);

    if (!v && parse_out_of_memory(&jerr))
        return oom(err);
    if (!v) {
        herald_error_set(err,
                         "schema key '%s': default %s does not parse: "
                         "%s",
                         key->name, key->default_json, jerr.text);
        return -EINVAL;
    }
    if (!default_fits(key, v)) {
        json_decref(v);
        herald_error_set(err,
                         "schema key '%s': default %s does not fit "
                         "its type",
                         key->name, key->default_json);
        return -EINVAL;
    }
    *value = v;
    return 0;
}

static const struct herald_schema_rule *
find_rule(const struct schema_doc *doc, const char *name)
{
    for (const struct herald_schema_rule *r = doc->rules; r && r->name; r++)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

static const struct herald_config_key *
find_key(const struct herald_config_key *schema, const char *name)
{
    for (const struct herald_config_key *k = schema; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* Reports the first key of root, in file order, missing from schema. */
static int
check_unknown(const struct schema_doc *doc, json_t *root,
              const struct herald_config_key *schema, struct herald_error *err)
{
    const char *name;
    json_t *v;

    json_object_foreach(root, name, v)
    {
        struct herald_jsonpos_step step = {name, 0};

        if (!find_key(schema, name))
            return doc_fail(doc, &step, 1, err, "unknown key '%s'", name);
    }
    return 0;
}

/* Checks or defaults one schema key into result. */
static int
fill_key(struct schema_doc *doc, const struct herald_config_key *key,
         json_t *root, json_t *result, struct herald_error *err)
{
    struct schema_item item = {key, find_rule(doc, key->name), 0, 0};
    json_t *given = json_object_get(root, key->name);
    json_t *value;
    int rc;

    if (given)
        rc = check_value(doc, &item, given, &value, err);
    else if (key->required)
        return doc_fail(doc, NULL, 0, err, "missing required key '%s'",
                        key->name);
    else if (key->default_json)
        rc = parse_default(key, &value, err);
    else
        return 0;
    if (rc < 0)
        return rc;
    if (json_object_set_new(result, key->name, value) < 0)
        return oom(err);
    return 0;
}

/* Parses and checks doc against schema into *out (new reference). */
static int
validate_document(struct schema_doc *doc,
                  const struct herald_config_key *schema, json_t **out,
                  struct herald_error *err)
{
    json_error_t jerr = {0};
    json_t *root;
    json_t *result = NULL;
    int rc;

    root = json_loadb(doc->text, doc->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return syntax_error(doc, &jerr, err);
    if (!json_is_object(root)) {
        rc = doc_fail(doc, NULL, 0, err,
                      "expected an object at the top level, got %s",
                      kind_of(root));
        goto out_root;
    }

    rc = check_unknown(doc, root, schema, err);
    if (rc < 0)
        goto out_root;
    result = json_object();
    if (!result) {
        rc = oom(err);
        goto out_root;
    }
    for (const struct herald_config_key *k = schema; k->name && rc == 0; k++)
        rc = fill_key(doc, k, root, result, err);

    if (rc == 0)
        *out = result;
    else
        json_decref(result);
out_root:
    json_decref(root);
    return rc;
}

int
herald_schema_validate(const char *file, const char *text, size_t len,
                       const struct herald_config_key *schema,
                       const struct herald_schema_rule *rules, json_t **out,
                       struct herald_error *err)
{
    struct schema_doc doc = {file, text, len, rules, NULL};
    int rc;

    rc = validate_document(&doc, schema, out, err);
    free(doc.dir);
    return rc;
}

int
herald_schema_load(const char *path, const struct herald_config_key *schema,
                   const struct herald_schema_rule *rules, json_t **out,
                   struct herald_error *err)
{
    char *text;
    size_t len;
    int rc;

    rc = read_document(path, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = herald_schema_validate(path, text, len, schema, rules, out, err);

    /* The text may hold secrets written in the clear. */
    explicit_bzero(text, len);
    free(text);
    return rc;
}

char *
herald_schema_resolve_path(const char *dir, const char *rel)
{
    return path_join(dir, rel, strlen(rel));
}
