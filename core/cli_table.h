/*
 * cli_table.h - aligned text tables for the command-line client.
 *
 * A table is filled row by row, then printed with every column as wide
 * as its widest cell (counted in code points), two spaces apart, the
 * last column not padded. A table without headings prints only its rows,
 * which is how "show" commands print their name/value pairs.
 */
#ifndef HERALD_CLI_TABLE_H
#define HERALD_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define CLI_TABLE_MAX_COLUMNS 12

struct cli_table;

/*
 * Makes a table of ncols columns (at most CLI_TABLE_MAX_COLUMNS).
 * heads is NULL (no heading line) or ncols strings, copied. Returns the
 * table, or NULL when out of memory or ncols is out of range.
 */
struct cli_table *cli_table_new(size_t ncols, const char *const *heads);

/*
 * Adds a row of ncols cells, copied; a NULL cell shows as "-". Returns 0
 * or -ENOMEM (the row is then not added).
 */
int cli_table_add(struct cli_table *t, const char *const *cells);

/* The number of rows added so far. */
size_t cli_table_rows(const struct cli_table *t);

/* Prints the heading line (when there is one) and every row to out. */
void cli_table_print(const struct cli_table *t, FILE *out);

/* Frees t and its cells; t may be NULL. */
void cli_table_free(struct cli_table *t);

#endif
