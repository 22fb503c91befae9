//  ht_roff: text for the manual pages the build generates (hutong(1),
//  hutongd(8), hutongd.cfg(5)) from the same tables as --help, so the
//  pages never drift from the program.
#ifndef HT_ROFF_H_INCLUDED
#define HT_ROFF_H_INCLUDED

#include <stdio.h>

//  Print text as roff body text and end the line: backslashes and
//  hyphens escaped, no line starting with a control character, and an
//  empty line a new paragraph (.PP)
void ht_roff_text (FILE *out, const char *text);

//  The same within a request's argument: no newline at the end, and a
//  newline with the indent after it as one space
void ht_roff_inline (FILE *out, const char *text);

#endif
