/*
 * test_mail.c - email messages: addresses that may and may not reach a
 * header, RFC 5322 dates, quoted-printable, encoded subjects, and a whole
 * message built byte for byte with CRLF line ends and nothing injected.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mail.h"

static void
test_addresses(void)
{
    char out[64];

    CHECK(herald_mail_address_ok("a@b.test"));
    CHECK(herald_mail_address_ok("first.last+tag@example.com"));
    CHECK(!herald_mail_address_ok(NULL));
    CHECK(!herald_mail_address_ok(""));
    CHECK(!herald_mail_address_ok("no-at-sign"));
    CHECK(!herald_mail_address_ok("@b.test"));
    CHECK(!herald_mail_address_ok("a@"));
    CHECK(!herald_mail_address_ok("a@b@c"));
    CHECK(!herald_mail_address_ok("a b@c.test"));
    CHECK(!herald_mail_address_ok("a@b.test\r\nBcc: x@y.test"));
    CHECK(!herald_mail_address_ok("<a@b.test>"));

    CHECK(herald_mail_envelope_address("a@b.test", out, sizeof(out)) == 0);
    CHECK_STR(out, "a@b.test");
    CHECK(herald_mail_envelope_address("Herald <n@h.test>", out,
                                       sizeof(out)) == 0);
    CHECK_STR(out, "n@h.test");
    CHECK(herald_mail_envelope_address("Herald <n@h.test", out, sizeof(out)) ==
          -EINVAL);
    CHECK(herald_mail_envelope_address("Herald", out, sizeof(out)) == -EINVAL);
}

static void
test_date(void)
{
    char buf[40];

    CHECK_STR(herald_mail_date(0, buf, sizeof(buf)),
              "Thu, 01 Jan 1970 00:00:00 +0000");
    CHECK_STR(herald_mail_date(1796306709120LL, buf, sizeof(buf)),
              "Thu, 03 Dec 2026 14:05:09 +0000");
}

static void
qp_is(const char *in, const char *want)
{
    char *out = NULL;
    size_t len = 0;

    CHECK(herald_mail_qp(in, strlen(in), &out, &len) == 0);
    CHECK_STR(out, want);
    CHECK(out && strlen(out) == len);
    free(out);
}

static void
test_qp(void)
{
    char long_line[201];
    char *out = NULL;
    size_t len = 0;

    qp_is("plain\n", "plain\r\n");
    qp_is("a=b", "a=3Db\r\n");
    qp_is("trailing \nspace", "trailing=20\r\nspace\r\n");
    qp_is("caf\xc3\xa9", "caf=C3=A9\r\n");
    qp_is("tab\there\t", "tab\there=09\r\n");

    /* Long lines get soft breaks; no line is longer than 76. */
    memset(long_line, 'a', 200);
    long_line[200] = '\0';
    CHECK(herald_mail_qp(long_line, 200, &out, &len) == 0);
    for (char *line = out; line && *line;) {
        char *end = strstr(line, "\r\n");
        CHECK(end && end - line <= 76);
        line = end ? end + 2 : line + strlen(line);
    }
    CHECK(out && strncmp(out + 75, "=\r\n", 3) == 0);
    free(out);
}

static struct herald_mail
sample(void)
{
    struct herald_mail m = {
        .from = "Herald <notices@herald.test>",
        .to = "owner@example.test",
        .subject = "Please reconnect your X account alice",
        .message_id = "<herald.1.abc@herald.test>",
        .date_ms = 1796306709120LL,
        .text = "Hello,\n\nA line.\n",
        .html = "<p>Hello, <b>x</b> = y</p>\n",
        .boundary = "herald-0123456789",
    };

    return m;
}

static void
test_build(void)
{
    struct herald_mail m = sample();
    char *msg = NULL;
    size_t len = 0;

    CHECK(herald_mail_build(&m, &msg, &len) == 0);
    CHECK(msg && strlen(msg) == len);
    CHECK(strncmp(msg, "Date: Thu, 03 Dec 2026 14:05:09 +0000\r\n", 39) == 0);
    CHECK_CONTAINS(msg, "\r\nFrom: Herald <notices@herald.test>\r\n");
    CHECK_CONTAINS(msg, "\r\nTo: owner@example.test\r\n");
    CHECK_CONTAINS(msg,
                   "\r\nSubject: Please reconnect your X account alice\r\n");
    CHECK_CONTAINS(msg, "\r\nMessage-ID: <herald.1.abc@herald.test>\r\n");
    CHECK_CONTAINS(msg, "\r\nMIME-Version: 1.0\r\n");
    CHECK_CONTAINS(msg, "Content-Type: multipart/alternative; "
                        "boundary=\"herald-0123456789\"\r\n\r\n");
    CHECK_CONTAINS(msg, "--herald-0123456789\r\nContent-Type: text/plain; "
                        "charset=utf-8\r\n");
    CHECK_CONTAINS(msg, "Content-Type: text/html; charset=utf-8\r\n");
    CHECK_CONTAINS(msg, "<p>Hello, <b>x</b> =3D y</p>\r\n");
    CHECK(len > 23 &&
          strcmp(msg + len - 23, "--herald-0123456789--\r\n") == 0);
    /* Every line ends with CRLF. */
    for (size_t i = 0; msg && i < len; i++)
        if (msg[i] == '\n')
            CHECK(i > 0 && msg[i - 1] == '\r');
    free(msg);
}

static void
test_encoded_subject(void)
{
    struct herald_mail m = sample();
    char *msg = NULL;
    size_t len = 0;

    m.subject = "Reconnectez votre compte \xc3\xa9l\xc3\xa9gant "
                "\xe2\x80\x94 un sujet assez long pour deux mots cod\xc3\xa9s";
    CHECK(herald_mail_build(&m, &msg, &len) == 0);
    CHECK_CONTAINS(msg, "Subject: =?UTF-8?B?");
    CHECK_CONTAINS(msg, "?=\r\n =?UTF-8?B?");
    free(msg);

    /* A line break in a name cannot start a header of its own. */
    m = sample();
    m.subject = "alice\r\nBcc: everyone@example.test";
    CHECK(herald_mail_build(&m, &msg, &len) == 0);
    CHECK(strstr(msg, "\r\nBcc:") == NULL);
    free(msg);
}

static void
test_refused(void)
{
    struct herald_mail m = sample();
    char *msg = NULL;
    size_t len = 0;

    m.to = "owner@example.test\r\nBcc: x@y.test";
    CHECK(herald_mail_build(&m, &msg, &len) == -EINVAL && msg == NULL);
    m = sample();
    m.from = "Herald <n@h.test>\r\nBcc: x@y.test";
    CHECK(herald_mail_build(&m, &msg, &len) == -EINVAL);
    m = sample();
    m.message_id = "<a@b>\r\nX: y";
    CHECK(herald_mail_build(&m, &msg, &len) == -EINVAL);
    m = sample();
    m.boundary = "bad boundary\"";
    CHECK(herald_mail_build(&m, &msg, &len) == -EINVAL);
    m = sample();
    m.text = NULL;
    CHECK(herald_mail_build(&m, &msg, &len) == -EINVAL);
}

int
main(void)
{
    test_addresses();
    test_date();
    test_qp();
    test_build();
    test_encoded_subject();
    test_refused();
    return check_done();
}
