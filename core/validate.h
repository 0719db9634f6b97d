/*
 * validate.h - checks a post's content against one network's rules.
 *
 * The posts API calls this module when a post is created and for
 * POST /v1/posts/validate, with the struct herald_content_rules the
 * network's plugin declares. It owns how text is counted (code points,
 * UTF-16 units, or X's weighted count) and which problems a post can
 * have, each named by a stable rule code the API returns to clients.
 *
 * The module is pure: no I/O, no allocation, no globals. Every function
 * may be called from any thread, and nothing it is given is kept after it
 * returns.
 *
 * Weighted counting follows X's "twitter-text" version 3 configuration:
 * a code point weighs 1 in U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F
 * and U+2032-U+2037, and 2 everywhere else; an emoji weighs 2 however
 * many code points make it; every URL weighs url_weight. X normalizes
 * text to NFC before counting; this module counts the code points as
 * given, so text in a decomposed form (e + U+0301) may count more here
 * than on X. What is an emoji and what is a URL is described in
 * validate.c, above the functions that decide it.
 */
#ifndef HERALD_VALIDATE_H
#define HERALD_VALIDATE_H

#include <stddef.h>

#include <herald/plugin.h>

/*
 * A post's content as the API received it. Everything is borrowed for the
 * duration of the call. A NULL or empty text means no text, and a NULL
 * or empty link means no link, as the plugins read them.
 */
struct herald_content {
    const char *text;         /* UTF-8, may be NULL or "" */
    const char *link;         /* may be NULL */
    const char *const *media; /* image URLs; may be NULL when count is 0 */
    size_t media_count;       /* entries of media that are read */
};

/* One problem with a post: a stable rule code and a sentence for people. */
struct herald_problem {
    /*
     * One of "empty_post", "invalid_utf8", "text_too_long",
     * "text_required", "link_not_allowed", "invalid_link",
     * "media_not_allowed", "media_required", "too_many_media",
     * "invalid_media_url". Points to a static string.
     */
    const char *rule;
    /* Such as "the text is 291 characters; X allows 280 (every URL
     * counts as 23)". Always NUL-terminated; never quotes the content. */
    char message[256];
};

/*
 * Counts text (UTF-8, NUL-terminated; NULL counts as empty) as
 * rules->counting says: code points, UTF-16 code units, or X's weighted
 * count rounded up to whole characters, with every URL counting as
 * rules->url_weight. An unknown counting value counts code points.
 * rules is borrowed and must not be NULL.
 *
 * Returns the count, or -1 when text is not valid UTF-8 (overlong forms,
 * surrogates, code points past U+10FFFF, stray or missing continuation
 * bytes).
 */
long herald_validate_text_length(const char *text,
                                 const struct herald_content_rules *rules);

/*
 * Checks content c against rules, the rules of the network people know as
 * network (such as "X"; NULL reads "the network"), which names it in the
 * messages.
 *
 * link_separator says how the network publishes a link: NULL when the
 * link travels apart from the text; otherwise the plugin appends the link
 * to the text after link_separator (" " on X, "\n\n" on Instagram; no
 * separator when the text is empty), so the length check counts text,
 * separator and link together, and a link alone satisfies text_required.
 *
 * Writes the first max problems found into out[0..max-1] (out may be NULL
 * when max is 0) in this order: empty_post, invalid_utf8, text_too_long,
 * text_required, link_not_allowed, invalid_link, media_not_allowed,
 * media_required, too_many_media, then invalid_media_url for each bad
 * image in turn. A link or images the network refuses are not checked
 * further. max_text 0 means no length limit; max_media 0 means no count
 * limit unless media is HERALD_MEDIA_NONE.
 *
 * Returns how many problems were found: 0 when the content is valid, and
 * possibly more than max, in which case only max were written. c, rules,
 * network and link_separator are borrowed; c and rules must not be NULL.
 */
size_t herald_validate_content(const struct herald_content *c,
                               const struct herald_content_rules *rules,
                               const char *network, const char *link_separator,
                               struct herald_problem *out, size_t max);

#endif
