/*
 * jsonpos.c - a position-tracking JSON scanner.
 *
 * The scanner walks the text one byte at a time through advance(), the
 * only place that moves the cursor, so the line and column always
 * describe the byte under it. It validates only what it must to find its
 * way (string boundaries, escapes in keys it compares, separators);
 * everything it skips is taken on trust, because the caller has already
 * parsed the same text with jansson.
 */
#include "jsonpos.h"

#include <errno.h>
#include <stdint.h>

struct scan {
    const char *p;   /* the byte under the cursor */
    const char *end; /* one past the last byte */
    int line;
    int column;
};

static int
at_end(const struct scan *s)
{
    return s->p >= s->end;
}

static int
peek(const struct scan *s)
{
    return at_end(s) ? -1 : (unsigned char)*s->p;
}

static void
advance(struct scan *s)
{
    if (at_end(s))
        return;
    if (*s->p == '\n') {
        s->line++;
        s->column = 1;
    } else {
        s->column++;
    }
    s->p++;
}

static void
skip_ws(struct scan *s)
{
    int c = peek(s);

    while (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        advance(s);
        c = peek(s);
    }
}

static int
hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the four hex digits after "\u" into *unit. */
static int
read_hex4(struct scan *s, uint32_t *unit)
{
    *unit = 0;
    for (int i = 0; i < 4; i++) {
        int v = hex_value(peek(s));

        if (v < 0)
            return -EINVAL;
        *unit = *unit << 4 | (uint32_t)v;
        advance(s);
    }
    return 0;
}

/* Reads a \uXXXX escape (the cursor is on the 'u'), joining a surrogate
 * pair into one code point. Lone surrogates are refused, as by jansson. */
static int
read_unicode(struct scan *s, uint32_t *cp)
{
    uint32_t low;
    int rc;

    advance(s);
    rc = read_hex4(s, cp);
    if (rc < 0)
        return rc;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return -EINVAL;
    if (*cp < 0xD800 || *cp > 0xDBFF)
        return 0;

    if (peek(s) != '\\')
        return -EINVAL;
    advance(s);
    if (peek(s) != 'u')
        return -EINVAL;
    advance(s);
    rc = read_hex4(s, &low);
    if (rc < 0)
        return rc;
    if (low < 0xDC00 || low > 0xDFFF)
        return -EINVAL;
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
    return 0;
}

/* Encodes a code point as UTF-8 into buf; returns the byte count. */
static size_t
encode_utf8(uint32_t cp, unsigned char *buf)
{
    if (cp < 0x80) {
        buf[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (unsigned char)(0xC0 | cp >> 6);
        buf[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (unsigned char)(0xE0 | cp >> 12);
        buf[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        buf[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (unsigned char)(0xF0 | cp >> 18);
    buf[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    buf[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    buf[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes one escape (the cursor is on the backslash) into buf. */
static int
read_escape(struct scan *s, unsigned char *buf, size_t *n)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    uint32_t cp;
    int c;
    int rc;

    advance(s);
    c = peek(s);
    if (c == 'u') {
        rc = read_unicode(s, &cp);
        if (rc < 0)
            return rc;
        *n = encode_utf8(cp, buf);
        return 0;
    }
    for (size_t i = 0; c > 0 && from[i]; i++) {
        if (from[i] == c) {
            buf[0] = (unsigned char)to[i];
            *n = 1;
            advance(s);
            return 0;
        }
    }
    return -EINVAL;
}

/* Compares the next n decoded bytes of a string with key at *k. */
static void
compare_bytes(const unsigned char *buf, size_t n, const char *key, size_t *k,
              int *equal)
{
    for (size_t i = 0; i < n && *equal; i++) {
        if (key[*k] == '\0' || (unsigned char)key[*k] != buf[i])
            *equal = 0;
        else
            (*k)++;
    }
}

/*
 * Consumes a string (the cursor is on its opening quote). When key is not
 * NULL, sets *same to whether the decoded string equals key.
 */
static int
scan_string(struct scan *s, const char *key, int *same)
{
    int equal = key != NULL;
    size_t k = 0;
    int rc;

    advance(s);
    while (!at_end(s) && *s->p != '"') {
        unsigned char buf[4];
        size_t n = 1;

        if (*s->p == '\\') {
            rc = read_escape(s, buf, &n);
            if (rc < 0)
                return rc;
        } else {
            buf[0] = (unsigned char)*s->p;
            advance(s);
        }
        if (key)
            compare_bytes(buf, n, key, &k, &equal);
    }
    if (at_end(s))
        return -EINVAL;
    advance(s);
    if (key)
        *same = equal && key[k] == '\0';
    return 0;
}

/* Skips an object or array (the cursor is on its opening bracket). */
static int
skip_container(struct scan *s)
{
    size_t depth = 0;
    int rc;

    do {
        int c = peek(s);

        if (c < 0)
            return -EINVAL;
        if (c == '"') {
            rc = scan_string(s, NULL, NULL);
            if (rc < 0)
                return rc;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        advance(s);
    } while (depth > 0);
    return 0;
}

/* Skips one value of any kind (the cursor is on its first byte). */
static int
skip_value(struct scan *s)
{
    int c = peek(s);

    if (c == '"')
        return scan_string(s, NULL, NULL);
    if (c == '{' || c == '[')
        return skip_container(s);

    /* A number or literal runs to the next separator. */
    while (c > 0 && c != ',' && c != '}' && c != ']' && c != ' ' &&
           c != '\t' && c != '\n' && c != '\r') {
        advance(s);
        c = peek(s);
    }
    return 0;
}

/*
 * After a member or element: moves past the ',' to the next one and
 * returns 0, or returns -ENOENT at the closing bracket.
 */
static int
next_item(struct scan *s, int close)
{
    int c;

    skip_ws(s);
    c = peek(s);
    if (c == close)
        return -ENOENT;
    if (c != ',')
        return -EINVAL;
    advance(s);
    skip_ws(s);
    return 0;
}

/*
 * Finds key in the object under the cursor. On success *at_key holds the
 * cursor at the key's opening quote and s is on the member's value.
 */
static int
find_member(struct scan *s, const char *key, struct scan *at_key)
{
    int same;
    int rc;

    if (peek(s) != '{')
        return -ENOENT;
    advance(s);
    skip_ws(s);
    if (peek(s) == '}')
        return -ENOENT;

    for (;;) {
        struct scan here = *s;

        if (peek(s) != '"')
            return -EINVAL;
        rc = scan_string(s, key, &same);
        if (rc < 0)
            return rc;
        skip_ws(s);
        if (peek(s) != ':')
            return -EINVAL;
        advance(s);
        skip_ws(s);
        if (same) {
            *at_key = here;
            return 0;
        }
        rc = skip_value(s);
        if (rc == 0)
            rc = next_item(s, '}');
        if (rc < 0)
            return rc;
    }
}

/* Moves the cursor from an array's '[' to its element number index. */
static int
find_element(struct scan *s, size_t index)
{
    int rc;

    if (peek(s) != '[')
        return -ENOENT;
    advance(s);
    skip_ws(s);
    if (peek(s) == ']')
        return -ENOENT;

    for (size_t i = 0; i < index; i++) {
        rc = skip_value(s);
        if (rc == 0)
            rc = next_item(s, ']');
        if (rc < 0)
            return rc;
    }
    return at_end(s) ? -EINVAL : 0;
}

int
herald_jsonpos_find(const char *text, size_t len,
                    const struct herald_jsonpos_step *path, size_t depth,
                    int *line, int *column)
{
    struct scan s = {text, text + len, 1, 1};
    struct scan mark;
    int rc;

    skip_ws(&s);
    if (at_end(&s))
        return -EINVAL;
    mark = s;

    for (size_t i = 0; i < depth; i++) {
        if (path[i].key) {
            rc = find_member(&s, path[i].key, &mark);
        } else {
            rc = find_element(&s, path[i].index);
            mark = s;
        }
        if (rc < 0)
            return rc;
    }

    *line = mark.line;
    *column = mark.column;
    return 0;
}
