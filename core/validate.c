/*
 * validate.c - counting text and checking posts against content rules.
 *
 * Text is checked as UTF-8 by utf8_check() before anything counts it; the
 * counters then decode without checking again. Counts are kept in scaled
 * units (hundredths of a character for X's weighted count, whole units
 * otherwise) so that text, separator and link can be summed before the
 * one rounding at the end, which gives the count the joined text would
 * have: nothing this module recognises (a URL, an emoji) spans a
 * separator that holds white space (" ", "\n\n"), because both end there.
 *
 * Invariant: count_units() and everything it calls only ever see text
 * that utf8_check() accepted.
 */
#include "validate.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Scaled weight of a light and of a heavy code point (twitter-text v3). */
#define WEIGHT_SCALE 100
#define WEIGHT_LIGHT 100
#define WEIGHT_HEAVY 200

/* ---- UTF-8 ------------------------------------------------------------ */

/*
 * Decodes the sequence at str (NUL-terminated) into *cp. Returns its length
 * in bytes, 1 for the terminating NUL, or 0 when the bytes are not
 * well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF). Never reads past a NUL.
 */
static size_t
utf8_decode(const char *str, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char lo = 0x80; /* the second byte's range */
    unsigned char hi = 0xBF;
    size_t n;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        *cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        *cp = s[0] & 0x0F;
        lo = s[0] == 0xE0 ? 0xA0 : lo; /* overlong below U+0800 */
        hi = s[0] == 0xED ? 0x9F : hi; /* surrogates U+D800-U+DFFF */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        *cp = s[0] & 0x07;
        lo = s[0] == 0xF0 ? 0x90 : lo; /* overlong below U+10000 */
        hi = s[0] == 0xF4 ? 0x8F : hi; /* past U+10FFFF */
    } else {
        return 0;
    }

    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    return n;
}

/* Returns 0 when s is well-formed UTF-8, else -1 with the offset of the
 * first bad byte in *bad. */
static int
utf8_check(const char *s, size_t *bad)
{
    const char *p = s;
    uint32_t cp;

    while (*p) {
        size_t n = utf8_decode(p, &cp);

        if (n == 0) {
            *bad = (size_t)(p - s);
            return -1;
        }
        p += n;
    }
    return 0;
}

/* Decodes the code point at p of checked text into *cp. Returns its
 * length in bytes, 0 at the end of the text. */
static size_t
next_cp(const char *p, uint32_t *cp)
{
    if (*p == '\0')
        return 0;
    return utf8_decode(p, cp);
}

/* White space and control characters: what ends a URL in text and what
 * no URL may hold. */
static int
is_break(uint32_t cp)
{
    return cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static int
is_ascii_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/* ---- URLs in text ----------------------------------------------------- */

/* Returns the length of an "http://" or "https://" prefix of s (in any
 * case), or 0. */
static size_t
scheme_len(const char *s)
{
    if (strncasecmp(s, "http://", 7) == 0)
        return 7;
    if (strncasecmp(s, "https://", 8) == 0)
        return 8;
    return 0;
}

/* Whether a closing bracket ending [from, end) has no opening partner
 * inside it. */
static int
unbalanced(const char *from, const char *end, char close)
{
    char open = close == ')' ? '(' : close == ']' ? '[' : '{';
    long depth = 0;

    for (const char *p = from; p < end; p++) {
        if (*p == open)
            depth++;
        else if (*p == close)
            depth--;
    }
    return depth < 0;
}

/* Moves end back over the punctuation that closes a sentence rather than
 * the URL in [from, end). */
static const char *
trim_url(const char *from, const char *end)
{
    while (end > from) {
        char c = end[-1];

        if (c != '\0' && strchr(".,;:!?\"'", c))
            end--;
        else if ((c == ')' || c == ']' || c == '}') &&
                 unbalanced(from, end, c))
            end--;
        else
            break;
    }
    return end;
}

/*
 * Returns the length in bytes of the URL starting at p within checked
 * text that starts at text, or 0 when none starts there. A URL is
 * "http://" or "https://" in any case, not glued to a preceding ASCII
 * letter, digit, '@', '$' or '#' (as twitter-text requires), followed by
 * everything up to white space or a control character, less the trailing
 * .,;:!?"' and unbalanced closing brackets; at least one character must
 * remain after the scheme. A bare domain ("example.com") is not a URL
 * here, although X links some: counting it as text can only make a post
 * look longer than X counts it, never let a too long post through.
 */
static size_t
url_at(const char *text, const char *p)
{
    size_t scheme = scheme_len(p);
    const char *end;
    uint32_t cp;
    size_t n;

    if (scheme == 0)
        return 0;
    if (p > text && (is_ascii_alnum(p[-1]) || p[-1] == '@' || p[-1] == '$' ||
                     p[-1] == '#'))
        return 0;

    end = p + scheme;
    while ((n = next_cp(end, &cp)) > 0 && !is_break(cp))
        end += n;
    end = trim_url(p + scheme, end);
    return end > p + scheme ? (size_t)(end - p) : 0;
}

/* ---- emoji ------------------------------------------------------------ */

/*
 * Code points that start an emoji: the blocks U+1F000-U+1FAFF and
 * U+2600-U+27BF, the symbol blocks U+2300-U+23FF and U+2B00-U+2BFF
 * (watches, stars), and the older symbols with an emoji form. Alone, each
 * weighs what its code point weighs; it becomes one emoji of weight 2
 * only with what may follow it (see emoji_end()).
 */
static int
is_emoji_base(uint32_t cp)
{
    return (cp >= 0x1F000 && cp <= 0x1FAFF) ||
           (cp >= 0x2600 && cp <= 0x27BF) || (cp >= 0x2300 && cp <= 0x23FF) ||
           (cp >= 0x2B00 && cp <= 0x2BFF) || cp == 0x00A9 || cp == 0x00AE ||
           cp == 0x203C || cp == 0x2049 || cp == 0x2122 || cp == 0x2139 ||
           (cp >= 0x2194 && cp <= 0x2199) || cp == 0x21A9 || cp == 0x21AA ||
           cp == 0x3030 || cp == 0x303D || cp == 0x3297 || cp == 0x3299;
}

/* What may follow an emoji base within the same emoji: the emoji
 * presentation selector, skin tones, tags (subdivision flags) and the
 * keycap mark. */
static int
is_emoji_modifier(uint32_t cp)
{
    return cp == 0xFE0F || (cp >= 0x1F3FB && cp <= 0x1F3FF) ||
           (cp >= 0xE0020 && cp <= 0xE007F) || cp == 0x20E3;
}

static int
is_regional_indicator(uint32_t cp)
{
    return cp >= 0x1F1E6 && cp <= 0x1F1FF;
}

/* Returns the end of the modifiers and zero-width-joined bases that
 * follow an emoji base ending at p; p itself when none do. */
static const char *
emoji_end(const char *p)
{
    uint32_t cp;
    uint32_t joined;
    size_t n;
    size_t m;

    while ((n = next_cp(p, &cp)) > 0) {
        if (is_emoji_modifier(cp)) {
            p += n;
            continue;
        }
        if (cp != 0x200D)
            break;
        m = next_cp(p + n, &joined);
        if (m == 0 || !is_emoji_base(joined))
            break;
        p += n + m;
    }
    return p;
}

/* Returns the end of a keycap ([0-9#*], an optional U+FE0F, U+20E3)
 * whose first character ends at p, or NULL when none follows. */
static const char *
keycap_end(const char *p)
{
    uint32_t cp;
    size_t n = next_cp(p, &cp);

    if (n > 0 && cp == 0xFE0F) {
        p += n;
        n = next_cp(p, &cp);
    }
    return n > 0 && cp == 0x20E3 ? p + n : NULL;
}

/* ---- counting --------------------------------------------------------- */

/* Scaled weight of one code point on X: the twitter-text v3 ranges. */
static uint64_t
cp_weight(uint32_t cp)
{
    if (cp <= 0x10FF || (cp >= 0x2000 && cp <= 0x200D) ||
        (cp >= 0x2010 && cp <= 0x201F) || (cp >= 0x2032 && cp <= 0x2037))
        return WEIGHT_LIGHT;
    return WEIGHT_HEAVY;
}

/* Weighs the character or emoji at *p of checked text, moving *p past
 * it. Returns its scaled weight. */
static uint64_t
weigh_unit(const char **p)
{
    uint32_t cp;
    uint32_t next;
    size_t n = next_cp(*p, &cp);
    const char *after = *p + n;
    const char *end;
    size_t m;

    *p = after;
    if (is_regional_indicator(cp)) {
        m = next_cp(after, &next);
        if (m > 0 && is_regional_indicator(next)) {
            *p = after + m;
            return WEIGHT_HEAVY;
        }
    }
    if ((cp >= '0' && cp <= '9') || cp == '#' || cp == '*') {
        end = keycap_end(after);
        if (end) {
            *p = end;
            return WEIGHT_HEAVY;
        }
    }
    if (is_emoji_base(cp)) {
        end = emoji_end(after);
        if (end != after) {
            *p = end;
            return WEIGHT_HEAVY;
        }
    }
    return cp_weight(cp);
}

/* Scaled weighted count of checked text, every URL weighing url_weight. */
static uint64_t
weigh_text(const char *text, uint32_t url_weight)
{
    const char *p = text;
    uint64_t weight = 0;

    while (*p) {
        size_t url = url_at(text, p);

        if (url > 0) {
            weight += (uint64_t)url_weight * WEIGHT_SCALE;
            p += url;
        } else {
            weight += weigh_unit(&p);
        }
    }
    return weight;
}

/* Scaled count of checked text as rules->counting says. */
static uint64_t
count_units(const char *text, const struct herald_content_rules *rules)
{
    const char *p = text;
    uint64_t units = 0;
    uint32_t cp;
    size_t n;

    if (rules->counting == HERALD_COUNT_WEIGHTED)
        return weigh_text(text, rules->url_weight);
    while (*p) {
        size_t url =
            rules->counting == HERALD_COUNT_CODEPOINTS && rules->url_weight > 0
                ? url_at(text, p)
                : 0;

        if (url > 0) {
            units += rules->url_weight;
            p += url;
            continue;
        }
        if ((n = next_cp(p, &cp)) == 0)
            break;
        units += rules->counting == HERALD_COUNT_UTF16 && cp > 0xFFFF ? 2 : 1;
        p += n;
    }
    return units;
}

/* Turns a scaled count into characters, rounding up. */
static long
to_chars(uint64_t units, const struct herald_content_rules *rules)
{
    if (rules->counting == HERALD_COUNT_WEIGHTED)
        units = (units + WEIGHT_SCALE - 1) / WEIGHT_SCALE;
    return units > LONG_MAX ? LONG_MAX : (long)units;
}

long
herald_validate_text_length(const char *text,
                            const struct herald_content_rules *rules)
{
    size_t bad;

    if (!text)
        return 0;
    if (utf8_check(text, &bad) < 0)
        return -1;
    return to_chars(count_units(text, rules), rules);
}

/* ---- URLs as values --------------------------------------------------- */

/* Why the port digits in [p, end) are not a port, or NULL. */
static const char *
port_fault(const char *p, const char *end)
{
    long port = 0;

    if (p == end || end - p > 5)
        return "its port is not a number from 1 to 65535";
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return "its port is not a number from 1 to 65535";
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535
               ? NULL
               : "its port is not a number from 1 to 65535";
}

/* Why the bracketed IPv6 host starting at host is not one, or NULL; on
 * success *after is the byte after ']'. */
static const char *
ipv6_fault(const char *host, const char *end, const char **after)
{
    const char *close = memchr(host, ']', (size_t)(end - host));

    if (!close || close == host + 1)
        return "its host is not valid";
    for (const char *p = host + 1; p < close; p++) {
        if (!is_ascii_alnum(*p) && *p != ':' && *p != '.')
            return "its host is not valid";
    }
    *after = close + 1;
    return NULL;
}

/*
 * Why the authority [host, end) (user information already removed) has
 * no usable host, or NULL. A name may hold ASCII letters, digits, '-',
 * '_', '.' and any non-ASCII character (internationalized names), must
 * not start with '.' and holds no empty label.
 */
static const char *
host_fault(const char *host, const char *end)
{
    const char *port;
    const char *err;

    if (*host == '[') {
        err = ipv6_fault(host, end, &port);
        if (err)
            return err;
        if (port < end && *port != ':')
            return "its host is not valid";
    } else {
        port = memchr(host, ':', (size_t)(end - host));
        port = port ? port : end;
        if (port == host)
            return "it has no host";
        if (*host == '.')
            return "its host is not valid";
        for (const char *p = host; p < port; p++) {
            if (!is_ascii_alnum(*p) && *p != '-' && *p != '_' && *p != '.' &&
                (unsigned char)*p < 0x80)
                return "its host is not valid";
            if (*p == '.' && p + 1 < port && p[1] == '.')
                return "its host is not valid";
        }
    }
    return port < end ? port_fault(port + 1, end) : NULL;
}

/*
 * Why url is not an http(s) URL with a host and without white space or
 * control characters, or NULL when it is one. Past the host, anything
 * printable is accepted: the network is the judge of paths.
 */
static const char *
url_fault(const char *url)
{
    const char *p;
    const char *host;
    const char *end;
    uint32_t cp;
    size_t n;

    if (!url || !*url)
        return "it is empty";
    if (utf8_check(url, &n) < 0)
        return "it is not valid UTF-8";
    for (p = url; (n = next_cp(p, &cp)) > 0; p += n) {
        if (is_break(cp))
            return "it contains a space or control character";
    }
    if (scheme_len(url) == 0)
        return "it does not start with http:// or https://";

    host = url + scheme_len(url);
    end = host + strcspn(host, "/?#");
    for (p = end; p > host; p--) {
        if (p[-1] == '@') {
            host = p;
            break;
        }
    }
    if (host == end)
        return "it has no host";
    return host_fault(host, end);
}

/* ---- checking a post -------------------------------------------------- */

/* The problems found so far and where the first max of them go. */
struct report {
    struct herald_problem *out;
    size_t max;
    size_t found;
};

/* Records one problem, writing it out while there is room. */
static void add(struct report *rep, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add(struct report *rep, const char *rule, const char *fmt, ...)
{
    struct herald_problem *p;
    va_list ap;

    if (rep->found < rep->max) {
        p = &rep->out[rep->found];
        p->rule = rule;
        va_start(ap, fmt);
        vsnprintf(p->message, sizeof(p->message), fmt, ap);
        va_end(ap);
    }
    rep->found++;
}

static const char *
images(size_t n)
{
    return n == 1 ? "image" : "images";
}

/* Reports text longer than rules allow; units is its scaled count. */
static void
check_length(struct report *rep, uint64_t units, int with_link,
             const struct herald_content_rules *rules, const char *network)
{
    long chars = to_chars(units, rules);
    char how[64] = "";

    if (rules->max_text == 0 || chars <= (long)rules->max_text)
        return;
    if (rules->counting == HERALD_COUNT_WEIGHTED ||
        (rules->counting == HERALD_COUNT_CODEPOINTS && rules->url_weight > 0))
        snprintf(how, sizeof(how), " (every URL counts as %u)",
                 (unsigned)rules->url_weight);
    else if (rules->counting == HERALD_COUNT_UTF16)
        snprintf(how, sizeof(how), " (counting UTF-16 code units)");
    add(rep, "text_too_long", "the %s %ld characters; %s allows %u%s",
        with_link ? "text with its link is" : "text is", chars, network,
        (unsigned)rules->max_text, how);
}

/* Checks the text: its encoding, its length (with the link when the
 * network appends it) and its presence. */
static void
check_text(struct report *rep, const struct herald_content *c,
           const struct herald_content_rules *rules, const char *network,
           const char *link_separator)
{
    const char *text = c->text ? c->text : "";
    int joins = link_separator && rules->link_allowed && c->link && *c->link;
    uint64_t units;
    size_t bad;

    if (utf8_check(text, &bad) < 0) {
        add(rep, "invalid_utf8", "the text is not valid UTF-8 (at byte %zu)",
            bad);
        return;
    }

    /* A link that cannot be counted is reported by check_link(). */
    units = count_units(text, rules);
    if (joins && utf8_check(c->link, &bad) == 0 &&
        utf8_check(link_separator, &bad) == 0)
        units += (*text ? count_units(link_separator, rules) : 0) +
                 count_units(c->link, rules);
    check_length(rep, units, joins, rules, network);

    if (rules->text_required && !*text && !joins)
        add(rep, "text_required",
            link_separator && rules->link_allowed ? "%s needs text or a link"
                                                  : "%s needs text",
            network);
}

/* Checks the separate link: allowed, and a URL. */
static void
check_link(struct report *rep, const struct herald_content *c,
           const struct herald_content_rules *rules, const char *network)
{
    const char *fault;

    if (!c->link || !*c->link)
        return;
    if (!rules->link_allowed) {
        add(rep, "link_not_allowed",
            "%s allows no separate link; put it in the text", network);
        return;
    }
    fault = url_fault(c->link);
    if (fault)
        add(rep, "invalid_link", "the link is not a valid URL: %s", fault);
}

/* Checks the images: allowed, required, how many, and each a URL. */
static void
check_media(struct report *rep, const struct herald_content *c,
            const struct herald_content_rules *rules, const char *network)
{
    size_t n = c->media_count;
    const char *fault;

    if (rules->media == HERALD_MEDIA_NONE) {
        if (n > 0)
            add(rep, "media_not_allowed",
                "the post has %zu %s; %s allows none", n, images(n), network);
        return;
    }
    if (rules->media == HERALD_MEDIA_REQUIRED && n == 0)
        add(rep, "media_required", "%s needs at least one image", network);
    if (rules->max_media > 0 && n > rules->max_media)
        add(rep, "too_many_media", "the post has %zu %s; %s allows %u", n,
            images(n), network, (unsigned)rules->max_media);

    for (size_t i = 0; i < n; i++) {
        fault = url_fault(c->media ? c->media[i] : NULL);
        if (fault)
            add(rep, "invalid_media_url", "image %zu is not a valid URL: %s",
                i + 1, fault);
    }
}

size_t
herald_validate_content(const struct herald_content *c,
                        const struct herald_content_rules *rules,
                        const char *network, const char *link_separator,
                        struct herald_problem *out, size_t max)
{
    struct report rep = {out, out ? max : 0, 0};
    const char *name = network ? network : "the network";

    if ((!c->text || !*c->text) && (!c->link || !*c->link) &&
        c->media_count == 0)
        add(&rep, "empty_post", "the post has no text, link or image");
    check_text(&rep, c, rules, name, link_separator);
    check_link(&rep, c, rules, name);
    check_media(&rep, c, rules, name);
    return rep.found;
}
