//  hutong backup, restore: a node store's hot copy, and putting one back.
//  The store does the work (ht_store_backup, ht_store_restore); these
//  commands check what an operator could get wrong first.
#include "hutong.h"
#include "ht_check.h"

//  --------------------------------------------------------------------------
//  backup

static const ht_option_t s_backup_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "the node's store directory (the node may be running)"),
    HT_OPTION_TEXT ("out", "FILE", "the backup file to write (must not exist; mode 0600)"),
    HT_OPTION_TEXT ("show", "FILE", "print the manifest of an existing backup instead"),
    HT_OPTION_FLAG ("json", "print the manifest as JSON"),
    HT_OPTION_END
};

static const ht_command_spec_t s_backup_spec = {
    "hutong backup --store DIR --out FILE [--json]\n"
    "       hutong backup --show FILE [--json]",
    "Take a consistent, compacted copy of a node's store while the node\n"
    "runs: one LMDB read transaction, so writers go on and the copy holds\n"
    "every commit up to one instant. The file is an LMDB data file (mode\n"
    "0600: it holds personal data and the pseudonym key) whose manifest\n"
    "records region, epoch, last sequence, time and record counts. Put it\n"
    "back with 'hutong restore'. A failed backup leaves no file.",
    s_backup_options
};

//  Print a manifest for a person, or as JSON
static void
s_manifest_print (const json_t *manifest, bool as_json, const char *what)
{
    if (as_json) {
        ht_print_json (manifest);
        return;
    }
    const char *keys [] = { "region", "time", "epoch", "last_seq", "changes",
                            "versions", "quarantine", "bytes", "new_epoch" };
    printf ("%s\n", what);
    for (size_t index = 0; index < sizeof keys / sizeof keys [0]; index++) {
        json_t *value = json_object_get (manifest, keys [index]);
        if (json_is_string (value))
            printf ("  %-11s %s\n", keys [index], json_string_value (value));
        else
        if (json_is_integer (value))
            printf ("  %-11s %" JSON_INTEGER_FORMAT "\n", keys [index], json_integer_value (value));
    }
    const char *kind;
    json_t *count;
    printf ("  records    ");
    json_object_foreach ((json_t *) json_object_get (manifest, "records"), kind, count)
        if (json_integer_value (count))
            printf (" %s %" JSON_INTEGER_FORMAT, kind, json_integer_value (count));
    printf ("\n");
}

int
ht_cmd_backup (int argc, char **argv)
{
    enum { STORE, OUT, SHOW, JSON };
    const char *values [4];
    int first_arg, rc = ht_args_parse (&s_backup_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    bool as_json = values [JSON] != NULL;
    if (values [SHOW]) {
        int code;
        json_t *manifest = ht_store_backup_manifest (values [SHOW], &code);
        if (!manifest)
            return ht_fail (values [SHOW], code == HT_EVERSION? HT_EVERSION: code);
        s_manifest_print (manifest, as_json, values [SHOW]);
        json_decref (manifest);
        return HT_EXIT_OK;
    }
    if (!values [STORE] || !values [OUT])
        return ht_usage_error ("backup: --store and --out are required (or --show FILE)");
    struct stat info;
    if (stat (values [OUT], &info) == 0)
        return ht_usage_error ("backup: %s exists; name a new file (a backup never "
                               "overwrites one)", values [OUT]);
    ht_store_t *store = ht_open_store (values [STORE]);
    if (!store)
        return HT_EXIT_ERROR;
    json_t *manifest = NULL;
    rc = ht_store_backup (store, values [OUT], &manifest);
    ht_store_destroy (&store);
    if (rc)
        return ht_fail ("backup", rc);
    s_manifest_print (manifest, as_json, values [OUT]);
    json_decref (manifest);
    return HT_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  restore

static const ht_option_t s_restore_options [] = {
    HT_OPTION_TEXT ("from", "FILE", "the backup file (from 'hutong backup')"),
    HT_OPTION_TEXT ("store", "DIR", "the node's store directory (the node must be stopped)"),
    HT_OPTION_FLAG ("force", "restore a backup of another region than the store's"),
    HT_OPTION_FLAG ("json", "print the result as JSON"),
    HT_OPTION_END
};

static const ht_command_spec_t s_restore_spec = {
    "hutong restore --from FILE --store DIR [--force] [--json]",
    "Put a backup in place as a stopped node's store and give it a new\n"
    "epoch. When the node starts, its neighbours read it again from zero\n"
    "and it asks each of them in a full pass for everything it should\n"
    "hold, including the records written here after the backup was taken:\n"
    "every record that had reached a neighbour comes back. The data file\n"
    "replaced is kept beside it (data.mdb.before-restore-<time>).",
    s_restore_options
};

//  Hold the node's lock on dir (hutongd.lock), so no node starts on a
//  store being replaced; -1 after saying why
static int
s_lock_stopped (const char *dir)
{
    char reason [256];
    int pid = 0, error = HT_OK;
    int fd = ht_check_lock_take (dir, &pid, &error, reason, sizeof reason);
    if (fd < 0 && error == HT_ELOCKED && pid)
        fprintf (stderr, "hutong: restore: %s is in use by a running hutongd (pid %d); "
                 "stop the node first\n", dir, pid);
    else
    if (fd < 0 && error == HT_ELOCKED)
        fprintf (stderr, "hutong: restore: %s is in use by a running hutongd; stop the "
                 "node first\n", dir);
    else
    if (fd < 0)
        fprintf (stderr, "hutong: restore: cannot take the store's lock: %s\n", reason);
    return fd;
}

//  The region of the store in dir, if one is there ("" if none)
static void
s_store_region (const char *dir, char region [HT_REGION_BYTES])
{
    *region = 0;
    int error;
    ht_store_t *store = ht_store_open (dir, 0, &error);
    if (store)
        snprintf (region, HT_REGION_BYTES, "%s", ht_store_region (store));
    ht_store_destroy (&store);
}

int
ht_cmd_restore (int argc, char **argv)
{
    enum { FROM, STORE, FORCE, JSON };
    const char *values [4];
    int first_arg, rc = ht_args_parse (&s_restore_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [FROM] || !values [STORE])
        return ht_usage_error ("restore: --from and --store are required");
    int code;
    json_t *manifest = ht_store_backup_manifest (values [FROM], &code);
    if (!manifest) {
        fprintf (stderr, "hutong: restore: %s: %s\n", values [FROM], code == HT_EVERSION
                 ? "not a Hutong backup (no manifest of this format)": ht_strerror (code));
        return HT_EXIT_ERROR;
    }
    struct stat info;
    if (stat (values [STORE], &info) != 0 || !S_ISDIR (info.st_mode)) {
        json_decref (manifest);
        return ht_usage_error ("restore: --store %s is not a directory (make it with "
                               "mkdir -m 700)", values [STORE]);
    }
    int lock = s_lock_stopped (values [STORE]);
    if (lock < 0) {
        json_decref (manifest);
        return HT_EXIT_ERROR;
    }
    char region [HT_REGION_BYTES];
    s_store_region (values [STORE], region);
    char backup_region [HT_REGION_BYTES];
    snprintf (backup_region, sizeof backup_region, "%s",
              json_string_value (json_object_get (manifest, "region")));
    json_decref (manifest);
    if (*region && !streq (region, backup_region) && !values [FORCE]) {
        close (lock);
        fprintf (stderr, "hutong: restore: the backup is of region %s, the store in %s of "
                 "%s (give --force to replace it anyway)\n", backup_region, values [STORE],
                 region);
        return HT_EXIT_ERROR;
    }
    char saved [PATH_MAX];
    rc = ht_store_restore (values [FROM], values [STORE], &manifest, saved, sizeof saved);
    close (lock);
    if (rc)
        return ht_fail ("restore", rc);
    if (*saved)
        json_object_set_new (manifest, "replaced", json_string (saved));
    if (values [JSON])
        ht_print_json (manifest);
    else {
        s_manifest_print (manifest, false, "restored");
        if (*saved)
            printf ("  the data file it replaced is kept as %s\n", saved);
        printf ("Start the node: its neighbours read it again from zero, and it asks\n"
                "each of them for all it should hold, including what was written here\n"
                "after the backup.\n");
    }
    json_decref (manifest);
    return HT_EXIT_OK;
}
