//  test_path: local files others could tamper with are refused — a
//  directory or file writable by group or others, a symbolic link, a
//  hard link or a FIFO where we meant to write a file — and opening
//  never follows a link. Every test works in its own mkdtemp directory.
#include "ht_path.h"
#include "ht_keys.h"
#include "ht_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_REASON_BYTES 512

//  A temporary directory, removed with everything in it
typedef struct {
    char dir [64];                  //  mkdtemp result, mode 0700
    char path [512];                //  last path built
} s_temp_t;

static void
s_temp_init (s_temp_t *temp)
{
    snprintf (temp->dir, sizeof temp->dir, "/tmp/ht_path_XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (temp->dir));
}

static const char *
s_temp_path (s_temp_t *temp, const char *name)
{
    snprintf (temp->path, sizeof temp->path, "%s/%s", temp->dir, name);
    return temp->path;
}

static void
s_temp_remove (s_temp_t *temp)
{
    char command [128];
    snprintf (command, sizeof command, "rm -rf '%s'", temp->dir);
    ck_assert_int_eq (system (command), 0);
}

//  Write text to a new file of mode
static void
s_write (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
    ck_assert_int_eq (chmod (path, mode), 0);
}

//  The first line of a file, in a static buffer
static const char *
s_read (const char *path)
{
    static char text [128];
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    ck_assert_ptr_nonnull (fgets (text, sizeof text, file));
    fclose (file);
    return text;
}

//  --------------------------------------------------------------------------
//  ht_path_check, ht_path_check_parent

START_TEST (a_private_directory_and_file_pass)
{
    s_temp_t temp;
    s_temp_init (&temp);
    char reason [S_REASON_BYTES] = "";
    ck_assert_int_eq (ht_path_check (temp.dir, reason, sizeof reason), 0);
    s_write (s_temp_path (&temp, "hutongd.cfg"), "node\n", 0644);
    ck_assert_int_eq (ht_path_check (temp.path, reason, sizeof reason), 0);
    ck_assert_int_eq (ht_path_check_parent (temp.path, reason, sizeof reason), 0);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_group_writable_directory_is_refused_with_the_fix)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ck_assert_int_eq (chmod (temp.dir, 0770), 0);
    char reason [S_REASON_BYTES], expected [S_REASON_BYTES];
    ck_assert_int_eq (ht_path_check (temp.dir, reason, sizeof reason), HT_EUNSAFE);
    snprintf (expected, sizeof expected, "%s is writable by group or others (mode 0770); "
              "run: chmod go-w %s", temp.dir, temp.dir);
    ck_assert_str_eq (reason, expected);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_world_writable_or_sticky_directory_is_refused)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ck_assert_int_eq (chmod (temp.dir, 0702), 0);
    ck_assert_int_eq (ht_path_check (temp.dir, NULL, 0), HT_EUNSAFE);
    ck_assert_int_eq (chmod (temp.dir, 01777), 0);
    ck_assert_int_eq (ht_path_check (temp.dir, NULL, 0), HT_EUNSAFE);
    ck_assert_int_eq (chmod (temp.dir, 0755), 0);
    ck_assert_int_eq (ht_path_check (temp.dir, NULL, 0), 0);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_file_others_may_write_is_refused)
{
    s_temp_t temp;
    s_temp_init (&temp);
    s_write (s_temp_path (&temp, "hutongd.cfg"), "node\n", 0646);
    char reason [S_REASON_BYTES];
    ck_assert_int_eq (ht_path_check (temp.path, reason, sizeof reason), HT_EUNSAFE);
    ck_assert_ptr_nonnull (strstr (reason, "(mode 0646); run: chmod go-w "));
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_symlink_to_a_safe_directory_is_refused)
{
    s_temp_t temp;
    s_temp_init (&temp);
    char link_path [600], with_slash [700], reason [S_REASON_BYTES];
    snprintf (link_path, sizeof link_path, "%s", s_temp_path (&temp, "store"));
    ck_assert_int_eq (mkdir (s_temp_path (&temp, "real"), 0700), 0);
    ck_assert_int_eq (symlink (temp.path, link_path), 0);
    ck_assert_int_eq (ht_path_check (link_path, reason, sizeof reason), HT_EUNSAFE);
    ck_assert_ptr_nonnull (strstr (reason, "is a symbolic link"));
    //  lstat ("store/") would follow the link: the slash must not hide it
    snprintf (with_slash, sizeof with_slash, "%s//", link_path);
    ck_assert_int_eq (ht_path_check (with_slash, NULL, 0), HT_EUNSAFE);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_missing_path_is_an_io_error_with_enoent)
{
    char reason [S_REASON_BYTES];
    ck_assert_int_eq (ht_path_check ("/nonexistent/store", reason, sizeof reason), HT_EIO);
    ck_assert_int_eq (errno, ENOENT);
    ck_assert_ptr_nonnull (strstr (reason, "/nonexistent/store"));
    ck_assert_int_eq (ht_path_check ("", NULL, 0), HT_EIO);
}
END_TEST

START_TEST (a_key_directory_others_may_write_is_refused)
{
    s_temp_t temp;
    s_temp_init (&temp);
    char key_path [600], reason [S_REASON_BYTES];
    snprintf (key_path, sizeof key_path, "%s", s_temp_path (&temp, "node.key"));
    s_write (key_path, "{}", 0600);
    ck_assert_int_eq (ht_path_check_parent (key_path, reason, sizeof reason), 0);
    ck_assert_int_eq (chmod (temp.dir, 0777), 0);
    ck_assert_int_eq (ht_path_check_parent (key_path, reason, sizeof reason), HT_EUNSAFE);
    ck_assert_ptr_nonnull (strstr (reason, "directory "));
    ck_assert_ptr_nonnull (strstr (reason, "(holding "));
    ck_assert_ptr_nonnull (strstr (reason, "chmod go-w "));
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_bare_file_name_checks_the_working_directory)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ck_assert_int_eq (chdir (temp.dir), 0);
    ck_assert_int_eq (ht_path_check_parent ("node.key", NULL, 0), 0);
    ck_assert_int_eq (chmod (temp.dir, 0775), 0);
    char reason [S_REASON_BYTES];
    ck_assert_int_eq (ht_path_check_parent ("node.key", reason, sizeof reason), HT_EUNSAFE);
    ck_assert_ptr_nonnull (strstr (reason, "run: chmod go-w ."));
    ck_assert_int_eq (chdir ("/"), 0);
    s_temp_remove (&temp);
}
END_TEST

//  --------------------------------------------------------------------------
//  ht_path_check_target, ht_path_open

START_TEST (a_write_target_may_be_absent_or_a_plain_file)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ck_assert_int_eq (ht_path_check_target (s_temp_path (&temp, "new.key"), NULL, 0), 0);
    s_write (temp.path, "old", 0600);
    ck_assert_int_eq (ht_path_check_target (temp.path, NULL, 0), 0);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_write_target_that_is_a_link_or_not_a_file_is_refused)
{
    s_temp_t temp;
    s_temp_init (&temp);
    char victim [600], reason [S_REASON_BYTES];
    snprintf (victim, sizeof victim, "%s", s_temp_path (&temp, "victim"));
    s_write (victim, "precious", 0600);
    ck_assert_int_eq (symlink (victim, s_temp_path (&temp, "soft.key")), 0);
    ck_assert_int_eq (ht_path_check_target (temp.path, reason, sizeof reason), HT_EUNSAFE);
    ck_assert_ptr_nonnull (strstr (reason, "is a symbolic link"));
    ck_assert_int_eq (link (victim, s_temp_path (&temp, "hard.key")), 0);
    ck_assert_int_eq (ht_path_check_target (temp.path, reason, sizeof reason), HT_EUNSAFE);
    ck_assert_ptr_nonnull (strstr (reason, "hard links"));
    ck_assert_int_eq (ht_path_check_target (temp.dir, NULL, 0), HT_EUNSAFE);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (open_creates_a_file_with_the_mode_asked)
{
    s_temp_t temp;
    s_temp_init (&temp);
    int error = -1;
    int fd = ht_path_open (s_temp_path (&temp, "hutongd.lock"), O_RDWR | O_CREAT, 0600,
                           &error, NULL, 0);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (error, HT_OK);
    ck_assert_int_eq (fcntl (fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne (fcntl (fd, F_GETFD) & FD_CLOEXEC, 0);
    struct stat info;
    ck_assert_int_eq (fstat (fd, &info), 0);
    ck_assert_int_eq (info.st_mode & 0777, 0600);
    close (fd);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (open_never_follows_a_symlink_even_to_truncate)
{
    s_temp_t temp;
    s_temp_init (&temp);
    char victim [600], reason [S_REASON_BYTES];
    snprintf (victim, sizeof victim, "%s", s_temp_path (&temp, "victim"));
    s_write (victim, "precious", 0600);
    ck_assert_int_eq (symlink (victim, s_temp_path (&temp, "hutongd.lock")), 0);
    int error = HT_OK;
    int fd = ht_path_open (temp.path, O_RDWR | O_CREAT | O_TRUNC, 0644, &error,
                           reason, sizeof reason);
    ck_assert_int_eq (fd, -1);
    ck_assert_int_eq (error, HT_EUNSAFE);
    ck_assert_ptr_nonnull (strstr (reason, "hutongd.lock is a symbolic link"));
    ck_assert_str_eq (s_read (victim), "precious");
    s_temp_remove (&temp);
}
END_TEST

START_TEST (open_refuses_a_hard_link_and_leaves_it_whole)
{
    s_temp_t temp;
    s_temp_init (&temp);
    char victim [600];
    snprintf (victim, sizeof victim, "%s", s_temp_path (&temp, "victim"));
    s_write (victim, "precious", 0600);
    ck_assert_int_eq (link (victim, s_temp_path (&temp, "node.key")), 0);
    int error = HT_OK;
    ck_assert_int_eq (ht_path_open (temp.path, O_WRONLY | O_CREAT | O_TRUNC, 0600,
                                    &error, NULL, 0), -1);
    ck_assert_int_eq (error, HT_EUNSAFE);
    ck_assert_str_eq (s_read (victim), "precious");
    s_temp_remove (&temp);
}
END_TEST

START_TEST (open_refuses_a_fifo_without_hanging)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ck_assert_int_eq (mkfifo (s_temp_path (&temp, "hutongd.lock"), 0600), 0);
    int error = HT_OK;
    ck_assert_int_eq (ht_path_open (temp.path, O_RDWR | O_CREAT, 0600, &error, NULL, 0), -1);
    ck_assert_int_eq (error, HT_EUNSAFE);
    //  Write-only, a FIFO with no reader fails at once (ENXIO)
    ck_assert_int_eq (ht_path_open (temp.path, O_WRONLY | O_CREAT, 0600, &error, NULL, 0), -1);
    ck_assert_int_ne (error, HT_OK);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (open_truncates_a_plain_file_only_when_asked)
{
    s_temp_t temp;
    s_temp_init (&temp);
    s_write (s_temp_path (&temp, "hutongd.lock"), "1234\n", 0644);
    int error = HT_OK;
    int fd = ht_path_open (temp.path, O_RDWR | O_CREAT, 0644, &error, NULL, 0);
    ck_assert_int_ge (fd, 0);
    close (fd);
    ck_assert_str_eq (s_read (temp.path), "1234\n");
    fd = ht_path_open (temp.path, O_WRONLY | O_TRUNC, 0644, &error, NULL, 0);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, "99\n", 3), 3);
    close (fd);
    ck_assert_str_eq (s_read (temp.path), "99\n");
    s_temp_remove (&temp);
}
END_TEST

START_TEST (open_with_o_excl_refuses_an_existing_file)
{
    s_temp_t temp;
    s_temp_init (&temp);
    s_write (s_temp_path (&temp, "node.key"), "old", 0600);
    int error = HT_OK;
    char reason [S_REASON_BYTES];
    ck_assert_int_eq (ht_path_open (temp.path, O_WRONLY | O_CREAT | O_EXCL, 0600, &error,
                                    reason, sizeof reason), -1);
    ck_assert_int_eq (error, HT_EIO);
    ck_assert_int_eq (errno, EEXIST);
    ck_assert_ptr_nonnull (strstr (reason, "File exists"));
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_key_saved_over_a_symlink_leaves_its_target_untouched)
{
    s_temp_t temp;
    s_temp_init (&temp);
    char victim [600];
    snprintf (victim, sizeof victim, "%s", s_temp_path (&temp, "victim"));
    s_write (victim, "precious", 0644);
    ck_assert_int_eq (symlink (victim, s_temp_path (&temp, "node.key")), 0);
    uint8_t seed [32] = { 1 };
    ht_keypair_t *key = ht_keypair_from_seed (seed, "node");
    ck_assert_ptr_nonnull (key);
    ck_assert_int_eq (ht_keypair_save (key, temp.path, true), HT_EUNSAFE);
    ck_assert_int_eq (ht_keypair_save_public (key, temp.path, true), HT_EUNSAFE);
    ck_assert_str_eq (s_read (victim), "precious");
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_path");
    TCase *check = tcase_create ("check");
    tcase_add_test (check, a_private_directory_and_file_pass);
    tcase_add_test (check, a_group_writable_directory_is_refused_with_the_fix);
    tcase_add_test (check, a_world_writable_or_sticky_directory_is_refused);
    tcase_add_test (check, a_file_others_may_write_is_refused);
    tcase_add_test (check, a_symlink_to_a_safe_directory_is_refused);
    tcase_add_test (check, a_missing_path_is_an_io_error_with_enoent);
    tcase_add_test (check, a_key_directory_others_may_write_is_refused);
    tcase_add_test (check, a_bare_file_name_checks_the_working_directory);
    suite_add_tcase (suite, check);
    TCase *open_case = tcase_create ("open");
    tcase_add_test (open_case, a_write_target_may_be_absent_or_a_plain_file);
    tcase_add_test (open_case, a_write_target_that_is_a_link_or_not_a_file_is_refused);
    tcase_add_test (open_case, open_creates_a_file_with_the_mode_asked);
    tcase_add_test (open_case, open_never_follows_a_symlink_even_to_truncate);
    tcase_add_test (open_case, open_refuses_a_hard_link_and_leaves_it_whole);
    tcase_add_test (open_case, open_refuses_a_fifo_without_hanging);
    tcase_add_test (open_case, open_truncates_a_plain_file_only_when_asked);
    tcase_add_test (open_case, open_with_o_excl_refuses_an_existing_file);
    tcase_add_test (open_case, a_key_saved_over_a_symlink_leaves_its_target_untouched);
    suite_add_tcase (suite, open_case);
    return suite;
}

HT_TEST_MAIN (s_suite)
