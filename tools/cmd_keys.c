//  hutong keygen, cert issue, cert show, cert revoke.
#include <sodium.h>
#include "hutong.h"
#include "ht_path.h"

#define S_DAY_MS (24ull * 3600 * 1000)
#define S_DEFAULT_DAYS 3650
#define S_MAX_DAYS 36500            //  a century
#define S_REASON_MAX_CHARS 512

//  --------------------------------------------------------------------------
//  keygen

static const ht_option_t s_keygen_options [] = {
    HT_OPTION_TEXT ("out", "FILE", "key file to write (0600); FILE.pub gets the public key"),
    HT_OPTION_TEXT ("name", "NAME", "label stored in the key file"),
    HT_OPTION_FLAG ("idkey", "write a network pseudonym key (32 random bytes) instead"),
    HT_OPTION_FLAG ("force", "overwrite existing files"),
    HT_OPTION_FLAG ("passphrase", "encrypt the key file with a passphrase (asked on the terminal)"),
    HT_OPTION_TEXT ("passphrase-file", "FILE", "encrypt it with the passphrase in FILE (0600; one line)"),
    HT_OPTION_END
};

static const ht_command_spec_t s_keygen_spec = {
    "hutong keygen --out FILE [--name NAME] [--passphrase | --passphrase-file FILE]\n"
    "              [--idkey] [--force]",
    "Create an Ed25519 key pair (its Curve25519 pair for CurveZMQ is derived\n"
    "from it). The key file is written 0600; FILE.pub holds the public key.\n"
    "With --passphrase, the secret key is sealed (Argon2id and XSalsa20-\n"
    "Poly1305) under a passphrase: from --passphrase-file, else\n"
    "$HUTONG_PASSPHRASE, else asked twice on the terminal. Commands that use\n"
    "an encrypted key take its passphrase from $HUTONG_PASSPHRASE_FILE,\n"
    "$HUTONG_PASSPHRASE or the terminal; hutongd from node/key_passphrase_file\n"
    "or the environment. With --idkey, write instead the network's pseudonym\n"
    "key, which keys the hash that turns citizen ID numbers into elder\n"
    "record keys. Prints {\"public\": hex, \"file\": FILE, \"encrypted\": bool}.",
    s_keygen_options
};

//  Refuse, before anything is written, any of the paths that is a
//  symbolic link or not a plain file: rewriting a key through a link
//  planted in its place would clobber whatever the link points at.
//  ht_path_open enforces the same rule again at each open.
static int
s_check_targets (const char *key_path, const char *public_path)
{
    char reason [S_REASON_MAX_CHARS];
    if (ht_path_check_target (key_path, reason, sizeof reason)
    ||  (public_path && ht_path_check_target (public_path, reason, sizeof reason))) {
        fprintf (stderr, "hutong: keygen: %s; nothing written (remove it or choose "
                 "another --out)\n", reason);
        return HT_EXIT_ERROR;
    }
    return HT_EXIT_OK;
}

//  Write a fresh 32-byte pseudonym key as hex, mode 0600
static int
s_write_idkey (const char *path, bool force)
{
    uint8_t idkey [HT_IDKEY_BYTES];
    char hex [2 * HT_IDKEY_BYTES + 2], reason [S_REASON_MAX_CHARS];
    randombytes_buf (idkey, sizeof idkey);
    ht_hex_encode (idkey, sizeof idkey, hex);
    strcat (hex, "\n");
    sodium_memzero (idkey, sizeof idkey);
    int error = HT_OK;
    int fd = ht_path_open (path, O_WRONLY | O_CREAT | (force? O_TRUNC: O_EXCL), 0600,
                           &error, reason, sizeof reason);
    bool ok = fd >= 0 && write (fd, hex, strlen (hex)) == (ssize_t) strlen (hex);
    if (fd >= 0)
        close (fd);
    sodium_memzero (hex, sizeof hex);
    if (!ok) {
        fprintf (stderr, "hutong: cannot write %s: %s%s\n", path,
                 fd < 0? reason: strerror (errno),
                 fd < 0 && errno == EEXIST? " (use --force to overwrite)": "");
        return HT_EXIT_ERROR;
    }
    printf ("{\"idkey\":\"%s\"}\n", path);
    return HT_EXIT_OK;
}

//  Seal key under a passphrase from passphrase_file, the environment or
//  the terminal (asked twice) and save it; HT_EPASSPHRASE or
//  HT_EXIT_USAGE after printing why no passphrase, else as
//  ht_keypair_save_encrypted
static int
s_save_encrypted (const ht_keypair_t *key, const char *path, const char *passphrase_file,
                  bool force)
{
    ht_passphrase_source_t source = {
        .file = passphrase_file, .environment = true, .terminal = true
    };
    char *passphrase = (char *) sodium_malloc (HT_PASSPHRASE_BUFFER_BYTES);
    size_t length = 0;
    int rc = passphrase? ht_passphrase_get (&source, true, passphrase,
                                            HT_PASSPHRASE_BUFFER_BYTES, &length)
                       : HT_ENOMEM;
    if (rc == HT_OK)
        rc = ht_keypair_save_encrypted (key, path, passphrase, length, force);
    else
    if (rc == HT_EPASSPHRASE)
        fprintf (stderr, "hutong: keygen: no passphrase: give --passphrase-file FILE, set "
                 "HUTONG_PASSPHRASE, or run on a terminal; nothing written\n");
    else {
        fprintf (stderr, "hutong: keygen: %s%s: %s; nothing written\n",
                 passphrase_file? "passphrase file ": "passphrase",
                 passphrase_file? passphrase_file: "",
                 rc == HT_EINVAL? "empty, longer than 1024 bytes, or the two entries differ"
                                : ht_strerror (rc));
        rc = HT_EXIT_USAGE;
    }
    sodium_free (passphrase);
    return rc;
}

int
ht_cmd_keygen (int argc, char **argv)
{
    enum { OUT, NAME, IDKEY, FORCE, PASSPHRASE, PASSPHRASE_FILE };
    const char *values [8];
    int first_arg, rc = ht_args_parse (&s_keygen_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [OUT])
        return ht_usage_error ("keygen: --out FILE is required");
    char public_path [PATH_MAX];
    snprintf (public_path, sizeof public_path, "%s.pub", values [OUT]);
    bool force = values [FORCE] != NULL;
    if (s_check_targets (values [OUT], values [IDKEY]? NULL: public_path))
        return HT_EXIT_ERROR;
    bool encrypt = values [PASSPHRASE] || values [PASSPHRASE_FILE];
    if (values [IDKEY] && encrypt)
        return ht_usage_error ("keygen: --idkey files are not encrypted (every node needs them)");
    if (values [IDKEY])
        return s_write_idkey (values [OUT], force);

    ht_keypair_t *key = ht_keypair_new (values [NAME]? values [NAME]: values [OUT]);
    rc = encrypt? s_save_encrypted (key, values [OUT], values [PASSPHRASE_FILE], force)
                : ht_keypair_save (key, values [OUT], force);
    if (rc == HT_EXIT_USAGE || rc == HT_EPASSPHRASE) {
        ht_keypair_destroy (&key);
        return rc == HT_EXIT_USAGE? rc: HT_EXIT_ERROR;
    }
    if (rc == HT_OK)
        rc = ht_keypair_save_public (key, public_path, force);
    if (rc) {
        fprintf (stderr, "hutong: cannot write %s: %s%s\n", values [OUT],
                 rc == HT_EUNSAFE? ht_strerror (rc): strerror (errno),
                 errno == EEXIST? " (use --force to overwrite)": "");
        ht_keypair_destroy (&key);
        return HT_EXIT_ERROR;
    }
    char hex [2 * HT_PUBKEY_BYTES + 1];
    printf ("{\"public\":\"%s\",\"file\":\"%s\",\"encrypted\":%s}\n",
            ht_hex_encode (ht_keypair_public (key), HT_PUBKEY_BYTES, hex), values [OUT],
            encrypt? "true": "false");
    ht_keypair_destroy (&key);
    return HT_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  Helpers for commands that emit a signed record

//  Write the record as one JSON line to path (or stdout), and put it into
//  a store if one is named
static int
s_emit_record (const ht_record_t *record, const char *out_path, const char *store_path)
{
    json_t *json = ht_record_to_json (record);
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref (json);
    FILE *out = out_path? fopen (out_path, "w"): stdout;
    if (!out) {
        fprintf (stderr, "hutong: cannot write %s: %s\n", out_path, strerror (errno));
        free (text);
        return HT_EXIT_ERROR;
    }
    fprintf (out, "%s\n", text);
    if (out != stdout)
        fclose (out);
    free (text);
    if (!store_path)
        return HT_EXIT_OK;

    ht_store_t *store = ht_open_store (store_path);
    if (!store)
        return HT_EXIT_ERROR;
    ht_apply_stats_t stats;
    int result = 0;
    ht_record_t *records [1] = { (ht_record_t *) record };
    int rc = ht_store_apply (store, records, 1, NULL, &stats, &result);
    ht_store_destroy (&store);
    if (rc)
        return ht_fail ("store", rc);
    if (result) {
        fprintf (stderr, "hutong: the store refused the record: %s\n", ht_strerror (result));
        return HT_EXIT_INVALID;
    }
    return HT_EXIT_OK;
}

//  Split "a,b,c" into cert kinds; false if there are too many
static bool
s_parse_kinds (const char *list, ht_cert_t *cert)
{
    char *copy = strdup (list);
    cert->kind_count = 0;
    bool ok = true;
    for (char *kind = strtok (copy, ", "); kind && ok; kind = strtok (NULL, ", ")) {
        ok = cert->kind_count < HT_CERT_MAX_KINDS && strlen (kind) <= HT_KIND_MAX_CHARS;
        if (ok)
            strcpy (cert->kinds [cert->kind_count++], kind);
    }
    free (copy);
    return ok && cert->kind_count > 0;
}

//  Default kinds a role may author
static const char *
s_default_kinds (ht_role_t role, const char *department)
{
    if (role == HT_ROLE_NODE)
        return "elder,facility,credit,cert,revocation,audit,emergency";
    if (role == HT_ROLE_DEPARTMENT && department && streq (department, "civil_affairs"))
        return "elder,facility,credit";
    if (role == HT_ROLE_DEPARTMENT)
        return "credit";
    if (role == HT_ROLE_OPERATOR)
        return "elder";             //  a kind it may not use outside its own region
    return NULL;
}

//  --------------------------------------------------------------------------
//  cert issue

static const ht_option_t s_issue_options [] = {
    HT_OPTION_TEXT ("issuer", "KEYFILE", "the issuer's key file (the parent tier, or the root)"),
    HT_OPTION_TEXT ("subject", "PUB", "the subject's public key file or 64-hex key"),
    HT_OPTION_TEXT ("region", "CODE", "the subject's jurisdiction (12-digit region code)"),
    HT_OPTION_TEXT ("role", "ROLE", "node, department, partner or operator (default node)"),
    HT_OPTION_TEXT ("department", "CODE", "department code: civil_affairs, health, ..."),
    HT_OPTION_TEXT ("kinds", "LIST", "record kinds it may author, comma-separated"),
    HT_OPTION_TEXT ("policy", "NAME", "read policy for a department or partner"),
    HT_OPTION_TEXT ("name", "NAME", "the subject's name (default: from the key file)"),
    HT_OPTION_UINT ("days", "N", 1, S_MAX_DAYS, "validity in days from --not-before (default 3650)"),
    HT_OPTION_TIME ("not-before", "TIME", "validity start (default now)"),
    HT_OPTION_TIME ("not-after", "TIME", "validity end, instead of --days"),
    HT_OPTION_TEXT ("out", "FILE", "write the certificate record here (default stdout)"),
    HT_OPTION_TEXT ("store", "DIR", "also put the certificate into this node store"),
    HT_OPTION_END
};

static const ht_command_spec_t s_issue_spec = {
    "hutong cert issue --issuer KEYFILE --subject PUB --region CODE [OPTIONS]",
    "Issue a certificate: the issuer signs a record binding the subject's key\n"
    "to a name, role, department, jurisdiction, kinds and validity window.\n"
    "The city's root certifies itself (--subject = its own public key), then\n"
    "counties; a county its townships; a township its communities; each node\n"
    "its department and partner clients. Prints the cert record as JSON.",
    s_issue_options
};

//  Fill a cert spec from the command line; exit code on a usage problem
static int
s_cert_from_args (const char **values, const ht_keypair_t *issuer, ht_cert_t *cert)
{
    enum { ISSUER, SUBJECT, REGION, ROLE, DEPARTMENT, KINDS, POLICY, NAME, DAYS, NOT_BEFORE,
           NOT_AFTER };
    memset (cert, 0, sizeof (*cert));
    if (ht_public_load (values [SUBJECT], cert->pubkey))
        return ht_usage_error ("cert issue: cannot read a public key from '%s'", values [SUBJECT]);
    const char *why = NULL;
    if (ht_region_check (values [REGION], &why))
        return ht_usage_error ("cert issue: --region %s: %s", values [REGION], why);
    strcpy (cert->region, values [REGION]);
    int role = ht_role_parse (values [ROLE]? values [ROLE]: "node");
    if (role < 0)
        return ht_usage_error ("cert issue: --role must be node, department, partner or operator");
    cert->role = (ht_role_t) role;
    const char *kinds = values [KINDS]? values [KINDS]
                      : s_default_kinds (cert->role, values [DEPARTMENT]);
    if (!kinds || !s_parse_kinds (kinds, cert))
        return ht_usage_error ("cert issue: --kinds is required for this role (e.g. credit)");
    snprintf (cert->department, sizeof cert->department, "%s",
              values [DEPARTMENT]? values [DEPARTMENT]: "");
    snprintf (cert->policy, sizeof cert->policy, "%s", values [POLICY]? values [POLICY]: "");
    char subject_hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hex_encode (cert->pubkey, HT_PUBKEY_BYTES, subject_hex);
    subject_hex [16] = 0;           //  a short default name: "key-1a2b..."
    bool self_signed = memcmp (cert->pubkey, ht_keypair_public (issuer), HT_PUBKEY_BYTES) == 0;
    snprintf (cert->name, sizeof cert->name, "%s",
              values [NAME]? values [NAME]
              : self_signed? ht_keypair_name (issuer): "key");
    if (!values [NAME] && !self_signed)
        snprintf (cert->name, sizeof cert->name, "key-%.16s", subject_hex);
    if (values [DAYS] && values [NOT_AFTER])
        return ht_usage_error ("cert issue: give --days or --not-after, not both");
    cert->not_before_ms = ht_args_number (&s_issue_spec, values, NOT_BEFORE, ht_hlc_wall_ms ());
    uint64_t days = ht_args_number (&s_issue_spec, values, DAYS, S_DEFAULT_DAYS);
    cert->not_after_ms = ht_args_number (&s_issue_spec, values, NOT_AFTER,
                                         cert->not_before_ms + days * S_DAY_MS);
    if (cert->not_after_ms <= cert->not_before_ms)
        return ht_usage_error ("cert issue: --not-after must be later than --not-before");
    return HT_EXIT_OK;
}

int
ht_cmd_cert_issue (int argc, char **argv)
{
    enum { ISSUER, SUBJECT, REGION, OUT = 11, STORE = 12 };
    const char *values [16];
    int first_arg, rc = ht_args_parse (&s_issue_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (!values [ISSUER] || !values [SUBJECT] || !values [REGION])
        return ht_usage_error ("cert issue: --issuer, --subject and --region are required");
    ht_keypair_t *issuer = ht_load_key (values [ISSUER]);
    if (!issuer)
        return HT_EXIT_ERROR;
    ht_cert_t cert;
    rc = s_cert_from_args (values, issuer, &cert);
    if (rc == HT_EXIT_OK) {
        ht_hlc_t clock = { 0 };
        int error;
        const char *reason = NULL;
        ht_record_t *record = ht_cert_issue (&cert, issuer, ht_hlc_now (&clock), &error, &reason);
        if (record)
            rc = s_emit_record (record, values [OUT], values [STORE]);
        else {
            fprintf (stderr, "hutong: cert issue: %s\n", reason? reason: ht_strerror (error));
            rc = HT_EXIT_ERROR;
        }
        ht_record_destroy (&record);
    }
    ht_keypair_destroy (&issuer);
    return rc;
}

//  --------------------------------------------------------------------------
//  cert revoke

static const ht_option_t s_revoke_options [] = {
    HT_OPTION_TEXT ("issuer", "KEYFILE", "key file of the revoking authority"),
    HT_OPTION_TEXT ("subject", "PUB", "the key to revoke (public key file or hex)"),
    HT_OPTION_TEXT ("region", "CODE", "the revoked key's jurisdiction"),
    HT_OPTION_TIME ("at", "TIME", "revoked from this time (default now)"),
    HT_OPTION_TEXT ("reason", "TEXT", "why"),
    HT_OPTION_TEXT ("out", "FILE", "write the revocation record here (default stdout)"),
    HT_OPTION_TEXT ("store", "DIR", "also put the revocation into this node store"),
    HT_OPTION_END
};

static const ht_command_spec_t s_revoke_spec = {
    "hutong cert revoke --issuer KEYFILE --subject PUB --region CODE [OPTIONS]",
    "Revoke a key: records it signs with a timestamp at or after --at are\n"
    "refused everywhere the revocation reaches; earlier ones stay valid.",
    s_revoke_options
};

int
ht_cmd_cert_revoke (int argc, char **argv)
{
    enum { ISSUER, SUBJECT, REGION, AT, REASON, OUT, STORE };
    const char *values [8];
    int first_arg, rc = ht_args_parse (&s_revoke_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    uint8_t subject [HT_PUBKEY_BYTES];
    if (!values [ISSUER] || !values [SUBJECT] || !values [REGION])
        return ht_usage_error ("cert revoke: --issuer, --subject and --region are required");
    if (ht_public_load (values [SUBJECT], subject))
        return ht_usage_error ("cert revoke: cannot read a public key from '%s'", values [SUBJECT]);
    ht_keypair_t *issuer = ht_load_key (values [ISSUER]);
    if (!issuer)
        return HT_EXIT_ERROR;
    ht_hlc_t clock = { 0 };
    uint64_t now = ht_hlc_now (&clock);
    uint64_t at = ht_args_number (&s_revoke_spec, values, AT, ht_hlc_ms (now));
    int error;
    const char *reason = NULL;
    ht_record_t *record = ht_revocation_issue (subject, values [REGION], at, values [REASON],
                                               issuer, now, &error, &reason);
    if (record)
        rc = s_emit_record (record, values [OUT], values [STORE]);
    else {
        fprintf (stderr, "hutong: cert revoke: %s\n", reason? reason: ht_strerror (error));
        rc = HT_EXIT_ERROR;
    }
    ht_record_destroy (&record);
    ht_keypair_destroy (&issuer);
    return rc;
}

//  --------------------------------------------------------------------------
//  cert show

static const ht_option_t s_show_options [] = {
    HT_OPTION_TEXT ("store", "DIR", "also check the chain against this node store's certificates"),
    HT_OPTION_FLAG ("json", "one JSON object (times in ms since 1970)"),
    HT_OPTION_END
};

static const ht_command_spec_t s_show_spec = {
    "hutong cert show [--store DIR] [--json] FILE",
    "Show a certificate record (a JSON line from 'cert issue') whole, its\n"
    "validity in UTC, and check its signature; with --store, also walk its\n"
    "chain to the store's root anchor at the current time and report a\n"
    "revocation of the key (revoked_at). --json prints one JSON object\n"
    "instead. Exit 0 if valid, 1 if not (\"error\" names why: revoked,\n"
    "expired, ...).",
    s_show_options
};

//  The certificate for people: every item, times in UTC, the verdict
static void
s_show_cert_text (const ht_cert_t *cert, const ht_record_t *record, uint64_t revoked_at,
                  int verdict, const char *reason, bool chain_checked)
{
    char hex [2 * HT_PUBKEY_BYTES + 1], when [32];
    printf ("subject      %s\n", cert->name);
    printf ("role         %s%s%s\n", ht_role_name (cert->role), *cert->department? ", department ": "",
            cert->department);
    printf ("region       %s (its jurisdiction)\n", cert->region);
    printf ("may write    ");
    for (size_t index = 0; index < cert->kind_count; index++)
        printf ("%s%s", index? " ": "", cert->kinds [index]);
    printf ("%s\n", cert->kind_count? "": "(nothing)");
    printf ("read policy  %s\n", *cert->policy? cert->policy: "(by role)");
    printf ("public key   %s\n", ht_hex_encode (cert->pubkey, HT_PUBKEY_BYTES, hex));
    printf ("issued by    %s%s\n", ht_hex_encode (ht_record_author (record), HT_PUBKEY_BYTES, hex),
            sodium_memcmp (ht_record_author (record), cert->pubkey, HT_PUBKEY_BYTES)? "": " (itself: a root)");
    printf ("issued at    %s\n", ht_utc_text (ht_hlc_ms (ht_record_hlc (record)), when, sizeof when));
    printf ("valid from   %s\n", ht_utc_text (cert->not_before_ms, when, sizeof when));
    printf ("valid until  %s\n", ht_utc_text (cert->not_after_ms, when, sizeof when));
    if (revoked_at)
        printf ("revoked at   %s\n", ht_utc_text (revoked_at, when, sizeof when));
    if (verdict)
        printf ("verdict      INVALID: %s: %s\n", ht_errname (verdict), reason? reason: ht_strerror (verdict));
    else
        printf ("verdict      valid: %s\n", chain_checked? "signature and chain to the store's anchor"
                                                          : "signature (give --store to check the chain)");
}

int
ht_cmd_cert_show (int argc, char **argv)
{
    const char *values [3];
    int first_arg, rc = ht_args_parse (&s_show_spec, argc, argv, values, &first_arg);
    if (rc)
        return rc == 1? HT_EXIT_OK: rc;
    if (first_arg >= argc)
        return ht_usage_error ("cert show: name a certificate file");
    json_error_t json_error;
    json_t *json = json_load_file (argv [first_arg], JSON_DISABLE_EOF_CHECK, &json_error);
    if (!json)
        return ht_usage_error ("cert show: %s: %s", argv [first_arg], json_error.text);
    int error = 0;
    const char *reason = NULL;
    ht_record_t *record = ht_record_from_json (json, &error, &reason);
    json_decref (json);
    ht_cert_t cert;
    if (!record || ht_cert_parse (record, &cert)) {
        fprintf (stderr, "hutong: cert show: not a certificate record%s%s\n",
                 reason? ": ": "", reason? reason: "");
        ht_record_destroy (&record);
        return HT_EXIT_INVALID;
    }
    int verdict = ht_record_verify (record, &reason);
    ht_store_t *store = values [0] && !verdict? ht_open_store (values [0]): NULL;
    uint64_t revoked_at = 0;
    bool revoked = false;
    if (store) {
        ht_record_t *now = ht_record_dup (record);
        ht_hlc_t clock = { 0 };
        ht_record_set_hlc (now, ht_hlc_now (&clock));   //  the chain as of now
        const ht_certsource_t *source = ht_store_certsource (store);
        verdict = ht_cert_authorize (now, ht_store_anchor (store), source, &reason);
        //  The chain says the issuer could issue it; the key itself may
        //  have been revoked since
        revoked = source->revocation (source->ctx, cert.pubkey, &revoked_at) == HT_OK;
        if (verdict == HT_OK && revoked && revoked_at <= ht_hlc_ms (ht_record_hlc (now))) {
            verdict = HT_EREVOKED;
            reason = "this key is revoked";
        }
        ht_record_destroy (&now);
        ht_store_destroy (&store);
    }
    char pub_hex [2 * HT_PUBKEY_BYTES + 1], issuer_hex [2 * HT_PUBKEY_BYTES + 1];
    json_t *out = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:s?}",
        "name", cert.name, "role", ht_role_name (cert.role),
        "department", cert.department, "region", cert.region,
        "public", ht_hex_encode (cert.pubkey, HT_PUBKEY_BYTES, pub_hex),
        "issuer", ht_hex_encode (ht_record_author (record), HT_PUBKEY_BYTES, issuer_hex),
        "not_before", (json_int_t) cert.not_before_ms, "not_after", (json_int_t) cert.not_after_ms,
        "policy", cert.policy, "valid", verdict == HT_OK, "problem", verdict? reason: NULL);
    json_t *kinds = json_array ();
    for (size_t index = 0; index < cert.kind_count; index++)
        json_array_append_new (kinds, json_string (cert.kinds [index]));
    json_object_set_new (out, "kinds", kinds);
    if (revoked)
        json_object_set_new (out, "revoked_at", json_integer ((json_int_t) revoked_at));
    if (verdict)
        json_object_set_new (out, "error", json_string (ht_errname (verdict)));
    if (values [1])
        ht_print_json (out);
    else
        s_show_cert_text (&cert, record, revoked? revoked_at: 0, verdict, reason,
                          values [0] != NULL);
    json_decref (out);
    ht_record_destroy (&record);
    return verdict? HT_EXIT_INVALID: HT_EXIT_OK;
}
