//  test_check: the parts of hutongd --check that need no network: the
//  store lock (free, held with its pid, a planted symbolic link), and the
//  report (text lines split between stdout and stderr, the JSON
//  document, the count of failures). integration/scenario_check.sh
//  breaks a real node's configuration in every other way.
#include <czmq.h>
#include <jansson.h>
#include <sys/file.h>
#include "ht_check.h"
#include "ht_test.h"

//  A scratch store directory
static void
s_dir (char *dir, size_t size)
{
    snprintf (dir, size, "/tmp/test_check.XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (dir));
}

static void
s_remove (const char *dir)
{
    char command [128];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    ck_assert_int_eq (system (command), 0);
}

START_TEST (a_store_without_a_lock_file_is_free)
{
    char dir [64], reason [256];
    s_dir (dir, sizeof dir);
    int pid = -1;
    ck_assert_int_eq (ht_check_lock (dir, &pid, reason, sizeof reason), 0);
    ck_assert_int_eq (pid, 0);
    //  The check created nothing
    char path [128];
    snprintf (path, sizeof path, "%s/%s", dir, HT_CHECK_LOCK_FILE);
    ck_assert_int_ne (access (path, F_OK), 0);
    s_remove (dir);
}
END_TEST

START_TEST (a_held_lock_is_reported_with_its_pid_and_a_released_one_is_free)
{
    char dir [64], path [128], reason [256];
    s_dir (dir, sizeof dir);
    snprintf (path, sizeof path, "%s/%s", dir, HT_CHECK_LOCK_FILE);
    //  As hutongd holds it: an exclusive flock and its pid in the file
    int fd = open (path, O_RDWR | O_CREAT, 0644);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (flock (fd, LOCK_EX | LOCK_NB), 0);
    ck_assert_int_eq (write (fd, "4242\n", 5), 5);
    int pid = 0;
    ck_assert_int_eq (ht_check_lock (dir, &pid, reason, sizeof reason), 1);
    ck_assert_int_eq (pid, 4242);
    //  Asking again gives the same answer: the check left the lock alone
    ck_assert_int_eq (ht_check_lock (dir, &pid, reason, sizeof reason), 1);
    close (fd);
    //  A stopped node leaves the file, not the lock
    ck_assert_int_eq (ht_check_lock (dir, &pid, reason, sizeof reason), 0);
    s_remove (dir);
}
END_TEST

START_TEST (a_lock_file_that_is_a_symbolic_link_is_not_followed)
{
    char dir [64], path [128], reason [256];
    s_dir (dir, sizeof dir);
    snprintf (path, sizeof path, "%s/%s", dir, HT_CHECK_LOCK_FILE);
    ck_assert_int_eq (symlink ("/etc/passwd", path), 0);
    int pid = 0;
    ck_assert_int_eq (ht_check_lock (dir, &pid, reason, sizeof reason), HT_EUNSAFE);
    ck_assert (strstr (reason, "symbolic link") != NULL);
    s_remove (dir);
}
END_TEST

//  The text of a memory stream so far
static char *
s_text (char **buffer, size_t *size, FILE *stream)
{
    fflush (stream);
    return *size? *buffer: "";
}

START_TEST (text_reports_passed_checks_on_stdout_and_failures_on_stderr)
{
    char *out_text = NULL, *err_text = NULL;
    size_t out_size = 0, err_size = 0;
    FILE *out = open_memstream (&out_text, &out_size);
    FILE *err = open_memstream (&err_text, &err_size);
    ht_check_t *check = ht_check_new ("county.cfg", false, out, err);
    ht_check_note (check, "key", true, "node/key %s is certified", "abc");
    ht_check_note (check, "lock", false, "store %s is in use (pid %d)", "/s", 7);
    ht_check_note (check, "client", false, "node/client is in use");
    ck_assert_uint_eq (ht_check_finish (check), 2);
    ht_check_destroy (&check);
    ck_assert_ptr_null (check);
    ck_assert_str_eq (s_text (&out_text, &out_size, out), "ok   key     node/key abc is certified\n");
    ck_assert_str_eq (s_text (&err_text, &err_size, err),
                      "FAIL lock    store /s is in use (pid 7)\n"
                      "FAIL client  node/client is in use\n"
                      "hutongd: county.cfg: 2 checks failed\n");
    fclose (out);
    fclose (err);
    free (out_text);
    free (err_text);
}
END_TEST

START_TEST (json_reports_every_check_in_one_document_with_text_kept_readable)
{
    char *out_text = NULL, *err_text = NULL;
    size_t out_size = 0, err_size = 0;
    FILE *out = open_memstream (&out_text, &out_size);
    FILE *err = open_memstream (&err_text, &err_size);
    ht_check_t *check = ht_check_new ("county.cfg", true, out, err);
    ht_check_note (check, "key", true, "certified as node '清城区'");
    ht_check_note (check, "parent", false, "parent/key is not certified");
    ck_assert_uint_eq (ht_check_finish (check), 1);
    ht_check_destroy (&check);
    const char *text = s_text (&out_text, &out_size, out);
    ck_assert (strstr (text, "清城区") != NULL);      //  UTF-8, not \u escapes
    json_t *report = json_loads (text, 0, NULL);
    ck_assert_ptr_nonnull (report);
    ck_assert (json_is_false (json_object_get (report, "ok")));
    ck_assert_int_eq (json_integer_value (json_object_get (report, "failed")), 1);
    json_t *checks = json_object_get (report, "checks");
    ck_assert_uint_eq (json_array_size (checks), 2);
    ck_assert_str_eq (json_string_value (json_object_get (json_array_get (checks, 1), "check")),
                      "parent");
    ck_assert (json_is_false (json_object_get (json_array_get (checks, 1), "ok")));
    json_decref (report);
    ck_assert_uint_eq (err_size, 0);   //  nothing on stderr with --json
    fclose (out);
    fclose (err);
    free (out_text);
    free (err_text);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_check");
    TCase *lock = tcase_create ("lock");
    tcase_add_test (lock, a_store_without_a_lock_file_is_free);
    tcase_add_test (lock, a_held_lock_is_reported_with_its_pid_and_a_released_one_is_free);
    tcase_add_test (lock, a_lock_file_that_is_a_symbolic_link_is_not_followed);
    suite_add_tcase (suite, lock);
    TCase *report = tcase_create ("report");
    tcase_add_test (report, text_reports_passed_checks_on_stdout_and_failures_on_stderr);
    tcase_add_test (report, json_reports_every_check_in_one_document_with_text_kept_readable);
    suite_add_tcase (suite, report);
    return suite;
}

HT_TEST_MAIN (s_suite)
