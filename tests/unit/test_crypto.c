/*
 * test_crypto.c - key files, sealing, comparisons and PKCE.
 *
 * Key files are made and broken in a private directory under /tmp; every
 * refusal is checked with its exact message. Sealing is checked both ways
 * and against each thing that must make opening fail: another key,
 * another associated data, one changed byte, a cut value. PKCE is checked
 * against the example of RFC 7636, appendix B.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "crypto.h"

static char dir[] = "/tmp/herald-crypto-XXXXXX";

static void
path_in_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        fprintf(stderr, "cannot write '%s'\n", path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void
test_generate(void)
{
    struct herald_error err = {""};
    struct herald_key a;
    struct herald_key b;
    struct stat st;
    char path[256];
    char want[512];

    path_in_dir(path, sizeof(path), "gen.key");
    CHECK(herald_key_generate_file(path, &err) == 0);
    CHECK(stat(path, &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_size == 45); /* 44 base64 characters and a newline */

    CHECK(herald_key_load(path, &a, &err) == 0);
    CHECK(herald_key_load(path, &b, &err) == 0);
    CHECK(memcmp(a.bytes, b.bytes, sizeof(a.bytes)) == 0);

    snprintf(want, sizeof(want), "key file '%s' already exists", path);
    CHECK(herald_key_generate_file(path, &err) == -EEXIST);
    CHECK_STR(err.msg, want);
    CHECK(herald_key_load(path, &b, &err) == 0);
    CHECK(memcmp(a.bytes, b.bytes, sizeof(a.bytes)) == 0);
}

static void
test_generate_unique(void)
{
    struct herald_error err = {""};
    struct herald_key a;
    struct herald_key b;
    char p1[256];
    char p2[256];

    path_in_dir(p1, sizeof(p1), "one.key");
    path_in_dir(p2, sizeof(p2), "two.key");
    CHECK(herald_key_generate_file(p1, &err) == 0);
    CHECK(herald_key_generate_file(p2, &err) == 0);
    CHECK(herald_key_load(p1, &a, &err) == 0);
    CHECK(herald_key_load(p2, &b, &err) == 0);
    CHECK(memcmp(a.bytes, b.bytes, sizeof(a.bytes)) != 0);
}

static void
test_load_errors(void)
{
    struct herald_error err = {""};
    struct herald_key key;
    char path[256];
    char want[512];

    path_in_dir(path, sizeof(path), "missing.key");
    snprintf(want, sizeof(want),
             "cannot read key file '%s': No such file or directory", path);
    CHECK(herald_key_load(path, &key, &err) == -ENOENT);
    CHECK_STR(err.msg, want);

    path_in_dir(path, sizeof(path), "open.key");
    write_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0644);
    snprintf(want, sizeof(want),
             "key file '%s' is accessible by other users (mode 0644); "
             "chmod 600 it",
             path);
    CHECK(herald_key_load(path, &key, &err) == -EPERM);
    CHECK_STR(err.msg, want);

    path_in_dir(path, sizeof(path), "group.key");
    write_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0620);
    CHECK(herald_key_load(path, &key, &err) == -EPERM);
    CHECK_CONTAINS(err.msg, "(mode 0620)");
}

static void
test_load_garbage(void)
{
    static const char *const bad[] = {
        "",
        "not a key at all\n",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=\n", /* 29 bytes */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nmore\n",
        "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
    };
    struct herald_error err = {""};
    struct herald_key key;
    char path[256];
    char want[512];

    path_in_dir(path, sizeof(path), "garbage.key");
    snprintf(want, sizeof(want), "key file '%s' does not hold a herald key",
             path);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unlink(path);
        write_file(path, bad[i], 0600);
        err.msg[0] = '\0';
        CHECK(herald_key_load(path, &key, &err) == -EINVAL);
        CHECK_STR(err.msg, want);
    }
}

static void
test_load_formats(void)
{
    struct herald_error err = {""};
    struct herald_key b64;
    struct herald_key hex;
    char path[256];
    int ok = 1;

    path_in_dir(path, sizeof(path), "b64.key");
    write_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
    CHECK(herald_key_load(path, &b64, &err) == 0);

    path_in_dir(path, sizeof(path), "hex.key");
    write_file(path,
               "000102030405060708090a0b0c0d0e0f"
               "101112131415161718191a1b1c1d1e1f",
               0400);
    CHECK(herald_key_load(path, &hex, &err) == 0);

    for (int i = 0; i < 32; i++)
        ok &= b64.bytes[i] == i && hex.bytes[i] == i;
    CHECK(ok);
}

static void
make_key(struct herald_key *key)
{
    herald_crypto_random(key->bytes, sizeof(key->bytes));
}

static void
test_seal_round_trip(void)
{
    const char *msg = "a secret token";
    struct herald_key key;
    unsigned char *sealed = NULL;
    unsigned char *plain = NULL;
    size_t slen = 0;
    size_t plen = 0;

    make_key(&key);
    CHECK(herald_crypto_seal(&key, "herald:test:1:f", msg, strlen(msg),
                             &sealed, &slen) == 0);
    CHECK(slen == strlen(msg) + HERALD_CRYPTO_OVERHEAD);
    CHECK(memmem(sealed, slen, msg, strlen(msg)) == NULL);

    CHECK(herald_crypto_open(&key, "herald:test:1:f", sealed, slen, &plain,
                             &plen) == 0);
    CHECK(plen == strlen(msg));
    CHECK_STR((const char *)plain, msg);
    free(plain);
    free(sealed);

    /* Empty values seal too, and two seals of one value differ. */
    CHECK(herald_crypto_seal(&key, NULL, "", 0, &sealed, &slen) == 0);
    CHECK(herald_crypto_open(&key, NULL, sealed, slen, &plain, &plen) == 0);
    CHECK(plen == 0 && plain && plain[0] == '\0');
    free(plain);
    {
        unsigned char *again = NULL;
        size_t alen = 0;

        CHECK(herald_crypto_seal(&key, NULL, "", 0, &again, &alen) == 0);
        CHECK(alen == slen && memcmp(again, sealed, slen) != 0);
        free(again);
    }
    free(sealed);
}

static void
test_seal_refusals(void)
{
    const char *msg = "PLANTED-SECRET";
    struct herald_key key;
    struct herald_key other;
    unsigned char *sealed = NULL;
    static unsigned char sentinel[] = "sentinel";
    unsigned char *plain = sentinel;
    size_t slen = 0;
    size_t plen = 0;

    make_key(&key);
    make_key(&other);
    CHECK(herald_crypto_seal(&key, "ad:1", msg, strlen(msg), &sealed, &slen) ==
          0);

    CHECK(herald_crypto_open(&key, "ad:2", sealed, slen, &plain, &plen) ==
          -EBADMSG);
    CHECK(plain == NULL);
    CHECK(herald_crypto_open(&key, NULL, sealed, slen, &plain, &plen) ==
          -EBADMSG);
    CHECK(herald_crypto_open(&other, "ad:1", sealed, slen, &plain, &plen) ==
          -EBADMSG);
    CHECK(herald_crypto_open(&key, "ad:1", sealed, slen - 1, &plain, &plen) ==
          -EBADMSG);
    CHECK(herald_crypto_open(&key, "ad:1", sealed, 10, &plain, &plen) ==
          -EBADMSG);

    /* One flipped bit anywhere: nonce, cipher text, tag. */
    for (size_t i = 0; i < slen; i += 7) {
        sealed[i] ^= 0x01;
        CHECK(herald_crypto_open(&key, "ad:1", sealed, slen, &plain, &plen) ==
              -EBADMSG);
        sealed[i] ^= 0x01;
    }
    CHECK(herald_crypto_open(&key, "ad:1", sealed, slen, &plain, &plen) == 0);
    free(plain);
    free(sealed);
}

static void
test_equal(void)
{
    CHECK(herald_crypto_equal("abcd", "abcd", 4) == 1);
    CHECK(herald_crypto_equal("abcd", "abce", 4) == 0);
    CHECK(herald_crypto_str_equal("key-1", "key-1") == 1);
    CHECK(herald_crypto_str_equal("key-1", "key-2") == 0);
    CHECK(herald_crypto_str_equal("key-1", "key-10") == 0);
    CHECK(herald_crypto_str_equal("", "") == 1);
    CHECK(herald_crypto_str_equal("", "x") == 0);
    CHECK(herald_crypto_str_equal(NULL, "x") == 0);
}

static void
test_encoding(void)
{
    char hex[65];
    char *s;

    s = herald_crypto_base64url("\xfb\xff\xfe", 3);
    CHECK_STR(s, "-__-");
    free(s);
    s = herald_crypto_base64url("ab", 2);
    CHECK_STR(s, "YWI");
    free(s);
    s = herald_crypto_base64url("", 0);
    CHECK_STR(s, "");
    free(s);

    s = herald_crypto_token(32);
    CHECK(s && strlen(s) == 43);
    CHECK(s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-_") == 43);
    free(s);

    herald_crypto_sha256_hex("abc", hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
                   "b00361a396177a9cb410ff61f20015ad");
}

static void
test_pkce(void)
{
    char *verifier = NULL;
    char *challenge = NULL;
    char *again = NULL;

    /* RFC 7636, appendix B. */
    CHECK(herald_crypto_pkce_challenge(
              "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", &challenge) == 0);
    CHECK_STR(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    free(challenge);

    CHECK(herald_crypto_pkce_challenge("too-short", &challenge) == -EINVAL);
    CHECK(challenge == NULL);
    CHECK(herald_crypto_pkce_challenge(
              "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk+", &challenge) ==
          -EINVAL);

    CHECK(herald_crypto_pkce(&verifier, &challenge) == 0);
    CHECK(verifier && strlen(verifier) == 64);
    CHECK(challenge && strlen(challenge) == 43);
    CHECK(herald_crypto_pkce_challenge(verifier, &again) == 0);
    CHECK_STR(again, challenge);
    free(verifier);
    free(challenge);
    free(again);
}

int
main(void)
{
    char cmd[512];

    if (herald_crypto_init() != 0 || !mkdtemp(dir)) {
        fprintf(stderr, "cannot set up the test\n");
        return 2;
    }

    test_generate();
    test_generate_unique();
    test_load_errors();
    test_load_garbage();
    test_load_formats();
    test_seal_round_trip();
    test_seal_refusals();
    test_equal();
    test_encoding();
    test_pkce();

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove '%s'\n", dir);
    return check_done();
}
