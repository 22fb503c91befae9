//  ht_keys: Ed25519 key pairs in 0600 JSON files, with the Curve25519 pair
//  derived for CurveZMQ.
#include <czmq.h>
#include <sodium.h>
#include <sys/stat.h>
#include <fcntl.h>
#include "ht_keys.h"
#include "ht_path.h"

#define S_NAME_MAX_CHARS 63

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

ht_keypair_t *
ht_keypair_load (const char *path, int *error_p)
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
    const char *name = json_string_value (json_object_get (json, "name"));
    ht_keypair_t *self = s_new (name);
    const char *public_hex = json_string_value (json_object_get (json, "public"));
    const char *secret_hex = json_string_value (json_object_get (json, "secret"));
    uint8_t derived [HT_PUBKEY_BYTES];
    bool ok = self && public_hex && secret_hex
        && ht_hex_decode (public_hex, self->public_key, HT_PUBKEY_BYTES) == HT_OK
        && ht_hex_decode (secret_hex, self->secret_key, HT_SECRETKEY_BYTES) == HT_OK
        && crypto_sign_ed25519_sk_to_pk (derived, self->secret_key) == 0
        && sodium_memcmp (derived, self->public_key, HT_PUBKEY_BYTES) == 0
        && s_derive_curve (self) == HT_OK;
    json_decref (json);
    if (!ok) {
        ht_keypair_destroy (&self);
        *error = HT_EKEY;
        return NULL;
    }
    *error = HT_OK;
    return self;
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
