/*
 * test_jsonpos.c - positions of members found by core/jsonpos.c.
 *
 * Each case is a document, a path and the line and column the member
 * must be reported at (1-based, columns in bytes), worked out by hand.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "jsonpos.h"

#define K(name)                                                               \
    {                                                                         \
        (name), 0                                                             \
    }
#define I(n)                                                                  \
    {                                                                         \
        NULL, (n)                                                             \
    }

/* Finds path in text and returns rc, with the position in *line, *col. */
static int
find(const char *text, const struct herald_jsonpos_step *path, size_t depth,
     int *line, int *col)
{
    *line = -1;
    *col = -1;
    return herald_jsonpos_find(text, strlen(text), path, depth, line, col);
}

/* Checks that path is found at line:col. */
static void
check_at(const char *text, const struct herald_jsonpos_step *path,
         size_t depth, int want_line, int want_col)
{
    int line;
    int col;
    int rc = find(text, path, depth, &line, &col);

    CHECK(rc == 0);
    CHECK(line == want_line);
    CHECK(col == want_col);
    if (rc != 0 || line != want_line || col != want_col)
        fprintf(stderr, "  in %s: rc %d at %d:%d, want %d:%d\n", text, rc,
                line, col, want_line, want_col);
}

/* Checks that looking path up fails with want_rc, leaving line alone. */
static void
check_fails(const char *text, const struct herald_jsonpos_step *path,
            size_t depth, int want_rc)
{
    int line;
    int col;
    int rc = find(text, path, depth, &line, &col);

    CHECK(rc == want_rc);
    CHECK(line == -1 && col == -1);
    if (rc != want_rc)
        fprintf(stderr, "  in %s: rc %d, want %d\n", text, rc, want_rc);
}

static void
test_root(void)
{
    check_at("{}", NULL, 0, 1, 1);
    check_at("\n\n   {\"a\": 1}", NULL, 0, 3, 4);
    check_at("\t[1]", NULL, 0, 1, 2);
    check_fails("", NULL, 0, -EINVAL);
    check_fails(" \n\t ", NULL, 0, -EINVAL);
}

static void
test_members(void)
{
    const struct herald_jsonpos_step b[] = {K("b")};
    const struct herald_jsonpos_step c[] = {K("c")};
    const char *doc = "{\n"
                      "  \"a\": 1,\n"
                      "  \"b\": {\"x\": [1, 2]},\n"
                      "\t\"c\" : true\n"
                      "}\n";

    check_at("{\"a\": 1, \"b\": 2}", b, 1, 1, 10);
    check_at(doc, b, 1, 3, 3);
    check_at(doc, c, 1, 4, 2);
}

static void
test_nested(void)
{
    const struct herald_jsonpos_step y[] = {K("x"), I(1), K("y")};
    const struct herald_jsonpos_step el[] = {K("x"), I(2)};
    const struct herald_jsonpos_step deep[] = {K("x"), I(2), I(0), K("z")};
    const char *doc = "{\"x\": [\n"
                      "    {\"y\": 0},\n"
                      "    {\"w\": \"}]\", \"y\": 1},\n"
                      "    [{\"z\": null}]\n"
                      "]}";

    check_at(doc, y, 3, 3, 17);
    check_at(doc, el, 2, 4, 5);
    check_at(doc, deep, 4, 4, 7);
}

static void
test_array_elements(void)
{
    const struct herald_jsonpos_step first[] = {I(0)};
    const struct herald_jsonpos_step third[] = {I(2)};
    const char *doc = "[ \"a,]\", {\"k\": [1, {\"n\": \"]\"}]},\n  -1.5e3 ]";

    check_at(doc, first, 1, 1, 3);
    check_at(doc, third, 1, 2, 3);
    check_at("[1,2,3]", third, 1, 1, 6);
}

static void
test_escaped_keys(void)
{
    const struct herald_jsonpos_step quote[] = {K("a\"b")};
    const struct herald_jsonpos_step e_acute[] = {K("\xc3\xa9")};
    const struct herald_jsonpos_step smile[] = {K("\xf0\x9f\x98\x80")};
    const struct herald_jsonpos_step ctrl[] = {K("\\/\b\f\n\r\t")};

    check_at("{\"a\\\\\": 0, \"a\\\"b\": 1}", quote, 1, 1, 12);
    check_at("{\"x\": \"\\\"}\", \"\\u00e9\": 1}", e_acute, 1, 1, 14);
    check_at("{\"\\u00E9\": 1}", e_acute, 1, 1, 2);
    check_at("{\"\xc3\xa9\": 1}", e_acute, 1, 1, 2);
    check_at("{\"\\ud83d\\ude00\": 1}", smile, 1, 1, 2);
    check_at("{\"\\\\\\/\\b\\f\\n\\r\\t\": 1}", ctrl, 1, 1, 2);
}

static void
test_byte_columns(void)
{
    const struct herald_jsonpos_step b[] = {K("b")};

    /* "é" is two bytes, so "b" opens at byte 11, not character 10. */
    check_at("{\"\xc3\xa9\": 1, \"b\": 2}", b, 1, 1, 11);
    check_at("{\"s\": \"\xc3\xa9\xc3\xa9\", \"b\": 2}", b, 1, 1, 15);
    /* A tab is one column, '\r' is an ordinary byte. */
    check_at("{\r\n\t\"b\": 1\r\n}", b, 1, 2, 2);
}

static void
test_key_matching(void)
{
    const struct herald_jsonpos_step ab[] = {K("ab")};
    const struct herald_jsonpos_step a[] = {K("a")};

    /* Neither a prefix nor an extension of the key matches. */
    check_at("{\"a\": 1, \"abc\": 2, \"ab\": 3}", ab, 1, 1, 20);
    check_fails("{\"a\": 1, \"abc\": 2}", ab, 1, -ENOENT);
    /* The first of two equal keys wins. */
    check_at("{\"a\": 1, \"a\": 2}", a, 1, 1, 2);
}

static void
test_absent(void)
{
    const struct herald_jsonpos_step z[] = {K("z")};
    const struct herald_jsonpos_step i3[] = {I(3)};
    const struct herald_jsonpos_step a_x[] = {K("a"), K("x")};
    const struct herald_jsonpos_step a_0[] = {K("a"), I(0)};

    check_fails("{\"a\": 1}", z, 1, -ENOENT);
    check_fails("{}", z, 1, -ENOENT);
    check_fails("[]", i3, 1, -ENOENT);
    check_fails("[1, 2, 3]", i3, 1, -ENOENT);
    check_fails("[1]", z, 1, -ENOENT);
    check_fails("{\"a\": 1}", i3, 1, -ENOENT);
    check_fails("{\"a\": 1}", a_x, 2, -ENOENT);
    check_fails("{\"a\": \"[1]\"}", a_0, 2, -ENOENT);
    check_fails("{\"a\": {}}", a_0, 2, -ENOENT);
}

static void
test_malformed(void)
{
    const struct herald_jsonpos_step b[] = {K("b")};
    const struct herald_jsonpos_step i1[] = {I(1)};

    check_fails("{\"a\": \"unterminated", b, 1, -EINVAL);
    check_fails("{\"a\" 1, \"b\": 2}", b, 1, -EINVAL);
    check_fails("{\"a\": 1 \"b\": 2}", b, 1, -EINVAL);
    check_fails("{\"a\": {\"x\": 1, \"b\": 2}", b, 1, -EINVAL);
    check_fails("{\"\\ud800\": 1, \"b\": 2}", b, 1, -EINVAL);
    check_fails("{\"\\q\": 1, \"b\": 2}", b, 1, -EINVAL);
    check_fails("[1", i1, 1, -EINVAL);
}

static void
test_length_bound(void)
{
    const struct herald_jsonpos_step a[] = {K("a")};
    const struct herald_jsonpos_step b[] = {K("b")};
    const char *text = "{\"a\": 1, \"b\": 2}";
    int line = -1;
    int col = -1;

    /* Only len bytes count, and the text needs no terminating NUL. */
    CHECK(herald_jsonpos_find(text, 8, a, 1, &line, &col) == 0);
    CHECK(line == 1 && col == 2);
    CHECK(herald_jsonpos_find(text, 12, b, 1, &line, &col) == -EINVAL);
    CHECK(herald_jsonpos_find(text, 10, b, 1, &line, &col) == -EINVAL);
    CHECK(herald_jsonpos_find(text, 0, NULL, 0, &line, &col) == -EINVAL);
}

int
main(void)
{
    test_root();
    test_members();
    test_nested();
    test_array_elements();
    test_escaped_keys();
    test_byte_columns();
    test_key_matching();
    test_absent();
    test_malformed();
    test_length_bound();
    return check_done();
}
