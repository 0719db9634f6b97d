/*
 * fuzz_post.c - what the API reads from a post's body, fuzzed: the
 * content checks of core/validate.c and the id and time parsers of
 * core/api_util.c.
 *
 * The handlers of core/api_posts.c need a running daemon (the request,
 * the store, the loaded networks), so the body's fields are fed to the
 * functions they hand them to. An input is two bytes picking the content
 * rules (counting mode, URL weight, limits, media rule, separator), then
 * NUL-separated fields: the text, the link, then up to 20 image URLs.
 * Every field is also parsed as an id and as a time.
 *
 * Besides crashes, leaks and reads out of bounds, the counts are checked
 * against a plain decoder here: code points, UTF-16 units, invalid UTF-8
 * refused by every counting mode alike; and the length of text and link
 * counted apart must be the length of the text they join into.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "validate.h"

#define MAX_FIELDS 22 /* text, link, 20 images */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s\n", what, detail ? detail : "");
    abort();
}

/*
 * Counts the code points of s and, of those, the ones past U+FFFF.
 * Returns -1 when s is not UTF-8 as RFC 3629 has it. Written apart from
 * validate.c's decoder so the two check each other.
 */
static long
plain_count(const char *s, long *astral)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;

    *astral = 0;
    while (*p) {
        uint32_t cp;
        int len;

        if (*p < 0x80)
            len = 1, cp = *p;
        else if ((*p & 0xE0) == 0xC0)
            len = 2, cp = *p & 0x1F;
        else if ((*p & 0xF0) == 0xE0)
            len = 3, cp = *p & 0x0F;
        else if ((*p & 0xF8) == 0xF0)
            len = 4, cp = *p & 0x07;
        else
            return -1;
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return -1;
            cp = cp << 6 | (p[i] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        *astral += cp > 0xFFFF;
        n++;
        p += len;
    }
    return n;
}

static void
check_lengths(const char *s)
{
    struct herald_content_rules r = {.counting = HERALD_COUNT_CODEPOINTS};
    long astral;
    long want = plain_count(s, &astral);
    long cp = herald_validate_text_length(s, &r);
    long utf16, weighted, url_cp;

    r.counting = HERALD_COUNT_UTF16;
    utf16 = herald_validate_text_length(s, &r);
    r.counting = HERALD_COUNT_WEIGHTED;
    r.url_weight = 23;
    weighted = herald_validate_text_length(s, &r);
    r.counting = HERALD_COUNT_CODEPOINTS;
    url_cp = herald_validate_text_length(s, &r);

    if (cp != want)
        fail("code point count", s);
    if (utf16 != (want < 0 ? -1 : want + astral))
        fail("UTF-16 count", s);
    if ((weighted < 0) != (want < 0) || (url_cp < 0) != (want < 0))
        fail("invalid UTF-8 counted", s);
    /* A URL weighs url_weight, so it may count more or less; never
     * negative, and every non-URL character still weighs at least 1. */
    if (want == 0 && (weighted != 0 || url_cp != 0))
        fail("empty text counted", s);
}

static void
check_id(const char *s)
{
    int64_t id = herald_api_parse_id(s);
    char back[32];

    if (id < 0)
        fail("negative id", s);
    if (id == 0)
        return;
    snprintf(back, sizeof(back), "%" PRId64, id);
    if (strcmp(back, s) != 0)
        fail("id does not read back", s);
}

static void
check_time(const char *s)
{
    int64_t ms = 0;
    int64_t again = 0;
    char buf[64];

    if (herald_api_parse_time(s, &ms) != 0)
        return;
    if (ms <= 0)
        fail("time at or before 1970 accepted", s);
    /* Within four-digit years, formatting gives a time that parses back
     * to the same instant. */
    if (ms >= 253402300800000LL)
        return;
    if (!herald_api_format_time(ms, buf, sizeof(buf)) ||
        herald_api_parse_time(buf, &again) != 0 || again != ms)
        fail("time does not read back", s);
}

/* The rules two bytes pick. */
static void
pick_rules(const uint8_t *b, struct herald_content_rules *r,
           const char **separator)
{
    static const uint32_t max_text[] = {0, 1, 280, 3000};
    static const uint32_t max_media[] = {0, 1, 4, 10};
    static const char *const separators[] = {NULL, " ", "\n\n", NULL};

    memset(r, 0, sizeof(*r));
    r->counting = (enum herald_text_count)(b[0] & 3); /* 0: unknown */
    r->url_weight = b[0] & 4 ? 23 : 0;
    r->media = (enum herald_media_rule)((b[0] >> 3) % 3);
    r->text_required = (b[0] >> 5) & 1;
    r->link_allowed = (b[0] >> 6) & 1;
    r->max_text = max_text[b[1] & 3];
    r->max_media = max_media[(b[1] >> 2) & 3];
    *separator = separators[(b[1] >> 4) & 3];
    r->link_separator = *separator;
}

/* The joined text's count must be what the check reports for both. */
static void
check_joined(const struct herald_content *c,
             const struct herald_content_rules *r, const char *sep,
             const struct herald_problem *found, size_t n)
{
    struct herald_content_rules one = *r;
    long reported = -1;
    long whole;
    char *joined;
    size_t len;
    long astral;

    if (!sep || !r->link_allowed || !c->link || !*c->link ||
        r->max_text != 1 || plain_count(c->text, &astral) < 0 ||
        plain_count(c->link, &astral) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (strcmp(found[i].rule, "text_too_long") == 0 &&
            sscanf(found[i].message, "the text with its link is %ld",
                   &reported) != 1)
            reported = -1;
    if (reported < 0)
        return;
    len = strlen(c->text) + strlen(sep) + strlen(c->link) + 1;
    joined = malloc(len);
    if (!joined)
        fail("out of memory", NULL);
    snprintf(joined, len, "%s%s%s", c->text, *c->text ? sep : "", c->link);
    one.max_text = 0;
    whole = herald_validate_text_length(joined, &one);
    if (whole != reported)
        fail("text and link counted apart differ from joined", joined);
    free(joined);
}

static void
check_content(const struct herald_content *c,
              const struct herald_content_rules *r, const char *sep)
{
    struct herald_problem found[16];
    size_t n = herald_validate_content(c, r, "Net", sep, found, 16);
    size_t none = herald_validate_content(c, r, NULL, sep, NULL, 0);

    if (n != none)
        fail("problem count depends on room", c->text);
    for (size_t i = 0; i < n && i < 16; i++) {
        if (!found[i].rule ||
            memchr(found[i].message, '\0', sizeof(found[i].message)) == NULL)
            fail("problem not filled", c->text);
    }
    check_joined(c, r, sep, found, n < 16 ? n : 16);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *fields[MAX_FIELDS] = {NULL};
    struct herald_content_rules rules;
    struct herald_content c = {0};
    const char *sep;
    size_t count = 0;
    char *text;

    if (size < 2)
        return 0;
    pick_rules(data, &rules, &sep);
    text = malloc(size - 1);
    if (!text)
        return 0;
    memcpy(text, data + 2, size - 2);
    text[size - 2] = '\0';
    for (char *p = text; count < MAX_FIELDS;) {
        fields[count++] = p;
        p += strlen(p);
        if (p == text + size - 2)
            break;
        p++;
    }

    for (size_t i = 0; i < count; i++) {
        check_lengths(fields[i]);
        check_id(fields[i]);
        check_time(fields[i]);
    }
    c.text = fields[0];
    c.link = count > 1 ? fields[1] : NULL;
    c.media = count > 2 ? fields + 2 : NULL;
    c.media_count = count > 2 ? count - 2 : 0;
    check_content(&c, &rules, sep);
    free(text);
    return 0;
}
