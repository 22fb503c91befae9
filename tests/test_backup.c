//  test_backup: a store's epoch and high-water mark, rollback found on
//  open, hot backups with their manifest, and restore.
#include <czmq.h>
#include <sys/stat.h>
#include "ht_test.h"
#include "ht_fixture.h"

//  A township store holding the PKI, in dir
static ht_store_t *
s_store (ht_fixture_t *fixture, char *dir)
{
    ht_store_t *store = ht_fixture_store_new (fixture, HT_FIXTURE_TOWNSHIP, 0, dir);
    ht_fixture_apply_certs (fixture, store);
    return store;
}

//  Apply count elders of community A (serials first..) as a batch from
//  peer "community-a" ending at its cursor
static void
s_receive (ht_fixture_t *fixture, ht_store_t *store, unsigned first, size_t count,
           uint64_t cursor)
{
    uint8_t epoch [HT_EPOCH_BYTES];
    memset (epoch, 0x5a, sizeof epoch);
    ht_origin_t origin = { .peer = "community-a", .epoch = epoch, .cursor = cursor };
    ht_record_t **records = calloc (count, sizeof *records);
    for (size_t i = 0; i < count; i++)
        records [i] = ht_fixture_elder (fixture, HT_FIXTURE_COMMUNITY_A_KEY,
                                        first + (unsigned) i, "冯十二", ht_fixture_hlc (1, 0));
    ck_assert_int_eq (ht_store_apply (store, records, count, &origin, NULL, NULL), 0);
    for (size_t i = 0; i < count; i++)
        ht_record_destroy (&records [i]);
    free (records);
}

//  Reopen the store in dir
static ht_store_t *
s_reopen (ht_store_t **store_p, const char *dir)
{
    ht_store_destroy (store_p);
    int error = 0;
    ht_store_t *store = ht_store_open (dir, 0, &error);
    ck_assert_msg (store, "reopen: %s", ht_strerror (error));
    return store;
}

//  A file's path in dir
static char *
s_path (const char *dir, const char *name)
{
    return zsys_sprintf ("%s/%s", dir, name);
}

//  Copy file from over file to
static void
s_copy (const char *from, const char *to)
{
    char *command = zsys_sprintf ("cp '%s' '%s'", from, to);
    ck_assert_int_eq (system (command), 0);
    zstr_free (&command);
}

START_TEST (a_store_reopened_as_it_was_keeps_its_epoch)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = s_store (fixture, dir);
    s_receive (fixture, store, 0, 3, 3);
    uint8_t epoch [HT_EPOCH_BYTES];
    memcpy (epoch, ht_store_epoch (store), HT_EPOCH_BYTES);
    for (int round = 0; round < 3; round++) {
        store = s_reopen (&store, dir);
        ck_assert_mem_eq (ht_store_epoch (store), epoch, HT_EPOCH_BYTES);
    }
    ck_assert_uint_eq (ht_store_counter (store, "epoch_changes"), 0);
    //  The mark names the epoch and the last sequence
    char *mark = s_path (dir, "hutong.hwm");
    char *text = NULL;
    zfile_t *file = zfile_new (NULL, mark);
    ck_assert_ptr_nonnull (file);
    ck_assert_int_eq (zfile_input (file), 0);
    zchunk_t *chunk = zfile_read (file, 200, 0);
    text = zchunk_strdup (chunk);
    char hex [2 * HT_EPOCH_BYTES + 1];
    char *expected = zsys_sprintf ("hutong-hwm 1 %s %020" PRIu64 "\n",
        ht_hex_encode (epoch, HT_EPOCH_BYTES, hex), ht_store_last_seq (store));
    ck_assert_str_eq (text, expected);
    zstr_free (&expected);
    zstr_free (&text);
    zchunk_destroy (&chunk);
    zfile_destroy (&file);
    zstr_free (&mark);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (a_data_file_behind_its_mark_takes_a_new_epoch_and_restarts_every_peer)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = s_store (fixture, dir);
    s_receive (fixture, store, 0, 3, 7);
    char *copy = s_path (dir, "old.mdb"), *data = s_path (dir, "data.mdb");
    json_t *manifest = NULL;
    ck_assert_int_eq (ht_store_backup (store, copy, &manifest), 0);
    json_decref (manifest);
    s_receive (fixture, store, 10, 2, 9);
    uint8_t epoch [HT_EPOCH_BYTES];
    memcpy (epoch, ht_store_epoch (store), HT_EPOCH_BYTES);
    //  The older copy goes over the data file, the mark stays
    ht_store_destroy (&store);
    s_copy (copy, data);
    store = s_reopen (&store, dir);
    ck_assert_mem_ne (ht_store_epoch (store), epoch, HT_EPOCH_BYTES);
    ck_assert_uint_eq (ht_store_counter (store, "epoch_changes"), 1);
    //  Every peer is read again from zero, in a full pass
    uint64_t cursor = 99, full = 0;
    ck_assert_int_eq (ht_store_peer_get (store, "community-a", NULL, &cursor, &full, NULL), 0);
    ck_assert_uint_eq (cursor, 0);
    ck_assert_uint_eq (full, HT_STORE_FULL_PENDING);
    //  The new epoch is the one the mark names now: no second change
    memcpy (epoch, ht_store_epoch (store), HT_EPOCH_BYTES);
    store = s_reopen (&store, dir);
    ck_assert_mem_eq (ht_store_epoch (store), epoch, HT_EPOCH_BYTES);
    ck_assert_uint_eq (ht_store_counter (store, "epoch_changes"), 1);
    zstr_free (&copy);
    zstr_free (&data);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (a_data_file_of_another_epoch_takes_a_new_epoch)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS], other_dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = s_store (fixture, dir);
    ht_store_t *other = s_store (fixture, other_dir);
    s_receive (fixture, store, 0, 3, 3);
    s_receive (fixture, other, 0, 5, 5);
    char *copy = s_path (dir, "other.mdb"), *data = s_path (dir, "data.mdb");
    json_t *manifest = NULL;
    ck_assert_int_eq (ht_store_backup (other, copy, &manifest), 0);
    json_decref (manifest);
    uint8_t epoch [HT_EPOCH_BYTES], other_epoch [HT_EPOCH_BYTES];
    memcpy (epoch, ht_store_epoch (store), HT_EPOCH_BYTES);
    memcpy (other_epoch, ht_store_epoch (other), HT_EPOCH_BYTES);
    ht_store_destroy (&store);
    //  Ahead of the mark, but not this store's epoch
    s_copy (copy, data);
    store = s_reopen (&store, dir);
    ck_assert_mem_ne (ht_store_epoch (store), epoch, HT_EPOCH_BYTES);
    ck_assert_mem_ne (ht_store_epoch (store), other_epoch, HT_EPOCH_BYTES);
    ck_assert_uint_eq (ht_store_counter (store, "epoch_changes"), 1);
    zstr_free (&copy);
    zstr_free (&data);
    ht_fixture_store_destroy (&other, other_dir);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (a_backup_holds_the_store_at_one_instant_with_its_manifest)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = s_store (fixture, dir);
    s_receive (fixture, store, 0, 4, 4);
    char *path = s_path (dir, "b.bak");
    json_t *manifest = NULL;
    ck_assert_int_eq (ht_store_backup (store, path, &manifest), 0);
    struct stat info;
    ck_assert_int_eq (stat (path, &info), 0);
    ck_assert_uint_eq (info.st_mode & 0777, 0600);
    char hex [2 * HT_EPOCH_BYTES + 1];
    ck_assert_str_eq (json_string_value (json_object_get (manifest, "format")), "hutong-backup 1");
    ck_assert_str_eq (json_string_value (json_object_get (manifest, "region")), HT_FIXTURE_TOWNSHIP);
    ck_assert_str_eq (json_string_value (json_object_get (manifest, "epoch")),
                      ht_hex_encode (ht_store_epoch (store), HT_EPOCH_BYTES, hex));
    ck_assert_int_eq (json_integer_value (json_object_get (manifest, "last_seq")),
                      (json_int_t) ht_store_last_seq (store));
    json_t *records = json_object_get (manifest, "records");
    ck_assert_int_eq (json_integer_value (json_object_get (records, "elder")), 4);
    ck_assert_int_eq (json_integer_value (json_object_get (records, "cert")),
                      (json_int_t) ht_store_count (store, "cert"));
    ck_assert_int_eq (json_integer_value (json_object_get (manifest, "bytes")), info.st_size);
    //  Read back from the file alone
    int error = 0;
    json_t *shown = ht_store_backup_manifest (path, &error);
    ck_assert_ptr_nonnull (shown);
    ck_assert_int_eq (json_integer_value (json_object_get (shown, "last_seq")),
                      json_integer_value (json_object_get (manifest, "last_seq")));
    json_decref (shown);
    json_decref (manifest);
    //  Never over an existing file; nothing left by a refused backup
    ck_assert_int_eq (ht_store_backup (store, path, &manifest), HT_EIO);
    ck_assert_ptr_null (manifest);
    char *partial = zsys_sprintf ("%s.partial", path);
    ck_assert_int_ne (stat (partial, &info), 0);
    //  A file that is not a backup, and one that is not there
    char *data = s_path (dir, "data.mdb");
    ck_assert_ptr_null (ht_store_backup_manifest (data, &error));
    ck_assert_int_eq (error, HT_EVERSION);
    ck_assert_ptr_null (ht_store_backup_manifest ("/nonexistent/b.bak", &error));
    ck_assert_int_eq (error, HT_ENOTFOUND);
    zstr_free (&partial);
    zstr_free (&data);
    zstr_free (&path);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

START_TEST (a_restore_puts_the_backup_in_place_with_a_new_epoch_and_keeps_the_old_file)
{
    ht_fixture_t *fixture = ht_fixture_new ();
    char dir [HT_FIXTURE_DIR_CHARS];
    ht_store_t *store = s_store (fixture, dir);
    s_receive (fixture, store, 0, 4, 4);
    char *path = zsys_sprintf ("%s.bak", dir);
    json_t *manifest = NULL;
    ck_assert_int_eq (ht_store_backup (store, path, &manifest), 0);
    uint64_t backup_seq = (uint64_t) json_integer_value (json_object_get (manifest, "last_seq"));
    json_decref (manifest);
    s_receive (fixture, store, 10, 3, 7);
    ck_assert_uint_eq (ht_store_count (store, "elder"), 7);
    uint8_t epoch [HT_EPOCH_BYTES];
    memcpy (epoch, ht_store_epoch (store), HT_EPOCH_BYTES);
    ht_store_destroy (&store);
    char saved [PATH_MAX];
    ck_assert_int_eq (ht_store_restore (path, dir, &manifest, saved, sizeof saved), 0);
    ck_assert_ptr_nonnull (strstr (saved, "data.mdb.before-restore-"));
    struct stat info;
    ck_assert_int_eq (stat (saved, &info), 0);
    store = s_reopen (&store, dir);
    ck_assert_uint_eq (ht_store_count (store, "elder"), 4);
    ck_assert_uint_eq (ht_store_last_seq (store), backup_seq);
    ck_assert_mem_ne (ht_store_epoch (store), epoch, HT_EPOCH_BYTES);
    char hex [2 * HT_EPOCH_BYTES + 1];
    ck_assert_str_eq (json_string_value (json_object_get (manifest, "new_epoch")),
                      ht_hex_encode (ht_store_epoch (store), HT_EPOCH_BYTES, hex));
    ck_assert_uint_eq (ht_store_counter (store, "epoch_changes"), 1);
    uint64_t cursor = 99, full = 0;
    ck_assert_int_eq (ht_store_peer_get (store, "community-a", NULL, &cursor, &full, NULL), 0);
    ck_assert_uint_eq (cursor, 0);
    ck_assert_uint_eq (full, HT_STORE_FULL_PENDING);
    //  The restored store is no longer a backup
    char *data = s_path (dir, "data.mdb");
    int error = 0;
    ck_assert_ptr_null (ht_store_backup_manifest (data, &error));
    //  A file that is not a backup is refused before anything moves
    json_decref (manifest);
    manifest = NULL;
    ck_assert_int_eq (ht_store_restore (saved, dir, &manifest, NULL, 0), HT_EVERSION);
    ck_assert_ptr_null (manifest);
    zstr_free (&data);
    unlink (path);
    unlink (saved);
    zstr_free (&path);
    ht_fixture_store_destroy (&store, dir);
    ht_fixture_destroy (&fixture);
}
END_TEST

static Suite *
s_backup_suite (void)
{
    Suite *suite = suite_create ("backup");
    TCase *mark = tcase_create ("mark");
    tcase_add_test (mark, a_store_reopened_as_it_was_keeps_its_epoch);
    tcase_add_test (mark, a_data_file_behind_its_mark_takes_a_new_epoch_and_restarts_every_peer);
    tcase_add_test (mark, a_data_file_of_another_epoch_takes_a_new_epoch);
    suite_add_tcase (suite, mark);
    TCase *backup = tcase_create ("backup");
    tcase_add_test (backup, a_backup_holds_the_store_at_one_instant_with_its_manifest);
    tcase_add_test (backup, a_restore_puts_the_backup_in_place_with_a_new_epoch_and_keeps_the_old_file);
    suite_add_tcase (suite, backup);
    return suite;
}

HT_TEST_MAIN (s_backup_suite)
