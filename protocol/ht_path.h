//  ht_path: the rules for local files we trust. A store, a config file
//  or a key is only as safe as the directory it sits in: whoever can
//  write there can swap the file or plant a symbolic link that makes us
//  write somewhere else. Every program that opens such a path asks here.
#ifndef HT_PATH_H_INCLUDED
#define HT_PATH_H_INCLUDED

#include <stddef.h>
#include <sys/types.h>
#include "ht_error.h"

//  Check a file or directory the caller is about to trust: it must not be
//  a symbolic link, nor writable by group or others (mode & 022). Returns
//  0, HT_EUNSAFE, or HT_EIO if it cannot be examined (errno says why,
//  ENOENT if it does not exist). On error, writes a sentence naming the
//  path and the fix into reason (reason_size bytes), e.g.
//  "/srv/store is writable by group or others (mode 0775); run: chmod go-w /srv/store".
int ht_path_check (const char *path, char *reason, size_t reason_size) HT_WUR;

//  The same check for the directory that holds file_path ("." for a
//  bare file name): a key is safe only if nobody else can replace it
int ht_path_check_parent (const char *file_path, char *reason, size_t reason_size) HT_WUR;

//  Check a path we are about to write: 0 if it does not exist or is a
//  regular file with no other hard link; HT_EUNSAFE (with reason) if it
//  is a symbolic link, a hard link or not a regular file; HT_EIO if it
//  cannot be examined. Lets a caller refuse before writing any of
//  several files; ht_path_open still enforces the rule at open time.
int ht_path_check_target (const char *path, char *reason, size_t reason_size) HT_WUR;

//  Open path like open(2) with flags and mode, but never through a
//  symbolic link and never onto anything but a regular file with a single
//  link; O_TRUNC takes effect only after those checks. Returns the fd
//  (close-on-exec; the caller closes it), or -1 with *error HT_EUNSAFE
//  (and reason) or HT_EIO (errno, e.g. EEXIST with O_EXCL, ENOENT).
int ht_path_open (const char *path, int flags, mode_t mode, int *error,
                  char *reason, size_t reason_size);

#endif
