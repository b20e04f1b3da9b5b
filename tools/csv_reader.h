/* csv_reader.h -- a small RFC 4180 CSV record reader (quoted fields, embedded commas and line
 * breaks, doubled quotes, CRLF or LF), shared by tools/areacode_gen.c and its unit test. */
#ifndef SC_CSV_READER_H
#define SC_CSV_READER_H

#include <stdio.h>
#include <string.h>

#define CSV_MAX_RECORD 65536 /* bytes of one record's field text, NULs included */
#define CSV_MAX_FIELDS 128   /* one more than the fields a record may have */

/* Reader state. The caller owns it (it is large: allocate it, do not put it on a small
 * stack) and the FILE, which it opens and closes itself. */
typedef struct {
    FILE *f;
    long line;      /* line number where the last record read started (1-based) */
    long next_line; /* line number of the next unread character */
    int started;    /* the UTF-8 byte-order mark check at the file start is done */
    int nfields;    /* fields in the last record read */
    char *fields[CSV_MAX_FIELDS];
    char buf[CSV_MAX_RECORD];
} csv_reader;

/* Prepares `r` to read from `f`. Cannot fail. */
static inline void csv_init(csv_reader *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->next_line = 1;
}

/* Appends one byte to the record buffer; returns -1 when the record is over the cap. */
static inline int csv__put(csv_reader *r, size_t *len, int c)
{
    if (*len + 1 >= sizeof r->buf)
        return -1;
    r->buf[(*len)++] = (char)c;
    return 0;
}

/* Ends the current field and starts the next one; -1 when there are too many fields. */
static inline int csv__end_field(csv_reader *r, size_t *len)
{
    if (csv__put(r, len, '\0') < 0 || r->nfields + 1 >= CSV_MAX_FIELDS)
        return -1;
    r->fields[++r->nfields] = r->buf + *len;
    return 0;
}

/* Reads the next record into r->fields[0 .. r->nfields-1] (NUL-terminated strings inside
 * the reader, valid until the next call). Returns 1 when a record was read, 0 at the end of
 * the file, -1 on a malformed file (a record over CSV_MAX_RECORD bytes, more than
 * CSV_MAX_FIELDS - 1 fields, or an unterminated quoted field). An empty line is a record with
 * one empty field. Text after a closing quote and quotes inside unquoted fields are kept. */
static inline int csv_read(csv_reader *r)
{
    size_t len = 0;
    int c, quoted = 0, any = 0;

    r->nfields = 0;
    r->fields[0] = r->buf;
    r->line = r->next_line;
    if (!r->started) {
        r->started = 1;
        c = getc(r->f);
        if (c == 0xEF) {
            int c2 = getc(r->f), c3 = getc(r->f);
            if (c2 != 0xBB || c3 != 0xBF)
                return -1; /* a lone 0xEF cannot start a text file we understand */
        } else if (c != EOF) {
            ungetc(c, r->f);
        }
    }
    for (;;) {
        c = getc(r->f);
        if (c == EOF) {
            if (quoted)
                return -1;
            if (!any)
                return 0;
            return csv__end_field(r, &len) < 0 ? -1 : 1;
        }
        any = 1;
        if (quoted) {
            if (c == '"') {
                int n = getc(r->f);
                if (n == '"') {
                    if (csv__put(r, &len, '"') < 0)
                        return -1;
                    continue;
                }
                if (n != EOF)
                    ungetc(n, r->f);
                quoted = 0;
                continue;
            }
            if (c == '\n')
                r->next_line++;
            if (csv__put(r, &len, c) < 0)
                return -1;
            continue;
        }
        if (c == '"' && r->fields[r->nfields] == r->buf + len) {
            quoted = 1; /* a quote opens a field only at its start */
            continue;
        }
        if (c == ',') {
            if (csv__end_field(r, &len) < 0)
                return -1;
            continue;
        }
        if (c == '\r' || c == '\n') {
            if (c == '\r') {
                int n = getc(r->f);
                if (n != '\n' && n != EOF)
                    ungetc(n, r->f);
            }
            r->next_line++;
            return csv__end_field(r, &len) < 0 ? -1 : 1;
        }
        if (csv__put(r, &len, c) < 0)
            return -1;
    }
}

/* Returns the index of the field named `name` in a header record just read, or -1. */
static inline int csv_column(const csv_reader *r, const char *name)
{
    for (int i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i], name) == 0)
            return i;
    return -1;
}

/* Returns field `i` of the last record, or "" when the record has fewer fields (or i < 0). */
static inline const char *csv_field(const csv_reader *r, int i)
{
    return (i >= 0 && i < r->nfields) ? r->fields[i] : "";
}

#endif
