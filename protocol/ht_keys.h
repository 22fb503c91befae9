//  ht_keys: a principal's Ed25519 key pair and the Curve25519 pair derived
//  from it, so one key file serves signing and CurveZMQ transport.
//
//  Key files are JSON {"public": hex, "secret": hex, "name": text}, written
//  0600; loading refuses a file that group or others can read. Public key
//  files hold only {"public": hex, "name": text}.
//
//  A key file may be protected by a passphrase: {"format":
//  "hutong-encrypted-key-1", "public", "name", "kdf": "argon2id13",
//  "opslimit", "memlimit", "salt", "nonce", "box"}, where box is the
//  secret key sealed by crypto_secretbox under a key crypto_pwhash
//  derives from the passphrase and salt. Its public half stays readable
//  (ht_public_load) without the passphrase.
#ifndef HT_KEYS_H_INCLUDED
#define HT_KEYS_H_INCLUDED

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "ht_error.h"
#include "ht_record.h"

#define HT_CURVE_KEY_BYTES 32
#define HT_PASSPHRASE_MAX_BYTES 1024    //  longest passphrase read or accepted
#define HT_KEYFILE_ENCRYPTED_FORMAT "hutong-encrypted-key-1"
#define HT_Z85_KEY_CHARS 40

//  Create a fresh random key pair; NULL on failure
ht_keypair_t *ht_keypair_new (const char *name);

//  Create a key pair from a 32-byte seed (deterministic; for tests and gen)
ht_keypair_t *ht_keypair_from_seed (const uint8_t seed [32], const char *name);

//  Load a key file. NULL on error with *error: HT_EIO (missing, unreadable),
//  HT_EKEYMODE (group/world readable), HT_EKEY (malformed or the public key
//  does not match the secret).
//  An encrypted key file gives HT_EPASSPHRASE (use the call below).
ht_keypair_t *ht_keypair_load (const char *path, int *error);

//  Load a key file that may be encrypted, with passphrase (length bytes;
//  NULL to load only a plain file). Same errors, and HT_EPASSPHRASE (the
//  file is encrypted and passphrase is NULL), HT_EDECRYPT (wrong
//  passphrase, or the sealed part was altered), HT_EKEY (a field missing
//  or out of bounds, or the public key does not match the secret).
ht_keypair_t *ht_keypair_load_passphrase (const char *path, const char *passphrase,
                                          size_t length, int *error);

//  True if path is an encrypted key file (its format marker says so)
bool ht_keyfile_is_encrypted (const char *path);

//  Destroy a key pair, wiping the secret, and set the pointer to NULL
void ht_keypair_destroy (ht_keypair_t **self_p);

//  Save the key pair with mode 0600. Refuses to overwrite (HT_EIO, errno
//  EEXIST) unless overwrite is true, and never writes through a symbolic
//  link or onto a file that is not a regular, singly linked one
//  (HT_EUNSAFE; see ht_path_open).
int ht_keypair_save (const ht_keypair_t *self, const char *path, bool overwrite) HT_WUR;

//  Save the key pair sealed under passphrase (length bytes, 1 to
//  HT_PASSPHRASE_MAX_BYTES), mode 0600; same errors, and HT_EINVAL for
//  an empty or too long passphrase, HT_ENOMEM if the key derivation
//  cannot get its memory
int ht_keypair_save_encrypted (const ht_keypair_t *self, const char *path,
                               const char *passphrase, size_t length,
                               bool overwrite) HT_WUR;

//  Read a passphrase from a file (a systemd credential, a secrets
//  mount): its bytes up to the first newline, into buffer (size bytes,
//  best sodium_malloc'ed; the caller wipes it). Refuses a file group or
//  others may read (HT_EKEYMODE), an unreadable one (HT_EIO), an empty or
//  too long one (HT_EINVAL). 0 with *length set.
int ht_passphrase_read_file (const char *path, char *buffer, size_t size,
                             size_t *length) HT_WUR;

//  Where a passphrase may come from, tried in this order
#define HT_PASSPHRASE_ENV "HUTONG_PASSPHRASE"
#define HT_PASSPHRASE_CREDENTIAL "hutong-key-passphrase"
#define HT_PASSPHRASE_BUFFER_BYTES (HT_PASSPHRASE_MAX_BYTES + 2)
typedef struct {
    const char *file;               //  a passphrase file, or NULL: when set,
                                    //  the only source
    bool environment;               //  $HUTONG_PASSPHRASE, else the systemd
                                    //  credential hutong-key-passphrase in
                                    //  $CREDENTIALS_DIRECTORY
    bool terminal;                  //  a prompt on the controlling terminal
} ht_passphrase_source_t;

//  Get a passphrase from source into buffer (size bytes, at least
//  HT_PASSPHRASE_BUFFER_BYTES; sodium_malloc it and wipe it after). With
//  confirm, a terminal asks twice. 0 with *length, HT_EPASSPHRASE if no
//  source has one, or ht_passphrase_read_file's errors (HT_EINVAL also
//  for an empty, too long or mistyped passphrase; HT_EIO for a missing
//  file).
int ht_passphrase_get (const ht_passphrase_source_t *source, bool confirm, char *buffer,
                       size_t size, size_t *length) HT_WUR;

//  ht_keypair_load, and for an encrypted file the passphrase from source
//  (NULL: none). Errors of both calls; the passphrase is wiped.
ht_keypair_t *ht_keypair_load_from (const char *path, const ht_passphrase_source_t *source,
                                    int *error);

//  Save only the public key (mode 0644); same errors
int ht_keypair_save_public (const ht_keypair_t *self, const char *path, bool overwrite) HT_WUR;

//  Load a public key from a public key file or a key file (only the public
//  half is read, so mode is not checked), or from a 64-char hex string.
int ht_public_load (const char *path_or_hex, uint8_t pubkey [HT_PUBKEY_BYTES]) HT_WUR;

//  Borrowed: the Ed25519 public key (32) and secret key (64)
const uint8_t *ht_keypair_public (const ht_keypair_t *self);
const uint8_t *ht_keypair_secret (const ht_keypair_t *self);
const char *ht_keypair_name (const ht_keypair_t *self);

//  Derived Curve25519 keys for CurveZMQ (borrowed, 32 bytes each)
const uint8_t *ht_keypair_curve_public (const ht_keypair_t *self);
const uint8_t *ht_keypair_curve_secret (const ht_keypair_t *self);

//  Curve25519 public key for an Ed25519 public key; 0 or HT_EKEY
int ht_curve_public_from_ed25519 (const uint8_t ed_public [HT_PUBKEY_BYTES],
                                  uint8_t curve_public [HT_CURVE_KEY_BYTES]) HT_WUR;

#endif
