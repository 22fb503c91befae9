//  ht_keys: Ed25519 key pairs in 0600 JSON files, with the Curve25519 pair
//  derived for CurveZMQ.
#include <czmq.h>
#include <sodium.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <termios.h>
#include "ht_keys.h"
#include "ht_path.h"

#define S_NAME_MAX_CHARS 63
#define S_KDF_NAME "argon2id13"
#define S_BOX_KEY_BYTES crypto_secretbox_KEYBYTES
#define S_SALT_BYTES crypto_pwhash_SALTBYTES
#define S_NONCE_BYTES crypto_secretbox_NONCEBYTES
#define S_BOX_BYTES (crypto_secretbox_MACBYTES + HT_SECRETKEY_BYTES)

struct _ht_keypair_t {
    uint8_t public_key [HT_PUBKEY_BYTES];   //  Ed25519 public
    uint8_t secret_key [HT_SECRETKEY_BYTES];    //  Ed25519 secret (seed||pk)
    uint8_t curve_public [HT_CURVE_KEY_BYTES];  //  derived X25519 public
    uint8_t curve_secret [HT_CURVE_KEY_BYTES];  //  derived X25519 secret
    char name [S_NAME_MAX_CHARS + 1];       //  label for people
};

//  Fill the derived Curve25519 pair; 0 or HT_EKEY
static int
s_derive_curve (ht_keypair_t *self)
{
    if (crypto_sign_ed25519_pk_to_curve25519 (self->curve_public, self->public_key)
    ||  crypto_sign_ed25519_sk_to_curve25519 (self->curve_secret, self->secret_key))
        return HT_EKEY;
    return HT_OK;
}

static ht_keypair_t *
s_new (const char *name)
{
    if (sodium_init () < 0)
        return NULL;
    ht_keypair_t *self = (ht_keypair_t *) sodium_malloc (sizeof (ht_keypair_t));
    if (self) {
        memset (self, 0, sizeof (*self));
        snprintf (self->name, sizeof self->name, "%s", name? name: "");
    }
    return self;
}

ht_keypair_t *
ht_keypair_new (const char *name)
{
    ht_keypair_t *self = s_new (name);
    if (self) {
        crypto_sign_keypair (self->public_key, self->secret_key);
        if (s_derive_curve (self))
            ht_keypair_destroy (&self);
    }
    return self;
}

ht_keypair_t *
ht_keypair_from_seed (const uint8_t seed [32], const char *name)
{
    ht_keypair_t *self = s_new (name);
    if (self) {
        crypto_sign_seed_keypair (self->public_key, self->secret_key, seed);
        if (s_derive_curve (self))
            ht_keypair_destroy (&self);
    }
    return self;
}

void
ht_keypair_destroy (ht_keypair_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sodium_free (*self_p);          //  wipes before freeing
        *self_p = NULL;
    }
}

const uint8_t *ht_keypair_public (const ht_keypair_t *self) { return self->public_key; }
const uint8_t *ht_keypair_secret (const ht_keypair_t *self) { return self->secret_key; }
const char *ht_keypair_name (const ht_keypair_t *self) { return self->name; }
const uint8_t *ht_keypair_curve_public (const ht_keypair_t *self) { return self->curve_public; }
const uint8_t *ht_keypair_curve_secret (const ht_keypair_t *self) { return self->curve_secret; }

int
ht_curve_public_from_ed25519 (const uint8_t ed_public [HT_PUBKEY_BYTES],
                              uint8_t curve_public [HT_CURVE_KEY_BYTES])
{
    return crypto_sign_ed25519_pk_to_curve25519 (curve_public, ed_public)? HT_EKEY: HT_OK;
}

//  Write text to path with mode, atomically refusing to clobber unless
//  overwrite; the mode is set at creation so no window leaks the secret.
//  Never through a symbolic link: one planted where a key is rewritten
//  would otherwise point our write at any file we may write.
static int
s_write_file (const char *path, const char *text, mode_t mode, bool overwrite)
{
    int flags = O_WRONLY | O_CREAT | (overwrite? O_TRUNC: O_EXCL);
    int error = HT_OK;
    int fd = ht_path_open (path, flags, mode, &error, NULL, 0);
    if (fd < 0)
        return error;
    size_t length = strlen (text);
    bool ok = write (fd, text, length) == (ssize_t) length
           && fchmod (fd, mode) == 0 && fsync (fd) == 0;
    close (fd);
    return ok? HT_OK: HT_EIO;
}

//  Serialize as JSON; secret included only if with_secret
static char *
s_to_json (const ht_keypair_t *self, bool with_secret)
{
    char public_hex [2 * HT_PUBKEY_BYTES + 1];
    json_t *json = json_object ();
    json_object_set_new (json, "public",
        json_string (ht_hex_encode (self->public_key, HT_PUBKEY_BYTES, public_hex)));
    if (with_secret) {
        char *secret_hex = (char *) sodium_malloc (2 * HT_SECRETKEY_BYTES + 1);
        ht_hex_encode (self->secret_key, HT_SECRETKEY_BYTES, secret_hex);
        json_object_set_new (json, "secret", json_string (secret_hex));
        sodium_free (secret_hex);
    }
    json_object_set_new (json, "name", json_string (self->name));
    char *text = json_dumps (json, JSON_INDENT (2) | JSON_SORT_KEYS);
    json_decref (json);
    return text;
}

int
ht_keypair_save (const ht_keypair_t *self, const char *path, bool overwrite)
{
    char *text = s_to_json (self, true);
    int rc = s_write_file (path, text, 0600, overwrite);
    sodium_memzero (text, strlen (text));
    free (text);
    return rc;
}

int
ht_keypair_save_public (const ht_keypair_t *self, const char *path, bool overwrite)
{
    char *text = s_to_json (self, false);
    int rc = s_write_file (path, text, 0644, overwrite);
    free (text);
    return rc;
}

//  Parse a key file's JSON; NULL on error
static json_t *
s_load_json (const char *path, int *error)
{
    json_error_t json_error;
    json_t *json = json_load_file (path, 0, &json_error);
    if (!json)
        *error = access (path, R_OK) == 0? HT_EKEY: HT_EIO;
    else
    if (!json_is_object (json)) {
        json_decref (json);
        json = NULL;
        *error = HT_EKEY;
    }
    return json;
}

//  Fill self's keys from hex and check they are one pair: the public
//  key must be the secret key's, or a file could pair our secret with
//  someone else's name for it. 0 or HT_EKEY.
static int
s_check_pair (ht_keypair_t *self, const char *public_hex)
{
    uint8_t derived [HT_PUBKEY_BYTES];
    bool ok = public_hex && strlen (public_hex) == 2 * HT_PUBKEY_BYTES
        && ht_hex_decode (public_hex, self->public_key, HT_PUBKEY_BYTES) == HT_OK
        && crypto_sign_ed25519_sk_to_pk (derived, self->secret_key) == 0
        && sodium_memcmp (derived, self->public_key, HT_PUBKEY_BYTES) == 0
        && s_derive_curve (self) == HT_OK;
    return ok? HT_OK: HT_EKEY;
}

//  A plain key file's pair; NULL with *error
static ht_keypair_t *
s_open_plain (json_t *json, int *error)
{
    ht_keypair_t *self = s_new (json_string_value (json_object_get (json, "name")));
    const char *secret_hex = json_string_value (json_object_get (json, "secret"));
    *error = self && secret_hex && strlen (secret_hex) == 2 * HT_SECRETKEY_BYTES
          && ht_hex_decode (secret_hex, self->secret_key, HT_SECRETKEY_BYTES) == HT_OK
           ? s_check_pair (self, json_string_value (json_object_get (json, "public")))
           : HT_EKEY;
    if (*error)
        ht_keypair_destroy (&self);
    return self;
}

//  The box key for a passphrase and salt (key: S_BOX_KEY_BYTES, best in
//  sodium_malloc'ed memory); 0 or HT_ENOMEM (Argon2 could not get memlimit)
static int
s_box_key (uint8_t *key, const char *passphrase, size_t length,
           const uint8_t salt [S_SALT_BYTES], unsigned long long opslimit, size_t memlimit)
{
    return crypto_pwhash (key, S_BOX_KEY_BYTES, passphrase, length, salt, opslimit, memlimit,
                          crypto_pwhash_ALG_ARGON2ID13) == 0? HT_OK: HT_ENOMEM;
}

//  A hex field of exactly size bytes into target; false if not
static bool
s_hex_field (json_t *json, const char *name, uint8_t *target, size_t size)
{
    const char *hex = json_string_value (json_object_get (json, name));
    return hex && strlen (hex) == 2 * size && ht_hex_decode (hex, target, size) == HT_OK;
}

//  The KDF cost a file asks for, within bounds: a file whose cost was
//  raised could otherwise make loading it take any time or memory
static bool
s_kdf_cost (json_t *json, unsigned long long *opslimit, size_t *memlimit)
{
    json_t *ops = json_object_get (json, "opslimit"), *mem = json_object_get (json, "memlimit");
    const char *kdf = json_string_value (json_object_get (json, "kdf"));
    if (!kdf || !streq (kdf, S_KDF_NAME) || !json_is_integer (ops) || !json_is_integer (mem))
        return false;
    json_int_t ops_value = json_integer_value (ops), mem_value = json_integer_value (mem);
    if (ops_value < (json_int_t) crypto_pwhash_OPSLIMIT_MIN
    ||  ops_value > (json_int_t) crypto_pwhash_OPSLIMIT_SENSITIVE
    ||  mem_value < (json_int_t) crypto_pwhash_MEMLIMIT_MIN
    ||  mem_value > (json_int_t) crypto_pwhash_MEMLIMIT_MODERATE)
        return false;
    *opslimit = (unsigned long long) ops_value;
    *memlimit = (size_t) mem_value;
    return true;
}

//  An encrypted key file's pair, unsealed with passphrase; NULL with *error
static ht_keypair_t *
s_open_sealed (json_t *json, const char *passphrase, size_t length, int *error)
{
    uint8_t salt [S_SALT_BYTES], nonce [S_NONCE_BYTES], box [S_BOX_BYTES];
    unsigned long long opslimit = 0;
    size_t memlimit = 0;
    if (!s_kdf_cost (json, &opslimit, &memlimit)
    ||  !s_hex_field (json, "salt", salt, sizeof salt)
    ||  !s_hex_field (json, "nonce", nonce, sizeof nonce)
    ||  !s_hex_field (json, "box", box, sizeof box)) {
        *error = HT_EKEY;
        return NULL;
    }
    if (!passphrase) {
        *error = HT_EPASSPHRASE;
        return NULL;
    }
    ht_keypair_t *self = s_new (json_string_value (json_object_get (json, "name")));
    uint8_t *key = (uint8_t *) sodium_malloc (S_BOX_KEY_BYTES);
    *error = self && key? s_box_key (key, passphrase, length, salt, opslimit, memlimit)
                        : HT_ENOMEM;
    //  Wrong passphrase and altered box or nonce or salt look alike: the
    //  MAC fails; the secret is opened straight into guarded memory
    if (*error == HT_OK
    &&  crypto_secretbox_open_easy (self->secret_key, box, sizeof box, nonce, key) != 0)
        *error = HT_EDECRYPT;
    sodium_free (key);
    if (*error == HT_OK)
        *error = s_check_pair (self, json_string_value (json_object_get (json, "public")));
    if (*error)
        ht_keypair_destroy (&self);
    return self;
}

//  The file's format marker: NULL for a plain key file
static const char *
s_format (json_t *json)
{
    return json_string_value (json_object_get (json, "format"));
}

ht_keypair_t *
ht_keypair_load_passphrase (const char *path, const char *passphrase, size_t length,
                            int *error_p)
{
    int ignored;
    int *error = error_p? error_p: &ignored;
    struct stat info;
    if (stat (path, &info) != 0) {
        *error = HT_EIO;
        return NULL;
    }
    //  Like ssh, refuse a secret others could have read: it is no secret
    if (info.st_mode & (S_IRWXG | S_IRWXO)) {
        *error = HT_EKEYMODE;
        return NULL;
    }
    json_t *json = s_load_json (path, error);
    if (!json)
        return NULL;
    const char *format = s_format (json);
    ht_keypair_t *self = NULL;
    if (!format)
        self = s_open_plain (json, error);
    else
    if (streq (format, HT_KEYFILE_ENCRYPTED_FORMAT))
        self = s_open_sealed (json, passphrase, length, error);
    else
        *error = HT_EVERSION;       //  a format this build does not know
    json_decref (json);
    return self;
}

ht_keypair_t *
ht_keypair_load (const char *path, int *error)
{
    return ht_keypair_load_passphrase (path, NULL, 0, error);
}

bool
ht_keyfile_is_encrypted (const char *path)
{
    int error = HT_OK;
    json_t *json = s_load_json (path, &error);
    bool encrypted = json && s_format (json) && streq (s_format (json),
                                                       HT_KEYFILE_ENCRYPTED_FORMAT);
    json_decref (json);
    return encrypted;
}

int
ht_keypair_save_encrypted (const ht_keypair_t *self, const char *path,
                           const char *passphrase, size_t length, bool overwrite)
{
    if (!passphrase || length == 0 || length > HT_PASSPHRASE_MAX_BYTES)
        return HT_EINVAL;
    uint8_t salt [S_SALT_BYTES], nonce [S_NONCE_BYTES], box [S_BOX_BYTES];
    randombytes_buf (salt, sizeof salt);
    randombytes_buf (nonce, sizeof nonce);
    uint8_t *key = (uint8_t *) sodium_malloc (S_BOX_KEY_BYTES);
    int rc = key? s_box_key (key, passphrase, length, salt,
                             crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE): HT_ENOMEM;
    if (rc == HT_OK)
        crypto_secretbox_easy (box, self->secret_key, HT_SECRETKEY_BYTES, nonce, key);
    sodium_free (key);
    if (rc)
        return rc;
    char public_hex [2 * HT_PUBKEY_BYTES + 1], salt_hex [2 * S_SALT_BYTES + 1];
    char nonce_hex [2 * S_NONCE_BYTES + 1], box_hex [2 * S_BOX_BYTES + 1];
    json_t *json = json_pack ("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}",
        "format", HT_KEYFILE_ENCRYPTED_FORMAT,
        "public", ht_hex_encode (self->public_key, HT_PUBKEY_BYTES, public_hex),
        "name", self->name, "kdf", S_KDF_NAME,
        "opslimit", (json_int_t) crypto_pwhash_OPSLIMIT_INTERACTIVE,
        "memlimit", (json_int_t) crypto_pwhash_MEMLIMIT_INTERACTIVE,
        "salt", ht_hex_encode (salt, sizeof salt, salt_hex),
        "nonce", ht_hex_encode (nonce, sizeof nonce, nonce_hex),
        "box", ht_hex_encode (box, sizeof box, box_hex));
    char *text = json? json_dumps (json, JSON_INDENT (2) | JSON_SORT_KEYS): NULL;
    json_decref (json);
    rc = text? s_write_file (path, text, 0600, overwrite): HT_ENOMEM;
    free (text);
    return rc;
}

int
ht_passphrase_read_file (const char *path, char *buffer, size_t size, size_t *length)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HT_EIO;
    struct stat info;
    if (fstat (fd, &info) != 0 || !S_ISREG (info.st_mode)) {
        close (fd);
        return HT_EIO;
    }
    if (info.st_mode & (S_IRWXG | S_IRWXO)) {
        close (fd);
        return HT_EKEYMODE;
    }
    size_t total = 0;
    ssize_t got;
    while (total < size && (got = read (fd, buffer + total, size - total)) > 0)
        total += (size_t) got;
    close (fd);
    //  One line: the passphrase ends at the first newline (an echo or an
    //  editor adds one); the rest is not part of it
    char *newline = memchr (buffer, '\n', total);
    size_t end = newline? (size_t) (newline - buffer): total;
    if (end > 0 && buffer [end - 1] == '\r')
        end--;
    sodium_memzero (buffer + end, size - end);
    if (end == 0 || end > HT_PASSPHRASE_MAX_BYTES || (!newline && total == size)) {
        sodium_memzero (buffer, size);
        return HT_EINVAL;
    }
    *length = end;
    return HT_OK;
}

int
ht_public_load (const char *path_or_hex, uint8_t pubkey [HT_PUBKEY_BYTES])
{
    if (strlen (path_or_hex) == 2 * HT_PUBKEY_BYTES
    &&  ht_hex_decode (path_or_hex, pubkey, HT_PUBKEY_BYTES) == HT_OK)
        return HT_OK;
    int error = HT_OK;
    json_t *json = s_load_json (path_or_hex, &error);
    if (!json)
        return error;
    const char *public_hex = json_string_value (json_object_get (json, "public"));
    int rc = public_hex? ht_hex_decode (public_hex, pubkey, HT_PUBKEY_BYTES): HT_EKEY;
    json_decref (json);
    return rc? HT_EKEY: HT_OK;
}
//  --------------------------------------------------------------------------
//  Where passphrases come from

//  Read one line from the terminal with echo off; 0, HT_EIO (no
//  terminal) or HT_EINVAL (empty, too long)
static int
s_prompt (const char *prompt, char *buffer, size_t size, size_t *length)
{
    int fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return HT_EIO;
    struct termios saved, quiet;
    bool echo_off = tcgetattr (fd, &saved) == 0;
    quiet = saved;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    if (echo_off)
        tcsetattr (fd, TCSAFLUSH, &quiet);
    if (write (fd, prompt, strlen (prompt)) < 0) { /* the prompt is a courtesy */ }
    size_t total = 0;
    char byte = 0;
    while (total < size && read (fd, &byte, 1) == 1 && byte != '\n')
        buffer [total++] = byte;
    if (echo_off)
        tcsetattr (fd, TCSAFLUSH, &saved);
    if (write (fd, "\n", 1) < 0) { /* as above */ }
    close (fd);
    byte = 0;
    if (total == 0 || total > HT_PASSPHRASE_MAX_BYTES) {
        sodium_memzero (buffer, size);
        return HT_EINVAL;
    }
    *length = total;
    return HT_OK;
}

//  Prompt twice, for a new passphrase
static int
s_prompt_new (char *buffer, size_t size, size_t *length)
{
    char *again = (char *) sodium_malloc (size);
    size_t again_length = 0;
    int rc = again? s_prompt ("New key passphrase: ", buffer, size, length): HT_ENOMEM;
    if (rc == HT_OK)
        rc = s_prompt ("Repeat the passphrase: ", again, size, &again_length);
    if (rc == HT_OK
    &&  (again_length != *length || sodium_memcmp (again, buffer, *length) != 0))
        rc = HT_EINVAL;
    sodium_free (again);
    if (rc)
        sodium_memzero (buffer, size);
    return rc;
}

//  The environment's passphrase, if it names one
static int
s_from_environment (char *buffer, size_t size, size_t *length, bool *found)
{
    const char *value = getenv (HT_PASSPHRASE_ENV);
    if (value && *value) {
        *found = true;
        *length = strlen (value);
        if (*length > HT_PASSPHRASE_MAX_BYTES || *length >= size)
            return HT_EINVAL;
        memcpy (buffer, value, *length);
        return HT_OK;
    }
    //  systemd's LoadCredential=hutong-key-passphrase:FILE
    const char *directory = getenv ("CREDENTIALS_DIRECTORY");
    char path [PATH_MAX];
    if (directory && *directory
    &&  snprintf (path, sizeof path, "%s/%s", directory, HT_PASSPHRASE_CREDENTIAL)
        < (int) sizeof path
    &&  access (path, F_OK) == 0) {
        *found = true;
        return ht_passphrase_read_file (path, buffer, size, length);
    }
    return HT_OK;
}

int
ht_passphrase_get (const ht_passphrase_source_t *source, bool confirm, char *buffer,
                   size_t size, size_t *length)
{
    if (source->file)
        return ht_passphrase_read_file (source->file, buffer, size, length);
    bool found = false;
    if (source->environment) {
        int rc = s_from_environment (buffer, size, length, &found);
        if (found || rc)
            return rc;
    }
    if (source->terminal && isatty (STDIN_FILENO))
        return confirm? s_prompt_new (buffer, size, length)
                      : s_prompt ("Key passphrase: ", buffer, size, length);
    return HT_EPASSPHRASE;
}

ht_keypair_t *
ht_keypair_load_from (const char *path, const ht_passphrase_source_t *source, int *error_p)
{
    int ignored;
    int *error = error_p? error_p: &ignored;
    ht_keypair_t *self = ht_keypair_load (path, error);
    if (self || *error != HT_EPASSPHRASE || !source)
        return self;
    char *passphrase = (char *) sodium_malloc (HT_PASSPHRASE_BUFFER_BYTES);
    size_t length = 0;
    *error = passphrase? ht_passphrase_get (source, false, passphrase,
                                            HT_PASSPHRASE_BUFFER_BYTES, &length)
                       : HT_ENOMEM;
    if (*error == HT_OK)
        self = ht_keypair_load_passphrase (path, passphrase, length, error);
    sodium_free (passphrase);       //  wipes it
    return self;
}
