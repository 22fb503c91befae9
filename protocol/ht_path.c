//  ht_path: refuse local files and directories others could tamper with,
//  and open files without following symbolic links.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ht_path.h"

//  Write a sentence into reason and return code; errno survives, so a
//  caller can still say why a system call failed
static int
s_explain (char *reason, size_t reason_size, int code, const char *format, ...)
{
    int saved_errno = errno;
    if (reason && reason_size) {
        va_list args;
        va_start (args, format);
        vsnprintf (reason, reason_size, format, args);
        va_end (args);
    }
    errno = saved_errno;
    return code;
}

//  Copy path without trailing slashes: lstat ("link/") would follow the
//  link and so miss it. False if the path does not fit.
static bool
s_trimmed (const char *path, char copy [PATH_MAX])
{
    size_t length = strlen (path);
    if (length == 0 || length >= PATH_MAX)
        return false;
    memcpy (copy, path, length + 1);
    while (length > 1 && copy [length - 1] == '/')
        copy [--length] = 0;
    return true;
}

//  Check one path; holding names the file it contains (for the message)
//  when the caller asked about a file's directory, else NULL
static int
s_check (const char *path, const char *holding, char *reason, size_t reason_size)
{
    char what [2 * PATH_MAX + 32];
    if (holding)
        snprintf (what, sizeof what, "directory %s (holding %s)", path, holding);
    else
        snprintf (what, sizeof what, "%s", path);
    struct stat info;
    if (lstat (path, &info) != 0)
        return s_explain (reason, reason_size, HT_EIO, "cannot examine %s: %s",
                          what, strerror (errno));
    if (S_ISLNK (info.st_mode))
        return s_explain (reason, reason_size, HT_EUNSAFE,
                          "%s is a symbolic link; name the real path instead", what);
    //  Whoever may write here may replace what we are about to trust
    if (info.st_mode & (S_IWGRP | S_IWOTH))
        return s_explain (reason, reason_size, HT_EUNSAFE,
                          "%s is writable by group or others (mode %04o); run: chmod go-w %s",
                          what, (unsigned) (info.st_mode & 07777), path);
    return 0;
}

int
ht_path_check (const char *path, char *reason, size_t reason_size)
{
    char trimmed [PATH_MAX];
    if (!path || !s_trimmed (path, trimmed)) {
        errno = ENAMETOOLONG;
        return s_explain (reason, reason_size, HT_EIO, "path is empty or too long");
    }
    return s_check (trimmed, NULL, reason, reason_size);
}

int
ht_path_check_parent (const char *file_path, char *reason, size_t reason_size)
{
    char directory [PATH_MAX];
    if (!file_path || !s_trimmed (file_path, directory)) {
        errno = ENAMETOOLONG;
        return s_explain (reason, reason_size, HT_EIO, "path is empty or too long");
    }
    char *slash = strrchr (directory, '/');
    if (!slash)
        strcpy (directory, ".");
    else
    if (slash == directory)
        directory [1] = 0;          //  a file in "/"
    else
        *slash = 0;
    return s_check (directory, file_path, reason, reason_size);
}

#define S_LINK_PROBLEM "is a symbolic link; refusing to follow it"

//  What makes an existing file unfit to write, or NULL. A second hard
//  link would let a planted name (hard links need no write access to
//  the target) redirect our write to someone else's file.
static const char *
s_target_problem (const struct stat *info)
{
    if (S_ISLNK (info->st_mode))
        return S_LINK_PROBLEM;
    if (!S_ISREG (info->st_mode))
        return "is not a regular file";
    if (info->st_nlink > 1)
        return "has other hard links; refusing to write to it";
    return NULL;
}

int
ht_path_check_target (const char *path, char *reason, size_t reason_size)
{
    struct stat info;
    if (lstat (path, &info) != 0)
        return errno == ENOENT? 0: s_explain (reason, reason_size, HT_EIO,
                                              "cannot examine %s: %s", path, strerror (errno));
    const char *problem = s_target_problem (&info);
    return problem? s_explain (reason, reason_size, HT_EUNSAFE, "%s %s", path, problem): 0;
}

//  Vet what an open fd refers to, then truncate if asked and make it
//  blocking again; 0 or an error code with reason
static int
s_vet_open_file (int fd, const char *path, int flags, char *reason, size_t reason_size)
{
    struct stat info;
    if (fstat (fd, &info) != 0)
        return s_explain (reason, reason_size, HT_EIO, "%s: %s", path, strerror (errno));
    const char *problem = s_target_problem (&info);
    if (problem)
        return s_explain (reason, reason_size, HT_EUNSAFE, "%s %s", path, problem);
    int status = fcntl (fd, F_GETFL);
    if (((flags & O_TRUNC) && ftruncate (fd, 0) != 0)
    ||  status < 0 || fcntl (fd, F_SETFL, status & ~O_NONBLOCK) != 0)
        return s_explain (reason, reason_size, HT_EIO, "%s: %s", path, strerror (errno));
    return HT_OK;
}

int
ht_path_open (const char *path, int flags, mode_t mode, int *error_p,
              char *reason, size_t reason_size)
{
    int ignored;
    int *error = error_p? error_p: &ignored;
    //  O_NOFOLLOW stops the link; O_NONBLOCK keeps a planted FIFO from
    //  hanging the open until the vetting refuses it; O_TRUNC waits
    //  until we know what we would truncate
    int fd = open (path, (flags & ~O_TRUNC) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
    if (fd < 0) {
        bool link = errno == ELOOP;
        *error = link? s_explain (reason, reason_size, HT_EUNSAFE, "%s %s", path, S_LINK_PROBLEM)
                     : s_explain (reason, reason_size, HT_EIO, "%s: %s", path, strerror (errno));
        return -1;
    }
    *error = s_vet_open_file (fd, path, flags, reason, reason_size);
    if (*error) {
        int saved_errno = errno;
        close (fd);
        errno = saved_errno;
        return -1;
    }
    return fd;
}
