/*
 * test_validate.c - text counts and post problems from core/validate.c.
 *
 * The counts are a table: a text and what it must count as code points,
 * as UTF-16 units and on X, each worked out by hand from the code points
 * in the comment beside it. The problems are checked with their exact
 * messages, since clients show them to people.
 */
#include <string.h>

#include "check.h"
#include "validate.h"

static const struct herald_content_rules cp_rules = {
    .counting = HERALD_COUNT_CODEPOINTS,
};

static const struct herald_content_rules utf16_rules = {
    .counting = HERALD_COUNT_UTF16,
};

/* As the X plugin declares them. */
static const struct herald_content_rules x_rules = {
    .max_text = 280,
    .counting = HERALD_COUNT_WEIGHTED,
    .url_weight = 23,
    .media = HERALD_MEDIA_NONE,
    .text_required = 1,
    .link_allowed = 1,
};

static const struct herald_content_rules fb_rules = {
    .max_text = 63206,
    .counting = HERALD_COUNT_CODEPOINTS,
    .media = HERALD_MEDIA_ALLOWED,
    .max_media = 1,
    .link_allowed = 1,
};

static const struct herald_content_rules ig_rules = {
    .max_text = 2200,
    .counting = HERALD_COUNT_CODEPOINTS,
    .media = HERALD_MEDIA_REQUIRED,
    .max_media = 1,
    .link_allowed = 1,
};

static const struct herald_content_rules li_rules = {
    .max_text = 3000,
    .counting = HERALD_COUNT_CODEPOINTS,
    .media = HERALD_MEDIA_ALLOWED,
    .max_media = 1,
    .text_required = 1,
    .link_allowed = 1,
};

struct count_case {
    const char *text;
    long codepoints;
    long utf16;
    long weighted;
};

static const struct count_case counts[] = {
    {"", 0, 0, 0},
    {"hello, world", 12, 12, 12},
    /* precomposed U+00E9, U+00E0: Latin weighs 1 */
    {u8"caf\u00e9 d\u00e9j\u00e0 vu", 12, 12, 12},
    /* e + U+0301 combining acute: counted as given, not NFC */
    {u8"e\u0301", 2, 2, 2},
    /* the light ranges' edges: U+10FF, U+1100, U+2013, U+2026, U+2032 */
    {u8"\u10ff", 1, 1, 1},
    {u8"\u1100", 1, 1, 2},
    {u8"\u2013\u2026\u2032\u2038", 4, 4, 6},
    /* CJK */
    {u8"\u65e5\u672c\u8a9e", 3, 3, 6},
    {u8"Hello \u4e16\u754c", 8, 8, 10},
    /* U+1F600 */
    {u8"\U0001F600", 1, 2, 2},
    {u8"a\U0001F600b\U0001F600\U0001F600", 5, 8, 8},
    /* family: man ZWJ woman ZWJ girl ZWJ boy */
    {u8"\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466", 7, 11, 2},
    /* thumbs up, medium skin tone */
    {u8"\U0001F44D\U0001F3FD", 2, 4, 2},
    /* woman, skin tone, ZWJ, laptop */
    {u8"\U0001F469\U0001F3FD\u200D\U0001F4BB", 4, 7, 2},
    /* heavy heart U+2764 with and without U+FE0F */
    {u8"\u2764\uFE0F", 2, 2, 2},
    {u8"\u2764", 1, 1, 2},
    /* (c) weighs 1 alone and 2 as an emoji */
    {u8"\u00A9", 1, 1, 1},
    {u8"\u00A9\uFE0F", 2, 2, 2},
    /* two flags, then three regional indicators */
    {u8"\U0001F1EB\U0001F1F7\U0001F1E9\U0001F1EA", 4, 8, 4},
    {u8"\U0001F1EB\U0001F1F7\U0001F1E9", 3, 6, 4},
    /* keycaps, with and without U+FE0F; plain digits */
    {u8"1\uFE0F\u20E3#\u20E3", 5, 5, 4},
    {"12", 2, 2, 2},
    /* England: black flag and tags */
    {u8"\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067"
     u8"\U000E007F",
     7, 14, 2},
    /* a ZWJ not followed by an emoji is a character of its own */
    {u8"\U0001F600\u200Da", 3, 4, 4},
    {u8"\U0001F468\u200D", 2, 3, 3},
    /* an astral character that is not an emoji: U+1D11E */
    {u8"\U0001D11E", 1, 2, 2},
    /* URLs weigh 23 on X whatever their length */
    {"https://example.com", 19, 19, 23},
    {"http://a.example", 16, 16, 23},
    {"HTTPS://EXAMPLE.COM/A", 21, 21, 23},
    {"see https://example.com/a/rather/long/path/that/goes/on?q=1&r=2", 63, 63,
     27},
    {"https://a.example/1 and https://b.example/2", 43, 43, 51},
    /* bare domains and a lone scheme are text */
    {"example.com", 11, 11, 11},
    {"https://", 8, 8, 8},
    {"https://.", 9, 9, 9},
    /* a scheme glued to a letter, '@', '$' or '#' starts no URL */
    {"xhttps://a.example", 18, 18, 18},
    {"#https://a.example", 18, 18, 18},
    /* after CJK a URL may start at once */
    {u8"\u898b\u3066https://example.com", 21, 21, 27},
    /* trailing punctuation is not part of the URL */
    {"https://example.com.", 20, 20, 24},
    {"https://example.com/a?!", 23, 23, 25},
    {"\"https://example.com/\"", 22, 22, 25},
    {"(https://example.com)", 21, 21, 25},
    {"https://example.com/a).", 23, 23, 25},
    {"https://example.com/a',;:", 25, 25, 27},
    {"https://example.com/a]", 22, 22, 24},
    /* balanced brackets belong to it */
    {"https://en.wikipedia.org/wiki/Foo_(bar)", 39, 39, 23},
    {"(https://en.wikipedia.org/wiki/Foo_(bar))", 41, 41, 25},
    /* a URL ends at white space, a control character or U+3000 */
    {"https://example.com\nhi", 22, 22, 26},
    {u8"https://example.com\u3000x", 21, 21, 26},
    /* non-space characters after the host stay in the URL */
    {u8"https://example.com/\u65e5\u672c", 22, 22, 23},
};

/* Checks every count of the table under the three ways of counting. */
static void
test_counts(void)
{
    size_t n = sizeof(counts) / sizeof(counts[0]);

    for (size_t i = 0; i < n; i++) {
        const struct count_case *k = &counts[i];
        long cp = herald_validate_text_length(k->text, &cp_rules);
        long u16 = herald_validate_text_length(k->text, &utf16_rules);
        long w = herald_validate_text_length(k->text, &x_rules);

        CHECK(cp == k->codepoints);
        CHECK(u16 == k->utf16);
        CHECK(w == k->weighted);
        if (cp != k->codepoints || u16 != k->utf16 || w != k->weighted)
            fprintf(stderr,
                    "  case %zu \"%s\": %ld %ld %ld, want %ld %ld %ld\n", i,
                    k->text, cp, u16, w, k->codepoints, k->utf16, k->weighted);
    }

    CHECK(herald_validate_text_length(NULL, &x_rules) == 0);
}

/* An unknown way of counting counts code points. */
static void
test_unknown_counting(void)
{
    struct herald_content_rules r = {.counting = (enum herald_text_count)99};

    CHECK(herald_validate_text_length(u8"\U0001F600\u4e16", &r) == 2);
}

static const char *const bad_utf8[] = {
    "\xC0\xAF",         /* overlong '/' */
    "\xE0\x80\xAF",     /* overlong, three bytes */
    "\xF0\x80\x80\xAF", /* overlong, four bytes */
    "\x80",             /* lone continuation */
    "ab\xBF",           /* lone continuation at the end */
    "\xE6\x97",         /* truncated at the end */
    "\xE6\x97\x61",     /* truncated before an 'a' */
    "\xF0\x9F\x98",     /* truncated emoji */
    "\xED\xA0\x80",     /* high surrogate U+D800 */
    "\xED\xBF\xBF",     /* low surrogate U+DFFF */
    "\xF4\x90\x80\x80", /* U+110000 */
    "\xF5\x80\x80\x80", /* lead byte past U+10FFFF */
    "\xFF",             /* never valid */
};

/* Invalid UTF-8 counts as -1 and is the invalid_utf8 problem. */
static void
test_invalid_utf8(void)
{
    size_t n = sizeof(bad_utf8) / sizeof(bad_utf8[0]);
    struct herald_problem p[4];
    struct herald_content c = {0};

    for (size_t i = 0; i < n; i++) {
        CHECK(herald_validate_text_length(bad_utf8[i], &cp_rules) == -1);
        CHECK(herald_validate_text_length(bad_utf8[i], &utf16_rules) == -1);
        CHECK(herald_validate_text_length(bad_utf8[i], &x_rules) == -1);
        c.text = bad_utf8[i];
        CHECK(herald_validate_content(&c, &li_rules, "LinkedIn", NULL, p, 4) ==
              1);
        CHECK_STR(p[0].rule, "invalid_utf8");
    }

    c.text = "abc\xE6\x97\x64"; /* "abc", two bytes of three, "d" */
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 4) == 1);
    CHECK_STR(p[0].rule, "invalid_utf8");
    CHECK_STR(p[0].message, "the text is not valid UTF-8 (at byte 3)");

    /* the largest code point and the last before the surrogates pass */
    CHECK(herald_validate_text_length("\xF4\x8F\xBF\xBF", &utf16_rules) == 2);
    CHECK(herald_validate_text_length("\xED\x9F\xBF", &cp_rules) == 1);
}

/* Fills buf with n copies of c and a NUL. */
static char *
repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* Two long URLs count 23 each: 280 is exactly the limit, 281 is over. */
static void
test_x_limit(void)
{
    static const char url1[] = "https://example.com/articles/2026/12/"
                               "a-rather-long-slug-for-an-article";
    static const char url2[] =
        "https://cdn.example.net/some/deep/path/to/a/resource"
        "?with=query&and=more&and=even-more&utm_source=herald"
        "&utm_medium=social";
    char a[300];
    char b[300];
    char text[1024];
    struct herald_problem p[2];
    struct herald_content c = {text, NULL, NULL, 0};

    /* 200 + 1 + 23 + 1 + 23 + 1 + 31 = 280 */
    snprintf(text, sizeof(text), "%s %s %s %s", repeat(a, 'a', 200), url1,
             url2, repeat(b, 'b', 31));
    CHECK(strlen(text) > 280);
    CHECK(herald_validate_text_length(text, &x_rules) == 280);
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 0);

    snprintf(text, sizeof(text), "%s %s %s %s", repeat(a, 'a', 200), url1,
             url2, repeat(b, 'b', 32));
    CHECK(herald_validate_text_length(text, &x_rules) == 281);
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 1);
    CHECK_STR(p[0].rule, "text_too_long");
    CHECK_STR(p[0].message, "the text is 281 characters; X allows 280 "
                            "(every URL counts as 23)");

    /* 140 CJK characters weigh 280 */
    text[0] = '\0';
    for (int i = 0; i < 140; i++)
        strcat(text, u8"\u4e16");
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 0);
    strcat(text, "!");
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 1);
    CHECK_STR(p[0].message, "the text is 281 characters; X allows 280 "
                            "(every URL counts as 23)");
}

/* A link the network appends is counted with the text and separator. */
static void
test_link_in_text(void)
{
    char text[300];
    struct herald_problem p[2];
    struct herald_content c = {text, "https://example.com/a/long/link/path",
                               NULL, 0};

    /* 256 + 1 + 23 = 280 */
    repeat(text, 'a', 256);
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 0);
    repeat(text, 'a', 257);
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 1);
    CHECK_STR(p[0].rule, "text_too_long");
    CHECK_STR(p[0].message, "the text with its link is 281 characters; "
                            "X allows 280 (every URL counts as 23)");

    /* kept apart, the link does not count */
    CHECK(herald_validate_content(&c, &x_rules, "X", NULL, p, 2) == 0);

    /* a link's trailing '.' is text once joined: 255 + 1 + 23 + 1 */
    c.link = "https://example.com/a.";
    repeat(text, 'a', 255);
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 0);
    repeat(text, 'a', 256);
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 1);

    /* no text: the link alone is the text, with no separator */
    c.text = "";
    c.link = "https://example.com/";
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 2) == 0);
    CHECK(herald_validate_content(&c, &x_rules, "X", NULL, p, 2) == 1);
    CHECK_STR(p[0].rule, "text_required");
    CHECK_STR(p[0].message, "X needs text");

    /* a longer separator, counted in code points: 2190 + 2 + 8 */
    {
        static char long_text[2200];
        struct herald_content_rules r = ig_rules;
        const char *media[] = {"https://img.example/1.jpg", NULL};
        struct herald_content ig = {long_text, "https://", media, 1};

        repeat(long_text, 'x', 2190);
        CHECK(herald_validate_content(&ig, &r, "Instagram", "\n\n", p, 2) ==
              1);
        CHECK_STR(p[0].rule, "invalid_link");
        ig.link = "http://x";
        CHECK(herald_validate_content(&ig, &r, "Instagram", "\n\n", p, 2) ==
              0);
        ig.link = "http://xy";
        CHECK(herald_validate_content(&ig, &r, "Instagram", "\n\n", p, 2) ==
              1);
        CHECK_STR(p[0].message, "the text with its link is 2201 characters; "
                                "Instagram allows 2200");
    }
}

/* Runs the check and expects exactly one problem, rule and message. */
static void
expect_one(const struct herald_content *c,
           const struct herald_content_rules *r, const char *network,
           const char *sep, const char *rule, const char *message)
{
    struct herald_problem p[4];
    size_t n = herald_validate_content(c, r, network, sep, p, 4);

    CHECK(n == 1);
    if (n != 1) {
        fprintf(stderr, "  %zu problems, want 1 (%s)\n", n, rule);
        for (size_t i = 0; i < n && i < 4; i++)
            fprintf(stderr, "  %s: %s\n", p[i].rule, p[i].message);
        return;
    }
    CHECK_STR(p[0].rule, rule);
    CHECK_STR(p[0].message, message);
}

/* Each rule on its own, with its message. */
static void
test_rules(void)
{
    const char *one[] = {"https://img.example/1.jpg", NULL};
    const char *two[] = {"https://img.example/1.jpg",
                         "https://img.example/2.jpg", NULL};
    struct herald_content_rules utf16_10 = {
        .max_text = 10,
        .counting = HERALD_COUNT_UTF16,
        .media = HERALD_MEDIA_ALLOWED,
    };
    struct herald_content c = {0};

    expect_one(&c, &fb_rules, "Facebook", NULL, "empty_post",
               "the post has no text, link or image");

    c.text = "";
    c.media = one;
    c.media_count = 1;
    expect_one(&c, &li_rules, "LinkedIn", NULL, "text_required",
               "LinkedIn needs text");
    expect_one(&c, &li_rules, NULL, NULL, "text_required",
               "the network needs text");
    c.media = NULL;
    c.media_count = 0;
    c.link = "https://example.com/";
    expect_one(&c, &x_rules, "X", NULL, "text_required", "X needs text");

    c.text = u8"0123456789\U0001F600";
    c.link = NULL;
    expect_one(&c, &utf16_10, "Test", NULL, "text_too_long",
               "the text is 12 characters; Test allows 10 (counting UTF-16 "
               "code units)");
    c.text = u8"012345678\U0001F600";
    CHECK(herald_validate_content(&c, &utf16_10, "Test", NULL, NULL, 0) == 1);

    {
        static char li_text[3002];
        struct herald_content li = {repeat(li_text, 'l', 3001), NULL, NULL, 0};

        expect_one(&li, &li_rules, "LinkedIn", NULL, "text_too_long",
                   "the text is 3001 characters; LinkedIn allows 3000");
        li_text[3000] = '\0';
        CHECK(herald_validate_content(&li, &li_rules, "LinkedIn", NULL, NULL,
                                      0) == 0);
    }

    c.text = "hello";
    c.link = "https://example.com/";
    {
        struct herald_content_rules no_link = fb_rules;

        no_link.link_allowed = 0;
        expect_one(&c, &no_link, "Test", NULL, "link_not_allowed",
                   "Test allows no separate link; put it in the text");
        /* refused, the link is neither checked nor counted */
        c.link = "not a link";
        expect_one(&c, &no_link, "Test", " ", "link_not_allowed",
                   "Test allows no separate link; put it in the text");
    }
    c.link = "ftp://example.com/";
    expect_one(&c, &fb_rules, "Facebook", NULL, "invalid_link",
               "the link is not a valid URL: it does not start with http:// "
               "or https://");
    c.link = NULL;

    c.media = one;
    c.media_count = 1;
    expect_one(&c, &x_rules, "X", " ", "media_not_allowed",
               "the post has 1 image; X allows none");
    c.media = two;
    c.media_count = 2;
    expect_one(&c, &x_rules, "X", " ", "media_not_allowed",
               "the post has 2 images; X allows none");
    expect_one(&c, &fb_rules, "Facebook", NULL, "too_many_media",
               "the post has 2 images; Facebook allows 1");

    c.media = NULL;
    c.media_count = 0;
    expect_one(&c, &ig_rules, "Instagram", "\n\n", "media_required",
               "Instagram needs at least one image");

    {
        const char *bad[] = {"https://img.example/1.jpg", "https:///x.jpg",
                             NULL};
        struct herald_content_rules two_ok = fb_rules;

        two_ok.max_media = 2;
        c.media = bad;
        c.media_count = 2;
        expect_one(&c, &two_ok, "Facebook", NULL, "invalid_media_url",
                   "image 2 is not a valid URL: it has no host");
    }
}

/* Every problem at once comes in the documented order; only max are
 * written, but all are counted. */
static void
test_many_problems(void)
{
    const char *media[] = {"https://img.example/1.jpg", "bad", NULL};
    struct herald_content_rules r = {
        .max_text = 5,
        .counting = HERALD_COUNT_CODEPOINTS,
        .media = HERALD_MEDIA_ALLOWED,
        .max_media = 1,
        .link_allowed = 1,
    };
    /* media_count 3 reads a missing third image */
    struct herald_content c = {"too long", "nope", media, 3};
    struct herald_problem p[8];
    static const char *const rules[] = {"text_too_long", "invalid_link",
                                        "too_many_media", "invalid_media_url",
                                        "invalid_media_url"};

    CHECK(herald_validate_content(&c, &r, "Test", NULL, p, 8) == 5);
    for (size_t i = 0; i < 5; i++)
        CHECK_STR(p[i].rule, rules[i]);
    CHECK_STR(p[3].message, "image 2 is not a valid URL: it does not start "
                            "with http:// or https://");
    CHECK_STR(p[4].message, "image 3 is not a valid URL: it is empty");

    memset(p, 0, sizeof(p));
    CHECK(herald_validate_content(&c, &r, "Test", NULL, p, 2) == 5);
    CHECK_STR(p[0].rule, "text_too_long");
    CHECK_STR(p[1].rule, "invalid_link");
    CHECK(p[2].rule == NULL && p[2].message[0] == '\0');

    CHECK(herald_validate_content(&c, &r, "Test", NULL, NULL, 0) == 5);
    CHECK(herald_validate_content(&c, &r, "Test", NULL, NULL, 3) == 5);

    /* an empty post on Instagram: empty, and an image is needed */
    memset(&c, 0, sizeof(c));
    CHECK(herald_validate_content(&c, &ig_rules, "Instagram", "\n\n", p, 8) ==
          2);
    CHECK_STR(p[0].rule, "empty_post");
    CHECK_STR(p[1].rule, "media_required");
    CHECK(herald_validate_content(&c, &x_rules, "X", " ", p, 8) == 2);
    CHECK_STR(p[0].rule, "empty_post");
    CHECK_STR(p[1].rule, "text_required");
    CHECK_STR(p[1].message, "X needs text or a link");
}

/* max_text 0 and max_media 0 (with media allowed) mean no limit. */
static void
test_limits_off(void)
{
    static char big[100001];
    const char *media[11];
    struct herald_content_rules r = {
        .counting = HERALD_COUNT_WEIGHTED,
        .url_weight = 23,
        .media = HERALD_MEDIA_ALLOWED,
        .text_required = 1,
        .link_allowed = 1,
    };
    struct herald_content c = {repeat(big, 'z', 100000), NULL, media, 10};

    for (int i = 0; i < 10; i++)
        media[i] = "https://img.example/x.png";
    media[10] = NULL;
    CHECK(herald_validate_content(&c, &r, "Test", " ", NULL, 0) == 0);
    CHECK(herald_validate_text_length(big, &r) == 100000);
}

struct url_case {
    const char *url;
    const char *fault; /* NULL: valid */
};

static const struct url_case urls[] = {
    {"https://example.com", NULL},
    {"http://example.com/a/b?c=d#e", NULL},
    {"HTTPS://EXAMPLE.COM/", NULL},
    {"https://example.com:8443/x", NULL},
    {"https://user:secret@example.com/", NULL},
    {"https://[2001:db8::1]:8080/img.png", NULL},
    {"https://my_host.example/", NULL},
    {u8"https://b\u00fccher.example/", NULL},
    {"https://example.com?q", NULL},
    {"", "it is empty"},
    {"example.com/a.jpg", "it does not start with http:// or https://"},
    {"ftp://example.com/", "it does not start with http:// or https://"},
    {"https:/example.com", "it does not start with http:// or https://"},
    {"https://", "it has no host"},
    {"https:///path", "it has no host"},
    {"https://user@/path", "it has no host"},
    {"https://:80/", "it has no host"},
    {"https://example .com/", "it contains a space or control character"},
    {"https://example.com/a b", "it contains a space or control character"},
    {"https://example.com/\t", "it contains a space or control character"},
    {"https://example.com/\x01", "it contains a space or control character"},
    {u8"https://example.com/\u00a0", "it contains a space or control "
                                     "character"},
    {"https://example.com/\xC0\xAF", "it is not valid UTF-8"},
    {"https://exa<mple.com/", "its host is not valid"},
    {"https://example..com/", "its host is not valid"},
    {"https://.example.com/", "its host is not valid"},
    {"https://[]/", "its host is not valid"},
    {"https://[::1/", "its host is not valid"},
    {"https://[::1]x/", "its host is not valid"},
    {"https://example.com:/", "its port is not a number from 1 to 65535"},
    {"https://example.com:0/", "its port is not a number from 1 to 65535"},
    {"https://example.com:65536/", "its port is not a number from 1 to "
                                   "65535"},
    {"https://example.com:123456/", "its port is not a number from 1 to "
                                    "65535"},
    {"https://example.com:8a/", "its port is not a number from 1 to 65535"},
};

/* Links and image URLs are checked alike. */
/* Code points, but every URL as url_weight: Mastodon's count. */
static void
test_codepoints_with_url_weight(void)
{
    struct herald_content_rules r = {
        .max_text = 30,
        .counting = HERALD_COUNT_CODEPOINTS,
        .url_weight = 23,
        .link_allowed = 1,
    };
    struct herald_content c = {0};
    struct herald_problem p[2];

    /* CJK and emoji count 1 each, unlike X's weighted count. */
    CHECK(herald_validate_text_length("\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x98"
                                      "\x80",
                                      &r) == 3);
    CHECK(herald_validate_text_length("see https://example.com/a/very/long/"
                                      "path/indeed ok",
                                      &r) == 4 + 23 + 3);
    /* Without a url_weight a URL is its characters. */
    r.url_weight = 0;
    CHECK(herald_validate_text_length("https://example.com/abcdefghijklmnop"
                                      "qrstuvwxyz0123456789",
                                      &r) == 56);
    r.url_weight = 23;
    /* A link appended to the text counts 23 too. */
    c.text = "1234567";
    c.link = "https://example.com/a/very/long/path/that/is/long";
    CHECK(herald_validate_content(&c, &r, "Mastodon", " ", p, 2) == 1);
    CHECK_CONTAINS(p[0].message, "31 characters");
    CHECK_CONTAINS(p[0].message, "every URL counts as 23");
    c.text = "123456";
    CHECK(herald_validate_content(&c, &r, "Mastodon", " ", p, 2) == 0);
}

static void
test_urls(void)
{
    size_t n = sizeof(urls) / sizeof(urls[0]);
    struct herald_content_rules r = fb_rules;

    r.max_media = 0;
    for (size_t i = 0; i < n; i++) {
        struct herald_content link = {"hi", urls[i].url, NULL, 0};
        const char *media[] = {urls[i].url, NULL};
        struct herald_content image = {"hi", NULL, media, 1};
        struct herald_problem p[2];
        char want[256];
        size_t got;

        got = herald_validate_content(&link, &r, "Test", NULL, p, 2);
        if (!urls[i].fault) {
            CHECK(got == 0);
            if (got != 0)
                fprintf(stderr, "  \"%s\": %s\n", urls[i].url, p[0].message);
            got = herald_validate_content(&image, &r, "Test", NULL, p, 2);
            CHECK(got == 0);
            continue;
        }
        /* an empty link is no link */
        if (urls[i].url[0]) {
            snprintf(want, sizeof(want), "the link is not a valid URL: %s",
                     urls[i].fault);
            CHECK(got == 1);
            CHECK_STR(p[0].rule, "invalid_link");
            CHECK_STR(p[0].message, want);
        } else {
            CHECK(got == 0);
        }
        snprintf(want, sizeof(want), "image 1 is not a valid URL: %s",
                 urls[i].fault);
        got = herald_validate_content(&image, &r, "Test", NULL, p, 2);
        CHECK(got == 1);
        CHECK_STR(p[0].rule, "invalid_media_url");
        CHECK_STR(p[0].message, want);
    }
}

/* A valid post on each network. */
static void
test_valid_posts(void)
{
    const char *one[] = {"https://img.example/1.jpg", NULL};
    struct herald_content text = {"Hello from herald", NULL, NULL, 0};
    struct herald_content photo = {"", NULL, one, 1};
    struct herald_content both = {u8"Caf\u00e9 \U0001F600",
                                  "https://example.com/", one, 1};

    CHECK(herald_validate_content(&text, &x_rules, "X", " ", NULL, 0) == 0);
    CHECK(herald_validate_content(&text, &fb_rules, "Facebook", NULL, NULL,
                                  0) == 0);
    CHECK(herald_validate_content(&text, &li_rules, "LinkedIn", NULL, NULL,
                                  0) == 0);
    CHECK(herald_validate_content(&photo, &fb_rules, "Facebook", NULL, NULL,
                                  0) == 0);
    CHECK(herald_validate_content(&photo, &ig_rules, "Instagram", "\n\n", NULL,
                                  0) == 0);
    CHECK(herald_validate_content(&both, &ig_rules, "Instagram", "\n\n", NULL,
                                  0) == 0);
    CHECK(herald_validate_content(&both, &li_rules, "LinkedIn", NULL, NULL,
                                  0) == 0);
}

int
main(void)
{
    test_counts();
    test_unknown_counting();
    test_invalid_utf8();
    test_x_limit();
    test_link_in_text();
    test_rules();
    test_many_problems();
    test_limits_off();
    test_urls();
    test_codepoints_with_url_weight();
    test_valid_posts();
    return check_done();
}
