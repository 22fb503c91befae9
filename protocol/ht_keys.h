//  ht_keys: a principal's Ed25519 key pair and the Curve25519 pair derived
//  from it, so one key file serves signing and CurveZMQ transport.
//
//  Key files are JSON {"public": hex, "secret": hex, "name": text}, written
//  0600; loading refuses a file that group or others can read. Public key
//  files hold only {"public": hex, "name": text}.
#ifndef HT_KEYS_H_INCLUDED
#define HT_KEYS_H_INCLUDED

#include <stdint.h>
#include <stddef.h>
#include "ht_error.h"
#include "ht_record.h"

#define HT_CURVE_KEY_BYTES 32
#define HT_Z85_KEY_CHARS 40

//  Create a fresh random key pair; NULL on failure
ht_keypair_t *ht_keypair_new (const char *name);

//  Create a key pair from a 32-byte seed (deterministic; for tests and gen)
ht_keypair_t *ht_keypair_from_seed (const uint8_t seed [32], const char *name);

//  Load a key file. NULL on error with *error: HT_EIO (missing, unreadable),
//  HT_EKEYMODE (group/world readable), HT_EKEY (malformed or the public key
//  does not match the secret).
ht_keypair_t *ht_keypair_load (const char *path, int *error);

//  Destroy a key pair, wiping the secret, and set the pointer to NULL
void ht_keypair_destroy (ht_keypair_t **self_p);

//  Save the key pair with mode 0600. Refuses to overwrite (HT_EIO, errno
//  EEXIST) unless overwrite is true, and never writes through a symbolic
//  link or onto a file that is not a regular, singly linked one
//  (HT_EUNSAFE; see ht_path_open).
int ht_keypair_save (const ht_keypair_t *self, const char *path, bool overwrite) HT_WUR;

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
