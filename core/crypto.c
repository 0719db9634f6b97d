/*
 * crypto.c - key files, sealing, comparisons and random values.
 *
 * A thin layer over libsodium that fixes herald's choices: keys are 32
 * bytes kept in a 0600 file as one line of base64; sealed values are a
 * random 24-byte nonce followed by the XChaCha20-Poly1305 cipher text,
 * authenticated together with a caller-given string (the associated
 * data) that names where the value lives, so a value moved elsewhere no
 * longer opens.
 *
 * Invariant: every buffer that held key material or a decrypted secret
 * on the stack is wiped with sodium_memzero() before the function
 * returns, on every path.
 */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_B64_VARIANT sodium_base64_VARIANT_ORIGINAL
#define KEY_B64_LEN     sodium_base64_ENCODED_LEN(32, KEY_B64_VARIANT)
#define KEY_HEX_LEN     64
/* The longest key file read: a key line, surrounded by some whitespace. */
#define KEY_FILE_MAX 256

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN   crypto_aead_xchacha20poly1305_ietf_ABYTES

#define PKCE_VERIFIER_BYTES 48 /* 64 characters of base64url */

_Static_assert(sizeof(((struct herald_key *)0)->bytes) ==
                   crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "struct herald_key holds one XChaCha20-Poly1305 key");
_Static_assert(HERALD_CRYPTO_OVERHEAD == NONCE_LEN + TAG_LEN,
               "HERALD_CRYPTO_OVERHEAD is nonce plus tag");

int
herald_crypto_init(void)
{
    return sodium_init() < 0 ? -EIO : 0;
}

/* Writes all of buf to fd, retrying short writes. */
static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes one base64 line holding a fresh random key to fd. */
static int
write_new_key(int fd)
{
    unsigned char bytes[32];
    char line[KEY_B64_LEN + 1];
    int rc;

    randombytes_buf(bytes, sizeof(bytes));
    sodium_bin2base64(line, sizeof(line) - 1, bytes, sizeof(bytes),
                      KEY_B64_VARIANT);
    strcat(line, "\n");

    rc = write_all(fd, line, strlen(line));
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;

    sodium_memzero(bytes, sizeof(bytes));
    sodium_memzero(line, sizeof(line));
    return rc;
}

int
herald_key_generate_file(const char *path, struct herald_error *err)
{
    int fd;
    int rc;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        herald_error_set(err, "key file '%s' already exists", path);
        return -EEXIST;
    }
    if (fd < 0) {
        rc = -errno;
        herald_error_set(err, "cannot create key file '%s': %s", path,
                         strerror(errno));
        return rc;
    }

    /* The umask may only have narrowed 0600; make it exactly that. */
    rc = fchmod(fd, 0600) < 0 ? -errno : 0;
    if (rc == 0)
        rc = write_new_key(fd);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;

    if (rc < 0) {
        unlink(path);
        herald_error_set(err, "cannot write key file '%s': %s", path,
                         strerror(-rc));
    }
    return rc;
}

/* Checks that the open key file is a private regular file. */
static int
check_key_file(int fd, const char *path, struct herald_error *err)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        int rc = -errno;

        herald_error_set(err, "cannot read key file '%s': %s", path,
                         strerror(errno));
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        herald_error_set(err, "cannot read key file '%s': not a regular file",
                         path);
        return -EINVAL;
    }
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        herald_error_set(err,
                         "key file '%s' is accessible by other users "
                         "(mode %04o); chmod 600 it",
                         path, (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    return 0;
}

/* Reads at most len - 1 bytes of fd into buf as a string; sets *n. */
static int
read_small(int fd, char *buf, size_t len, size_t *n)
{
    *n = 0;
    while (*n < len - 1) {
        ssize_t got = read(fd, buf + *n, len - 1 - *n);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            break;
        *n += (size_t)got;
    }
    buf[*n] = '\0';
    return 0;
}

/* Decodes a key line, base64 or hex, trimmed of surrounding space. */
static int
decode_key(char *text, size_t len, struct herald_key *key)
{
    const char *end = NULL;
    size_t n = 0;
    int rc;

    while (len > 0 && strchr(" \t\r\n", text[len - 1]))
        text[--len] = '\0';
    while (len > 0 && strchr(" \t\r\n", *text)) {
        text++;
        len--;
    }

    if (len == KEY_HEX_LEN)
        rc = sodium_hex2bin(key->bytes, sizeof(key->bytes), text, len, NULL,
                            &n, &end);
    else
        rc = sodium_base642bin(key->bytes, sizeof(key->bytes), text, len, NULL,
                               &n, &end, KEY_B64_VARIANT);
    if (rc != 0 || n != sizeof(key->bytes) || end != text + len)
        return -EINVAL;
    return 0;
}

int
herald_key_load(const char *path, struct herald_key *key,
                struct herald_error *err)
{
    char text[KEY_FILE_MAX];
    size_t len = 0;
    int fd;
    int rc;

    sodium_memzero(key, sizeof(*key));
    /* O_NONBLOCK: a FIFO must not hang the start (check_key_file()
     * refuses anything but a regular file). */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        rc = -errno;
        herald_error_set(err, "cannot read key file '%s': %s", path,
                         strerror(errno));
        return rc;
    }

    rc = check_key_file(fd, path, err);
    if (rc < 0)
        goto close_file;
    rc = read_small(fd, text, sizeof(text), &len);
    if (rc < 0) {
        herald_error_set(err, "cannot read key file '%s': %s", path,
                         strerror(-rc));
        goto wipe_text;
    }

    rc = len < sizeof(text) - 1 ? decode_key(text, len, key) : -EINVAL;
    if (rc < 0) {
        sodium_memzero(key, sizeof(*key));
        herald_error_set(err, "key file '%s' does not hold a herald key",
                         path);
    }

wipe_text:
    sodium_memzero(text, sizeof(text));
close_file:
    close(fd);
    return rc;
}

int
herald_crypto_seal(const struct herald_key *key, const char *ad,
                   const void *plain, size_t len, unsigned char **out,
                   size_t *out_len)
{
    unsigned long long clen = 0;
    unsigned char *buf;
    size_t adlen = ad ? strlen(ad) : 0;

    *out = NULL;
    *out_len = 0;
    if (len > SIZE_MAX - HERALD_CRYPTO_OVERHEAD)
        return -ENOMEM;
    buf = malloc(len + HERALD_CRYPTO_OVERHEAD);
    if (!buf)
        return -ENOMEM;

    randombytes_buf(buf, NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + NONCE_LEN, &clen, plain,
                                               len, (const unsigned char *)ad,
                                               adlen, NULL, buf, key->bytes);

    *out = buf;
    *out_len = NONCE_LEN + (size_t)clen;
    return 0;
}

int
herald_crypto_open(const struct herald_key *key, const char *ad,
                   const unsigned char *sealed, size_t len,
                   unsigned char **out, size_t *out_len)
{
    unsigned long long plen = 0;
    unsigned char *buf;
    size_t adlen = ad ? strlen(ad) : 0;

    *out = NULL;
    *out_len = 0;
    if (!sealed || len < HERALD_CRYPTO_OVERHEAD)
        return -EBADMSG;
    buf = malloc(len - HERALD_CRYPTO_OVERHEAD + 1);
    if (!buf)
        return -ENOMEM;

    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            buf, &plen, NULL, sealed + NONCE_LEN, len - NONCE_LEN,
            (const unsigned char *)ad, adlen, sealed, key->bytes) != 0) {
        free(buf);
        return -EBADMSG;
    }

    buf[plen] = '\0';
    *out = buf;
    *out_len = (size_t)plen;
    return 0;
}

void
herald_crypto_random(void *buf, size_t len)
{
    randombytes_buf(buf, len);
}

int
herald_crypto_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}

int
herald_crypto_str_equal(const char *a, const char *b)
{
    unsigned char ha[crypto_generichash_BYTES];
    unsigned char hb[crypto_generichash_BYTES];
    int equal;

    if (!a || !b)
        return 0;
    crypto_generichash(ha, sizeof(ha), (const unsigned char *)a, strlen(a),
                       NULL, 0);
    crypto_generichash(hb, sizeof(hb), (const unsigned char *)b, strlen(b),
                       NULL, 0);
    equal = sodium_memcmp(ha, hb, sizeof(ha)) == 0;

    sodium_memzero(ha, sizeof(ha));
    sodium_memzero(hb, sizeof(hb));
    return equal;
}

char *
herald_crypto_base64url(const void *data, size_t len)
{
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    size_t size;
    char *out;

    if (len > (SIZE_MAX - 4) / 4 * 3)
        return NULL;
    size = sodium_base64_ENCODED_LEN(len, variant);
    out = malloc(size);
    if (!out)
        return NULL;
    sodium_bin2base64(out, size, data, len, variant);
    return out;
}

char *
herald_crypto_token(size_t n)
{
    unsigned char *bytes = malloc(n ? n : 1);
    char *token;

    if (!bytes)
        return NULL;
    randombytes_buf(bytes, n);
    token = herald_crypto_base64url(bytes, n);

    sodium_memzero(bytes, n);
    free(bytes);
    return token;
}

/* Tells whether c is in RFC 3986's unreserved set. */
static int
is_unreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

int
herald_crypto_pkce_challenge(const char *verifier, char **challenge)
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    size_t len = strlen(verifier);

    *challenge = NULL;
    if (len < 43 || len > 128)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!is_unreserved(verifier[i]))
            return -EINVAL;
    }

    crypto_hash_sha256(hash, (const unsigned char *)verifier, len);
    *challenge = herald_crypto_base64url(hash, sizeof(hash));
    sodium_memzero(hash, sizeof(hash));
    return *challenge ? 0 : -ENOMEM;
}

int
herald_crypto_pkce(char **verifier, char **challenge)
{
    int rc;

    *challenge = NULL;
    *verifier = herald_crypto_token(PKCE_VERIFIER_BYTES);
    if (!*verifier)
        return -ENOMEM;

    rc = herald_crypto_pkce_challenge(*verifier, challenge);
    if (rc < 0) {
        sodium_memzero(*verifier, strlen(*verifier));
        free(*verifier);
        *verifier = NULL;
    }
    return rc;
}

void
herald_crypto_sha256_hex(const char *s, char out[65])
{
    unsigned char hash[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(hash, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, 65, hash, sizeof(hash));
}
