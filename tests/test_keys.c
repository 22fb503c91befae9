//  test_keys: key pairs, 0600 key files, public key files, and the
//  Curve25519 keys derived for CurveZMQ. Every test works in its own
//  mkdtemp directory and removes it.
#include "ht_keys.h"
#include "ht_test.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  A temporary directory and a path inside it
typedef struct {
    char dir [64];                  //  mkdtemp result
    char path [512];                //  last path built
} s_temp_t;

static void
s_temp_init (s_temp_t *temp)
{
    snprintf (temp->dir, sizeof temp->dir, "/tmp/ht_keys_XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (temp->dir));
}

static const char *
s_temp_path (s_temp_t *temp, const char *name)
{
    int length = snprintf (temp->path, sizeof temp->path, "%s/%.*s", temp->dir,
                           (int) (sizeof temp->path - sizeof temp->dir - 1), name);
    ck_assert (length > 0 && (size_t) length < sizeof temp->path);
    return temp->path;
}

//  Remove every file in the directory, then the directory
static void
s_temp_remove (s_temp_t *temp)
{
    DIR *dir = opendir (temp->dir);
    ck_assert_ptr_nonnull (dir);
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL)
        if (strcmp (entry->d_name, ".") && strcmp (entry->d_name, ".."))
            ck_assert_int_eq (unlink (s_temp_path (temp, entry->d_name)), 0);
    closedir (dir);
    ck_assert_int_eq (rmdir (temp->dir), 0);
}

static ht_keypair_t *
s_key (uint8_t fill, const char *name)
{
    uint8_t seed [32];
    memset (seed, fill, sizeof seed);
    ht_keypair_t *key = ht_keypair_from_seed (seed, name);
    ck_assert_ptr_nonnull (key);
    return key;
}

static mode_t
s_mode (const char *path)
{
    struct stat info;
    ck_assert_int_eq (stat (path, &info), 0);
    return info.st_mode & 0777;
}

static void
s_write (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    ck_assert_int_ge (fputs (text, file), 0);
    ck_assert_int_eq (fclose (file), 0);
    ck_assert_int_eq (chmod (path, mode), 0);
}

//  Load must refuse path with the given error
static void
s_assert_load_fails (const char *path, int expected)
{
    int error = 0;
    ht_keypair_t *key = ht_keypair_load (path, &error);
    ck_assert_ptr_null (key);
    ck_assert_int_eq (error, expected);
}

//  --------------------------------------------------------------------------

START_TEST (from_seed_is_deterministic)
{
    ht_keypair_t *first = s_key (0x01, "one");
    ht_keypair_t *second = s_key (0x01, "two");
    ht_keypair_t *other = s_key (0x02, "other");
    ck_assert_mem_eq (ht_keypair_public (first), ht_keypair_public (second), HT_PUBKEY_BYTES);
    ck_assert_mem_eq (ht_keypair_secret (first), ht_keypair_secret (second), HT_SECRETKEY_BYTES);
    ck_assert_mem_ne (ht_keypair_public (first), ht_keypair_public (other), HT_PUBKEY_BYTES);
    ck_assert_str_eq (ht_keypair_name (first), "one");

    //  libsodium's own derivation from the same seed
    uint8_t seed [32], public_key [32], secret_key [64];
    memset (seed, 0x01, sizeof seed);
    crypto_sign_seed_keypair (public_key, secret_key, seed);
    ck_assert_mem_eq (ht_keypair_public (first), public_key, sizeof public_key);
    ck_assert_mem_eq (ht_keypair_secret (first), secret_key, sizeof secret_key);
    ht_keypair_destroy (&first);
    ht_keypair_destroy (&second);
    ht_keypair_destroy (&other);
    ht_keypair_destroy (&other);            //  safe twice
    ck_assert_ptr_null (other);
}
END_TEST

START_TEST (fresh_key_pairs_differ_and_sign)
{
    ht_keypair_t *first = ht_keypair_new ("a");
    ht_keypair_t *second = ht_keypair_new (NULL);
    ck_assert_ptr_nonnull (first);
    ck_assert_ptr_nonnull (second);
    ck_assert_str_eq (ht_keypair_name (second), "");
    ck_assert_mem_ne (ht_keypair_public (first), ht_keypair_public (second), HT_PUBKEY_BYTES);
    const uint8_t message [] = "护理记录";
    uint8_t sig [crypto_sign_BYTES];
    crypto_sign_detached (sig, NULL, message, sizeof message, ht_keypair_secret (first));
    ck_assert_int_eq (crypto_sign_verify_detached (sig, message, sizeof message,
                                                   ht_keypair_public (first)), 0);
    ht_keypair_destroy (&first);
    ht_keypair_destroy (&second);
}
END_TEST

START_TEST (curve_keys_are_derived_from_the_signing_keys)
{
    ht_keypair_t *key = s_key (0x03, "curve");
    uint8_t curve_public [32], curve_secret [32];
    ck_assert_int_eq (crypto_sign_ed25519_pk_to_curve25519 (curve_public,
                                                            ht_keypair_public (key)), 0);
    ck_assert_int_eq (crypto_sign_ed25519_sk_to_curve25519 (curve_secret,
                                                            ht_keypair_secret (key)), 0);
    ck_assert_mem_eq (ht_keypair_curve_public (key), curve_public, 32);
    ck_assert_mem_eq (ht_keypair_curve_secret (key), curve_secret, 32);
    //  The pair is a working X25519 pair
    uint8_t from_secret [32];
    ck_assert_int_eq (crypto_scalarmult_base (from_secret, ht_keypair_curve_secret (key)), 0);
    ck_assert_mem_eq (from_secret, ht_keypair_curve_public (key), 32);

    uint8_t converted [HT_CURVE_KEY_BYTES];
    ck_assert_int_eq (ht_curve_public_from_ed25519 (ht_keypair_public (key), converted), 0);
    ck_assert_mem_eq (converted, curve_public, 32);
    //  A point that is not on the curve has no Curve25519 form
    uint8_t bad [HT_PUBKEY_BYTES];
    memset (bad, 0xff, sizeof bad);
    ck_assert_int_eq (ht_curve_public_from_ed25519 (bad, converted), HT_EKEY);
    ht_keypair_destroy (&key);
}
END_TEST

START_TEST (save_writes_mode_0600_and_load_reads_it_back)
{
    s_temp_t temp;
    s_temp_init (&temp);
    mode_t old_umask = umask (0);           //  the mode must not rely on umask
    ht_keypair_t *key = s_key (0x04, "清城区民政局");
    const char *path = s_temp_path (&temp, "node.key");
    ck_assert_int_eq (ht_keypair_save (key, path, false), 0);
    umask (old_umask);
    ck_assert_uint_eq (s_mode (path), 0600);

    int error = -1;
    ht_keypair_t *loaded = ht_keypair_load (s_temp_path (&temp, "node.key"), &error);
    ck_assert_ptr_nonnull (loaded);
    ck_assert_int_eq (error, 0);
    ck_assert_mem_eq (ht_keypair_public (loaded), ht_keypair_public (key), HT_PUBKEY_BYTES);
    ck_assert_mem_eq (ht_keypair_secret (loaded), ht_keypair_secret (key), HT_SECRETKEY_BYTES);
    ck_assert_mem_eq (ht_keypair_curve_secret (loaded), ht_keypair_curve_secret (key), 32);
    ck_assert_str_eq (ht_keypair_name (loaded), "清城区民政局");
    //  A stricter mode is fine too
    ck_assert_int_eq (chmod (s_temp_path (&temp, "node.key"), 0400), 0);
    ht_keypair_destroy (&loaded);
    loaded = ht_keypair_load (s_temp_path (&temp, "node.key"), NULL);
    ck_assert_ptr_nonnull (loaded);
    ht_keypair_destroy (&loaded);
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (load_refuses_a_file_others_can_read)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x05, "loose");
    const char *path = s_temp_path (&temp, "loose.key");
    ck_assert_int_eq (ht_keypair_save (key, path, false), 0);
    const mode_t loose [] = { 0644, 0640, 0604, 0660, 0610, 0601, 0666 };
    for (size_t index = 0; index < sizeof loose / sizeof loose [0]; index++) {
        ck_assert_int_eq (chmod (path, loose [index]), 0);
        s_assert_load_fails (path, HT_EKEYMODE);
    }
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (save_refuses_to_overwrite_without_the_flag)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *first = s_key (0x06, "first");
    ht_keypair_t *second = s_key (0x07, "second");
    const char *path = s_temp_path (&temp, "node.key");
    ck_assert_int_eq (ht_keypair_save (first, path, false), 0);
    errno = 0;
    ck_assert_int_eq (ht_keypair_save (second, path, false), HT_EIO);
    ck_assert_int_eq (errno, EEXIST);
    ht_keypair_t *loaded = ht_keypair_load (path, NULL);
    ck_assert_mem_eq (ht_keypair_public (loaded), ht_keypair_public (first), HT_PUBKEY_BYTES);
    ht_keypair_destroy (&loaded);

    ck_assert_int_eq (ht_keypair_save (second, path, true), 0);
    ck_assert_uint_eq (s_mode (path), 0600);
    loaded = ht_keypair_load (path, NULL);
    ck_assert_mem_eq (ht_keypair_public (loaded), ht_keypair_public (second), HT_PUBKEY_BYTES);
    ht_keypair_destroy (&loaded);

    //  Overwriting a loose file tightens it back to 0600
    ck_assert_int_eq (chmod (path, 0644), 0);
    ck_assert_int_eq (ht_keypair_save (first, path, true), 0);
    ck_assert_uint_eq (s_mode (path), 0600);
    ht_keypair_destroy (&first);
    ht_keypair_destroy (&second);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_public_key_that_does_not_match_the_secret_is_refused)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x08, "mine");
    ht_keypair_t *other = s_key (0x09, "theirs");
    const char *path = s_temp_path (&temp, "tampered.key");
    ck_assert_int_eq (ht_keypair_save (key, path, false), 0);
    json_error_t json_error;
    json_t *json = json_load_file (path, 0, &json_error);
    ck_assert_ptr_nonnull (json);
    char hex [2 * HT_PUBKEY_BYTES + 1];
    json_object_set_new (json, "public",
                         json_string (ht_hex_encode (ht_keypair_public (other), HT_PUBKEY_BYTES, hex)));
    ck_assert_int_eq (json_dump_file (json, path, 0), 0);
    json_decref (json);
    ck_assert_int_eq (chmod (path, 0600), 0);
    s_assert_load_fails (path, HT_EKEY);
    ht_keypair_destroy (&key);
    ht_keypair_destroy (&other);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (malformed_key_files_are_refused)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x0a, "k");
    char public_hex [65], secret_hex [129];
    ht_hex_encode (ht_keypair_public (key), 32, public_hex);
    ht_hex_encode (ht_keypair_secret (key), 64, secret_hex);
    char *cases [8];
    size_t count = 0;
    cases [count++] = strdup ("{not json");
    cases [count++] = strdup ("[]");
    cases [count++] = strdup ("");
    ck_assert_int_gt (asprintf (&cases [count++], "{\"public\": \"%s\"}", public_hex), 0);
    ck_assert_int_gt (asprintf (&cases [count++], "{\"secret\": \"%s\"}", secret_hex), 0);
    ck_assert_int_gt (asprintf (&cases [count++], "{\"public\": \"%s\", \"secret\": \"%.126s\"}",
                                public_hex, secret_hex), 0);
    ck_assert_int_gt (asprintf (&cases [count++], "{\"public\": \"%s\", \"secret\": 7}",
                                public_hex), 0);
    ck_assert_int_gt (asprintf (&cases [count++], "{\"public\": \"%.62sxx\", \"secret\": \"%s\"}",
                                public_hex, secret_hex), 0);
    for (size_t index = 0; index < count; index++) {
        const char *path = s_temp_path (&temp, "bad.key");
        s_write (path, cases [index], 0600);
        int error = 0;
        ht_keypair_t *loaded = ht_keypair_load (path, &error);
        ck_assert_msg (loaded == NULL, "loaded case %zu", index);
        ck_assert_msg (error == HT_EKEY, "case %zu: error %d", index, error);
        free (cases [index]);
    }
    //  Control: the well-formed file loads
    char *good = NULL;
    ck_assert_int_gt (asprintf (&good, "{\"public\": \"%s\", \"secret\": \"%s\"}",
                                public_hex, secret_hex), 0);
    s_write (s_temp_path (&temp, "good.key"), good, 0600);
    free (good);
    ht_keypair_t *loaded = ht_keypair_load (s_temp_path (&temp, "good.key"), NULL);
    ck_assert_ptr_nonnull (loaded);
    ck_assert_str_eq (ht_keypair_name (loaded), "");
    ht_keypair_destroy (&loaded);
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_missing_key_file_is_an_io_error)
{
    s_temp_t temp;
    s_temp_init (&temp);
    s_assert_load_fails (s_temp_path (&temp, "absent.key"), HT_EIO);
    //  Nor can a key be saved where there is no directory
    ht_keypair_t *key = s_key (0x0b, "x");
    ck_assert_int_eq (ht_keypair_save (key, s_temp_path (&temp, "no/such/dir.key"), false), HT_EIO);
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (public_keys_load_from_hex_and_from_files)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x0c, "pub");
    char hex [2 * HT_PUBKEY_BYTES + 1];
    ht_hex_encode (ht_keypair_public (key), HT_PUBKEY_BYTES, hex);
    uint8_t pubkey [HT_PUBKEY_BYTES];

    ck_assert_int_eq (ht_public_load (hex, pubkey), 0);
    ck_assert_mem_eq (pubkey, ht_keypair_public (key), HT_PUBKEY_BYTES);

    //  A public key file is 0644 and holds no secret
    const char *public_path = s_temp_path (&temp, "node.pub");
    ck_assert_int_eq (ht_keypair_save_public (key, public_path, false), 0);
    ck_assert_uint_eq (s_mode (public_path), 0644);
    json_error_t json_error;
    json_t *json = json_load_file (public_path, 0, &json_error);
    ck_assert_ptr_nonnull (json);
    ck_assert_ptr_null (json_object_get (json, "secret"));
    ck_assert_str_eq (json_string_value (json_object_get (json, "public")), hex);
    json_decref (json);
    memset (pubkey, 0, sizeof pubkey);
    ck_assert_int_eq (ht_public_load (s_temp_path (&temp, "node.pub"), pubkey), 0);
    ck_assert_mem_eq (pubkey, ht_keypair_public (key), HT_PUBKEY_BYTES);
    ck_assert_int_eq (ht_keypair_save_public (key, s_temp_path (&temp, "node.pub"), false), HT_EIO);

    //  The full key file serves too
    ck_assert_int_eq (ht_keypair_save (key, s_temp_path (&temp, "node.key"), false), 0);
    memset (pubkey, 0, sizeof pubkey);
    ck_assert_int_eq (ht_public_load (s_temp_path (&temp, "node.key"), pubkey), 0);
    ck_assert_mem_eq (pubkey, ht_keypair_public (key), HT_PUBKEY_BYTES);

    //  Bad input
    ck_assert_int_eq (ht_public_load (s_temp_path (&temp, "absent.pub"), pubkey), HT_EIO);
    char short_hex [2 * HT_PUBKEY_BYTES];
    memcpy (short_hex, hex, sizeof short_hex - 1);
    short_hex [sizeof short_hex - 1] = 0;
    ck_assert_int_ne (ht_public_load (short_hex, pubkey), 0);
    s_write (s_temp_path (&temp, "nopublic.pub"), "{\"name\": \"x\"}", 0644);
    ck_assert_int_eq (ht_public_load (s_temp_path (&temp, "nopublic.pub"), pubkey), HT_EKEY);
    s_write (s_temp_path (&temp, "shortpublic.pub"), "{\"public\": \"abcd\"}", 0644);
    ck_assert_int_eq (ht_public_load (s_temp_path (&temp, "shortpublic.pub"), pubkey), HT_EKEY);
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (key_files_hold_hex_json_with_the_documented_items)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x0d, "社区");
    const char *path = s_temp_path (&temp, "node.key");
    ck_assert_int_eq (ht_keypair_save (key, path, false), 0);
    json_error_t json_error;
    json_t *json = json_load_file (path, 0, &json_error);
    ck_assert_ptr_nonnull (json);
    char public_hex [65], secret_hex [129];
    ck_assert_str_eq (json_string_value (json_object_get (json, "public")),
                      ht_hex_encode (ht_keypair_public (key), 32, public_hex));
    ck_assert_str_eq (json_string_value (json_object_get (json, "secret")),
                      ht_hex_encode (ht_keypair_secret (key), 64, secret_hex));
    ck_assert_str_eq (json_string_value (json_object_get (json, "name")), "社区");
    ck_assert_uint_eq (json_object_size (json), 3);
    json_decref (json);
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

//  --------------------------------------------------------------------------
//  Passphrase-protected key files

#define S_PASSPHRASE "长城 long wall 1368"

//  Save key encrypted under S_PASSPHRASE at path
static void
s_save_sealed (const ht_keypair_t *key, const char *path)
{
    ck_assert_int_eq (ht_keypair_save_encrypted (key, path, S_PASSPHRASE,
                                                 strlen (S_PASSPHRASE), false), 0);
}

//  Load path with passphrase; the error code (0: it loaded key)
static int
s_load_sealed (const char *path, const char *passphrase, const ht_keypair_t *key)
{
    int error = -999;
    ht_keypair_t *loaded = ht_keypair_load_passphrase (path, passphrase,
                                                       passphrase? strlen (passphrase): 0,
                                                       &error);
    if (loaded) {
        ck_assert_int_eq (error, HT_OK);
        ck_assert_mem_eq (ht_keypair_secret (loaded), ht_keypair_secret (key), 64);
        ck_assert_mem_eq (ht_keypair_curve_secret (loaded), ht_keypair_curve_secret (key), 32);
        ck_assert_str_eq (ht_keypair_name (loaded), ht_keypair_name (key));
    }
    ht_keypair_destroy (&loaded);
    return error;
}

//  Rewrite one item of the JSON key file at path
static void
s_rewrite (const char *path, const char *item, json_t *value)
{
    json_error_t json_error;
    json_t *json = json_load_file (path, 0, &json_error);
    ck_assert_ptr_nonnull (json);
    json_object_set_new (json, item, value);
    char *text = json_dumps (json, 0);
    s_write (path, text, 0600);
    free (text);
    json_decref (json);
}

START_TEST (an_encrypted_key_file_round_trips_and_holds_no_secret)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x21, "县级节点");
    const char *path = s_temp_path (&temp, "node.key");
    s_save_sealed (key, path);
    ck_assert_uint_eq (s_mode (path), 0600);
    ck_assert (ht_keyfile_is_encrypted (path));
    ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_OK);
    //  Neither the secret nor the passphrase is in the file
    json_error_t json_error;
    json_t *json = json_load_file (path, 0, &json_error);
    ck_assert_ptr_nonnull (json);
    ck_assert_ptr_null (json_object_get (json, "secret"));
    ck_assert_str_eq (json_string_value (json_object_get (json, "format")),
                      HT_KEYFILE_ENCRYPTED_FORMAT);
    char *text = json_dumps (json, 0);
    char secret_hex [129];
    ht_hex_encode (ht_keypair_secret (key), 64, secret_hex);
    ck_assert_ptr_null (strstr (text, secret_hex));
    ck_assert_ptr_null (strstr (text, S_PASSPHRASE));
    free (text);
    json_decref (json);
    //  Its public half loads without the passphrase
    uint8_t pubkey [32];
    ck_assert_int_eq (ht_public_load (path, pubkey), 0);
    ck_assert_mem_eq (pubkey, ht_keypair_public (key), 32);
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (an_encrypted_key_file_without_its_passphrase_is_refused_clearly)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x22, "township");
    const char *path = s_temp_path (&temp, "node.key");
    s_save_sealed (key, path);
    s_assert_load_fails (path, HT_EPASSPHRASE);
    ck_assert_int_eq (s_load_sealed (path, NULL, key), HT_EPASSPHRASE);
    ck_assert_int_eq (s_load_sealed (path, "长城 long wall 1369", key), HT_EDECRYPT);
    ck_assert_int_eq (s_load_sealed (path, "", key), HT_EDECRYPT);
    ck_assert_str_eq (ht_errname (HT_EDECRYPT), "bad_passphrase");
    //  A source with nothing in it: still no passphrase
    ck_assert_int_eq (unsetenv (HT_PASSPHRASE_ENV), 0);
    ck_assert_int_eq (unsetenv ("CREDENTIALS_DIRECTORY"), 0);
    ht_passphrase_source_t none = { .environment = true };
    int error = 0;
    ck_assert_ptr_null (ht_keypair_load_from (path, &none, &error));
    ck_assert_int_eq (error, HT_EPASSPHRASE);
    //  ... and one with it
    ck_assert_int_eq (setenv (HT_PASSPHRASE_ENV, S_PASSPHRASE, 1), 0);
    ht_keypair_t *loaded = ht_keypair_load_from (path, &none, &error);
    ck_assert_ptr_nonnull (loaded);
    ck_assert_int_eq (unsetenv (HT_PASSPHRASE_ENV), 0);
    ht_keypair_destroy (&loaded);
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_tampered_encrypted_key_file_is_refused)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x23, "community");
    ht_keypair_t *other = s_key (0x24, "other");
    const char *path = s_temp_path (&temp, "node.key");
    //  One flipped bit in the sealed secret, the nonce or the salt
    const char *items [] = { "box", "nonce", "salt" };
    for (size_t index = 0; index < 3; index++) {
        s_save_sealed (key, path);
        json_error_t json_error;
        json_t *json = json_load_file (path, 0, &json_error);
        char *hex = strdup (json_string_value (json_object_get (json, items [index])));
        hex [5] = hex [5] == '0'? '1': '0';
        s_rewrite (path, items [index], json_string (hex));
        free (hex);
        json_decref (json);
        ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_EDECRYPT);
        ck_assert_int_eq (unlink (path), 0);
    }
    //  Another public key next to the sealed secret
    s_save_sealed (key, path);
    char other_hex [65];
    s_rewrite (path, "public", json_string (ht_hex_encode (ht_keypair_public (other), 32,
                                                           other_hex)));
    ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_EKEY);
    ck_assert_int_eq (unlink (path), 0);
    //  A cost raised past the bound, a cut box, an unknown KDF, an
    //  unknown format
    s_save_sealed (key, path);
    s_rewrite (path, "memlimit", json_integer (1ll << 40));
    ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_EKEY);
    ck_assert_int_eq (unlink (path), 0);
    s_save_sealed (key, path);
    s_rewrite (path, "box", json_string ("00ff"));
    ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_EKEY);
    ck_assert_int_eq (unlink (path), 0);
    s_save_sealed (key, path);
    s_rewrite (path, "kdf", json_string ("scrypt"));
    ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_EKEY);
    s_rewrite (path, "format", json_string ("hutong-encrypted-key-9"));
    ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_EVERSION);
    //  Modes: a sealed key is still a secret
    s_rewrite (path, "format", json_string (HT_KEYFILE_ENCRYPTED_FORMAT));
    ck_assert_int_eq (chmod (path, 0640), 0);
    ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_EKEYMODE);
    ht_keypair_destroy (&key);
    ht_keypair_destroy (&other);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (plain_key_files_still_load_with_or_without_a_passphrase)
{
    s_temp_t temp;
    s_temp_init (&temp);
    ht_keypair_t *key = s_key (0x25, "plain");
    const char *path = s_temp_path (&temp, "node.key");
    ck_assert_int_eq (ht_keypair_save (key, path, false), 0);
    ck_assert (!ht_keyfile_is_encrypted (path));
    ck_assert_int_eq (s_load_sealed (path, NULL, key), HT_OK);
    ck_assert_int_eq (s_load_sealed (path, S_PASSPHRASE, key), HT_OK);
    ck_assert_int_eq (ht_keypair_save_encrypted (key, s_temp_path (&temp, "empty.key"), "", 0,
                                                 false), HT_EINVAL);
    ht_keypair_destroy (&key);
    s_temp_remove (&temp);
}
END_TEST

START_TEST (a_passphrase_file_gives_its_first_line_and_must_be_private)
{
    s_temp_t temp;
    s_temp_init (&temp);
    char *buffer = sodium_malloc (HT_PASSPHRASE_BUFFER_BYTES);
    size_t length = 0;
    const char *path = s_temp_path (&temp, "passphrase");
    s_write (path, "secret words\r\nignored\n", 0400);
    ck_assert_int_eq (ht_passphrase_read_file (path, buffer, HT_PASSPHRASE_BUFFER_BYTES,
                                               &length), 0);
    ck_assert_uint_eq (length, 12);
    ck_assert_mem_eq (buffer, "secret words", 12);
    ck_assert_int_eq (chmod (path, 0644), 0);
    ck_assert_int_eq (ht_passphrase_read_file (path, buffer, HT_PASSPHRASE_BUFFER_BYTES,
                                               &length), HT_EKEYMODE);
    s_write (path, "\n", 0600);
    ck_assert_int_eq (ht_passphrase_read_file (path, buffer, HT_PASSPHRASE_BUFFER_BYTES,
                                               &length), HT_EINVAL);
    char *long_text = malloc (HT_PASSPHRASE_MAX_BYTES + 2);
    memset (long_text, 'x', HT_PASSPHRASE_MAX_BYTES + 1);
    long_text [HT_PASSPHRASE_MAX_BYTES + 1] = 0;
    s_write (path, long_text, 0600);
    free (long_text);
    ck_assert_int_eq (ht_passphrase_read_file (path, buffer, HT_PASSPHRASE_BUFFER_BYTES,
                                               &length), HT_EINVAL);
    ck_assert_int_eq (ht_passphrase_read_file (s_temp_path (&temp, "missing"), buffer,
                                               HT_PASSPHRASE_BUFFER_BYTES, &length), HT_EIO);
    //  A file named as the source is the only source
    ht_passphrase_source_t source = { .file = s_temp_path (&temp, "missing"),
                                      .environment = true };
    ck_assert_int_eq (setenv (HT_PASSPHRASE_ENV, "from the environment", 1), 0);
    ck_assert_int_eq (ht_passphrase_get (&source, false, buffer, HT_PASSPHRASE_BUFFER_BYTES,
                                         &length), HT_EIO);
    ck_assert_int_eq (unsetenv (HT_PASSPHRASE_ENV), 0);
    sodium_free (buffer);
    s_temp_remove (&temp);
}
END_TEST

static void
s_setup (void)
{
    ck_assert_int_ge (sodium_init (), 0);
}

static Suite *
keys_suite (void)
{
    Suite *suite = suite_create ("ht_keys");
    TCase *tc = tcase_create ("pairs");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, from_seed_is_deterministic);
    tcase_add_test (tc, fresh_key_pairs_differ_and_sign);
    tcase_add_test (tc, curve_keys_are_derived_from_the_signing_keys);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("files");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, save_writes_mode_0600_and_load_reads_it_back);
    tcase_add_test (tc, load_refuses_a_file_others_can_read);
    tcase_add_test (tc, save_refuses_to_overwrite_without_the_flag);
    tcase_add_test (tc, a_public_key_that_does_not_match_the_secret_is_refused);
    tcase_add_test (tc, malformed_key_files_are_refused);
    tcase_add_test (tc, a_missing_key_file_is_an_io_error);
    tcase_add_test (tc, public_keys_load_from_hex_and_from_files);
    tcase_add_test (tc, key_files_hold_hex_json_with_the_documented_items);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("passphrases");
    tcase_add_unchecked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, an_encrypted_key_file_round_trips_and_holds_no_secret);
    tcase_add_test (tc, an_encrypted_key_file_without_its_passphrase_is_refused_clearly);
    tcase_add_test (tc, a_tampered_encrypted_key_file_is_refused);
    tcase_add_test (tc, plain_key_files_still_load_with_or_without_a_passphrase);
    tcase_add_test (tc, a_passphrase_file_gives_its_first_line_and_must_be_private);
    suite_add_tcase (suite, tc);
    return suite;
}

HT_TEST_MAIN (keys_suite)
