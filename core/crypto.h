/*
 * crypto.h - herald's key file, encryption at rest and random values.
 *
 * Everything cryptographic in the core goes through this module, and this
 * module goes through libsodium. It owns the key file format (one line of
 * base64 holding 32 random bytes, mode 0600), sealing and opening secrets
 * with XChaCha20-Poly1305 bound to associated data, constant-time
 * comparisons, random tokens and the PKCE values of OAuth 2.0.
 *
 * Call herald_crypto_init() once before anything else. Every other
 * function is then safe from any thread, though the daemon calls them
 * from its loop thread.
 *
 * Invariant: no function here logs, and no error message it writes holds
 * key material or plain text it was handed.
 */
#ifndef HERALD_CRYPTO_H
#define HERALD_CRYPTO_H

#include <stddef.h>

#include "error.h"

/* An XChaCha20-Poly1305 key. Zero it with sodium_memzero() when done. */
struct herald_key {
    unsigned char bytes[32];
};

/* Bytes that herald_crypto_seal() adds to the plain text: nonce and tag. */
#define HERALD_CRYPTO_OVERHEAD (24 + 16)

/*
 * Initialises libsodium. Call once at startup, before any other function
 * of this module; calling it again is harmless. Returns 0, or -EIO when
 * the library cannot initialise (no usable random source).
 */
int herald_crypto_init(void);

/*
 * Writes a new random key to path, created with mode 0600. Never replaces
 * a file: an existing path fails with -EEXIST and "key file 'PATH' already
 * exists". Other failures return a negative errno value with err naming
 * the path, and leave no partial file behind. Returns 0 on success.
 */
int herald_key_generate_file(const char *path, struct herald_error *err);

/*
 * Reads the key file at path into *key. The file must be a regular file
 * that neither group nor others may read or write, holding one line of
 * base64 (or 64 hex digits) that decodes to 32 bytes. Returns 0, or:
 *   -errno      when the file cannot be read ("cannot read key file
 *               'PATH': REASON");
 *   -EPERM      when group or others may access it ("key file 'PATH' is
 *               accessible by other users (mode 0644); chmod 600 it");
 *   -EINVAL     when it holds no key ("key file 'PATH' does not hold a
 *               herald key").
 * On failure *key is zeroed.
 */
int herald_key_load(const char *path, struct herald_key *key,
                    struct herald_error *err);

/*
 * Encrypts len bytes of plain under key, binding them to ad (a string
 * naming the row and field the value belongs to; NULL means none). *out
 * receives a malloc()ed buffer, the caller's to free, of nonce (24 random
 * bytes), cipher text and tag; *out_len its size, len +
 * HERALD_CRYPTO_OVERHEAD. Returns 0, or -ENOMEM (and *out is NULL).
 */
int herald_crypto_seal(const struct herald_key *key, const char *ad,
                       const void *plain, size_t len, unsigned char **out,
                       size_t *out_len);

/*
 * Decrypts what herald_crypto_seal() made with the same key and ad. *out
 * receives a malloc()ed buffer, the caller's to free (after
 * sodium_memzero() if the contents are secret), holding *out_len bytes and
 * a NUL one past them, so text can be used as a string. Returns 0,
 * -EBADMSG when the key, the ad or any byte does not match, or -ENOMEM.
 * On failure *out is NULL.
 */
int herald_crypto_open(const struct herald_key *key, const char *ad,
                       const unsigned char *sealed, size_t len,
                       unsigned char **out, size_t *out_len);

/* Fills buf with len unpredictable bytes. Cannot fail. */
void herald_crypto_random(void *buf, size_t len);

/*
 * Compares len bytes of a and b in time that does not depend on their
 * contents. Returns 1 when equal, 0 otherwise.
 */
int herald_crypto_equal(const void *a, const void *b, size_t len);

/*
 * Compares two NUL-terminated strings, such as an API key against the
 * configured one, in time that depends on neither their contents nor
 * where they differ: both are hashed, then the hashes compared. Returns 1
 * when equal, 0 otherwise (also when either is NULL).
 */
int herald_crypto_str_equal(const char *a, const char *b);

/*
 * Encodes len bytes of data as base64url without padding. Returns a
 * malloc()ed string, the caller's to free, or NULL when out of memory.
 */
char *herald_crypto_base64url(const void *data, size_t len);

/*
 * Makes a random token: n random bytes as base64url, for OAuth states and
 * public ids. Returns a malloc()ed string, the caller's to free, or NULL
 * when out of memory.
 */
char *herald_crypto_token(size_t n);

/*
 * Makes a PKCE pair (RFC 7636): *verifier, 64 characters from the
 * unreserved set, and *challenge, its S256 challenge. Both are malloc()ed
 * and the caller's to free; the verifier is a secret. Returns 0, or
 * -ENOMEM (and both are NULL).
 */
int herald_crypto_pkce(char **verifier, char **challenge);

/*
 * Computes the S256 challenge of verifier: base64url of its SHA-256.
 * *challenge is malloc()ed, the caller's to free. Returns 0, -EINVAL when
 * verifier is not 43 to 128 unreserved characters, or -ENOMEM.
 */
int herald_crypto_pkce_challenge(const char *verifier, char **challenge);

/*
 * Writes the SHA-256 of the string s into out as 64 lowercase hex digits
 * and a NUL. Used to keep OAuth states by hash, never in the clear.
 */
void herald_crypto_sha256_hex(const char *s, char out[65]);

#endif
