/*
 * jsonpos.h - finds where a member of a JSON document starts in its text.
 *
 * jansson reports a line and column for syntax errors only; once a
 * document has parsed, its values no longer know where they came from.
 * The configuration validator uses this module to point at the key it
 * complains about. It scans the raw text again, without building values,
 * and follows a path of object keys and array indexes.
 *
 * Lines and columns are 1-based. Columns count bytes, not characters: a
 * tab is one column and a multi-byte UTF-8 character is several. A line
 * ends at '\n' only.
 *
 * Invariant: the scanner never reads past text + len; the text needs no
 * terminating NUL.
 */
#ifndef HERALD_JSONPOS_H
#define HERALD_JSONPOS_H

#include <stddef.h>

/* One step of a path: an object key, or an array index when key is NULL. */
struct herald_jsonpos_step {
    const char *key; /* borrowed; compared with the decoded key */
    size_t index;    /* used when key is NULL */
};

/*
 * Finds the member that path (depth steps; path may be NULL when depth is
 * 0) names in the JSON text of len bytes and stores where it starts in
 * *line and *column. The start of an object member is its key's opening
 * quote; of an array element, the element's first byte; of the empty
 * path, the root value's first byte. Keys are compared after decoding
 * their escapes (\" \\ \/ \b \f \n \r \t \uXXXX with surrogate pairs);
 * when a key appears twice, the first one wins.
 *
 * Returns 0; -ENOENT when the path is absent (a missing key, an index past
 * the end, or a step into a value of another kind); -EINVAL when the text
 * is malformed before the member is reached. *line and *column are only
 * written on success. Pure function: callable from any thread.
 */
int herald_jsonpos_find(const char *text, size_t len,
                        const struct herald_jsonpos_step *path, size_t depth,
                        int *line, int *column);

#endif
