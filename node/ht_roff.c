//  ht_roff: escaping text for man(7) pages (see ht_roff.h)
#include <stdbool.h>
#include "ht_roff.h"

//  One character, escaped
static void
s_put (FILE *out, char c)
{
    if (c == '\\')
        fputs ("\\e", out);
    else
    if (c == '-')
        fputs ("\\-", out);
    else
        fputc (c, out);
}

void
ht_roff_text (FILE *out, const char *text)
{
    bool line_start = true;
    for (const char *scan = text; *scan; scan++) {
        if (line_start && *scan == '\n') {
            fputs (".PP\n", out);
            continue;
        }
        if (line_start && (*scan == '.' || *scan == '\''))
            fputs ("\\&", out);
        s_put (out, *scan);
        line_start = *scan == '\n';
    }
    if (!line_start)
        fputc ('\n', out);
}

void
ht_roff_inline (FILE *out, const char *text)
{
    for (const char *scan = text; *scan; scan++)
        if (*scan == '\n') {
            fputc (' ', out);
            while (scan [1] == ' ')
                scan++;             //  a continued line's indent
        }
        else
        if (*scan == '"')
            fputs ("\\(dq", out);
        else
            s_put (out, *scan);
}
