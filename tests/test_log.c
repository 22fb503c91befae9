//  test_log: log lines carry an ISO-8601 time with milliseconds and the
//  zone; log/file gets them, and opening it again (SIGHUP) follows a file
//  logrotate moved away; a file that cannot be opened leaves the lines
//  where they went; log/level keeps lower levels out.
#include <czmq.h>
#include <regex.h>
#include "ht_log.h"
#include "ht_test.h"

#define S_LINE_PATTERN \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} [EWID]: "

//  The timestamp of seconds.milliseconds in time zone tz (POSIX TZ text)
static void
s_stamp_in (const char *tz, time_t seconds, long ms, char *text)
{
    setenv ("TZ", tz, 1);
    tzset ();
    struct timespec at = { seconds, ms * 1000000 };
    ht_log_timestamp (&at, text);
    unsetenv ("TZ");
    tzset ();
}

START_TEST (a_timestamp_is_iso8601_with_milliseconds_and_the_zone)
{
    char text [HT_LOG_TIME_BYTES];
    //  2026-12-02T03:04:05Z
    time_t at = 1796180645;
    s_stamp_in ("UTC0", at, 123, text);
    ck_assert_str_eq (text, "2026-12-02T03:04:05.123+00:00");
    s_stamp_in ("CST-8", at, 7, text);
    ck_assert_str_eq (text, "2026-12-02T11:04:05.007+08:00");
    s_stamp_in ("NST+3:30", at, 999, text);
    ck_assert_str_eq (text, "2026-12-01T23:34:05.999-03:30");
}
END_TEST

//  A scratch directory with a configuration whose log/file is in it
typedef struct {
    char dir [64];
    char file [128];
    ht_config_t config;
} s_env_t;

static void
s_env_new (s_env_t *env)
{
    snprintf (env->dir, sizeof env->dir, "/tmp/test_log.XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (env->dir));
    snprintf (env->file, sizeof env->file, "%s/hutongd.log", env->dir);
    ht_config_defaults (&env->config);
    snprintf (env->config.log_file, sizeof env->config.log_file, "%s", env->file);
}

static void
s_env_destroy (s_env_t *env)
{
    ht_log_close ();
    char command [256];
    snprintf (command, sizeof command, "rm -rf '%s'", env->dir);
    ck_assert_int_eq (system (command), 0);
}

//  The whole text of a file ("" if it does not exist); caller frees
static char *
s_slurp (const char *path)
{
    zchunk_t *chunk = zchunk_slurp (path, 0);
    char *text = chunk? zchunk_strdup (chunk): strdup ("");
    zchunk_destroy (&chunk);
    return text;
}

static bool
s_matches (const char *text, const char *pattern)
{
    regex_t regex;
    ck_assert_int_eq (regcomp (&regex, pattern, REG_EXTENDED | REG_NEWLINE), 0);
    bool found = regexec (&regex, text, 0, NULL, 0) == 0;
    regfree (&regex);
    return found;
}

START_TEST (log_file_gets_lines_and_a_reopen_follows_a_moved_file)
{
    s_env_t env;
    s_env_new (&env);
    char error [512] = "";
    ck_assert_int_eq (ht_log_open (&env.config, error, sizeof error), HT_OK);
    ht_log_info ("node: first %d", 1);
    //  logrotate moves the file away, then hutongd gets SIGHUP
    char moved [160];
    snprintf (moved, sizeof moved, "%s.1", env.file);
    ck_assert_int_eq (rename (env.file, moved), 0);
    ht_log_warning ("node: second");    //  still into the moved file
    ck_assert_int_eq (ht_log_open (&env.config, error, sizeof error), HT_OK);
    ht_log_error ("node: third");
    char *old = s_slurp (moved), *fresh = s_slurp (env.file);
    ck_assert (s_matches (old, S_LINE_PATTERN "node: first 1$"));
    ck_assert (s_matches (old, S_LINE_PATTERN "node: second$"));
    ck_assert (strstr (old, "third") == NULL);
    ck_assert (s_matches (fresh, "^[^\n]+ E: node: third\n$"));
    ck_assert (s_matches (fresh, S_LINE_PATTERN));
    free (old);
    free (fresh);
    s_env_destroy (&env);
}
END_TEST

START_TEST (a_log_file_that_cannot_be_opened_leaves_the_lines_where_they_went)
{
    s_env_t env;
    s_env_new (&env);
    char error [512] = "";
    ck_assert_int_eq (ht_log_open (&env.config, error, sizeof error), HT_OK);
    ht_config_t broken = env.config;
    snprintf (broken.log_file, sizeof broken.log_file, "%s/missing/hutongd.log", env.dir);
    ck_assert_int_eq (ht_log_open (&broken, error, sizeof error), HT_EIO);
    ck_assert (strstr (error, "log/file: cannot open ") != NULL);
    ck_assert (strstr (error, "No such file or directory") != NULL);
    //  A symbolic link is refused: we would append to whatever it names
    char link_path [160];
    snprintf (link_path, sizeof link_path, "%s/link.log", env.dir);
    ck_assert_int_eq (symlink (env.file, link_path), 0);
    snprintf (broken.log_file, sizeof broken.log_file, "%s", link_path);
    ck_assert_int_eq (ht_log_open (&broken, error, sizeof error), HT_EUNSAFE);
    ck_assert (strstr (error, "symbolic link") != NULL);
    ht_log_info ("still here");
    char *text = s_slurp (env.file);
    ck_assert (s_matches (text, S_LINE_PATTERN "still here$"));
    free (text);
    s_env_destroy (&env);
}
END_TEST

START_TEST (log_level_keeps_lower_levels_out)
{
    s_env_t env;
    s_env_new (&env);
    snprintf (env.config.log_level, sizeof env.config.log_level, "warning");
    char error [512] = "";
    ck_assert_int_eq (ht_log_open (&env.config, error, sizeof error), HT_OK);
    HT_DEBUG (&env.config, "a debug line");
    HT_INFO (&env.config, "an info line");
    HT_WARNING (&env.config, "a warning line");
    HT_ERROR (&env.config, "an error line");
    char *text = s_slurp (env.file);
    ck_assert (strstr (text, "debug line") == NULL);
    ck_assert (strstr (text, "info line") == NULL);
    ck_assert (s_matches (text, " W: a warning line$"));
    ck_assert (s_matches (text, " E: an error line$"));
    free (text);
    s_env_destroy (&env);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ht_log");
    TCase *lines = tcase_create ("lines");
    tcase_add_test (lines, a_timestamp_is_iso8601_with_milliseconds_and_the_zone);
    tcase_add_test (lines, log_file_gets_lines_and_a_reopen_follows_a_moved_file);
    tcase_add_test (lines, a_log_file_that_cannot_be_opened_leaves_the_lines_where_they_went);
    tcase_add_test (lines, log_level_keeps_lower_levels_out);
    suite_add_tcase (suite, lines);
    return suite;
}

HT_TEST_MAIN (s_suite)
