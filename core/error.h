/*
 * error.h - the message half of herald's error convention.
 *
 * Functions return 0 or a negative errno value in rc. Those whose failure
 * a person must read also take a struct herald_error, filled with one line
 * that says what failed and names the thing in quotes, for example
 * "cannot open plugin 'x.so': undefined symbol ...". The message never
 * carries a secret.
 */
#ifndef HERALD_ERROR_H
#define HERALD_ERROR_H

struct herald_error {
    char msg[512];
};

/*
 * Formats a message into e (which may be NULL: then nothing happens).
 * A message already set is replaced. Returns nothing.
 */
void herald_error_set(struct herald_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Puts prefix and ": " before the message already in e, so an outer
 * layer can say where an inner failure happened.
 */
void herald_error_prefix(struct herald_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
