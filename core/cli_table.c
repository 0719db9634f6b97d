/*
 * cli_table.c - aligned text tables for the command-line client.
 *
 * Cells are copied in, so callers may pass short-lived buffers. Nothing
 * is printed until cli_table_print(), when every width is known.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_table.h"
#include "cli_text.h"

struct cli_table {
    size_t ncols;
    char **heads; /* ncols strings, or NULL */
    char **cells; /* rows * ncols strings */
    size_t rows;
    size_t cap; /* rows the cells array holds */
};

static char **
copy_row(size_t ncols, const char *const *src)
{
    char **row = calloc(ncols, sizeof(*row));

    for (size_t i = 0; row && i < ncols; i++) {
        row[i] = strdup(src[i] ? src[i] : "-");
        if (!row[i]) {
            while (i-- > 0)
                free(row[i]);
            free(row);
            return NULL;
        }
    }
    return row;
}

struct cli_table *
cli_table_new(size_t ncols, const char *const *heads)
{
    struct cli_table *t;

    if (ncols == 0 || ncols > CLI_TABLE_MAX_COLUMNS)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    if (heads && !(t->heads = copy_row(ncols, heads))) {
        free(t);
        return NULL;
    }
    return t;
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
    char **row;

    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));

        if (!grown)
            return -ENOMEM;
        t->cells = grown;
        t->cap = cap;
    }
    row = copy_row(t->ncols, cells);
    if (!row)
        return -ENOMEM;
    memcpy(t->cells + t->rows * t->ncols, row, t->ncols * sizeof(*row));
    free(row);
    t->rows++;
    return 0;
}

size_t
cli_table_rows(const struct cli_table *t)
{
    return t->rows;
}

static void
print_row(const struct cli_table *t, char *const *row, const size_t *width,
          FILE *out)
{
    for (size_t c = 0; c < t->ncols; c++) {
        size_t pad = width[c] - cli_width(row[c]);

        fputs(row[c], out);
        if (c + 1 == t->ncols)
            break;
        fprintf(out, "%*s", (int)(pad + 2), "");
    }
    fputc('\n', out);
}

void
cli_table_print(const struct cli_table *t, FILE *out)
{
    size_t width[CLI_TABLE_MAX_COLUMNS] = {0};

    for (size_t c = 0; c < t->ncols; c++) {
        if (t->heads)
            width[c] = cli_width(t->heads[c]);
        for (size_t r = 0; r < t->rows; r++) {
            size_t w = cli_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    if (t->heads)
        print_row(t, t->heads, width, out);
    for (size_t r = 0; r < t->rows; r++)
        print_row(t, t->cells + r * t->ncols, width, out);
}

static void
free_row(char **row, size_t ncols)
{
    for (size_t i = 0; row && i < ncols; i++)
        free(row[i]);
}

void
cli_table_free(struct cli_table *t)
{
    if (!t)
        return;
    free_row(t->heads, t->ncols);
    free(t->heads);
    free_row(t->cells, t->rows * t->ncols);
    free(t->cells);
    free(t);
}
