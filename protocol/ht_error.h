//  ht_error: one error enum for the whole project, and its text.
#ifndef HT_ERROR_H_INCLUDED
#define HT_ERROR_H_INCLUDED

#define HT_WUR __attribute__ ((warn_unused_result))

typedef enum {
    HT_OK = 0,
    HT_EINVAL = -1,         //  malformed argument or value
    HT_EMALFORMED = -2,     //  bytes are not a well-formed message
    HT_ETRUNCATED = -3,     //  bytes end before the message does
    HT_EKIND = -4,          //  unknown record kind
    HT_EFIELD = -5,         //  unknown field, or field of the wrong type
    HT_ESCHEMA = -6,        //  a field fails its kind's validation rule
    HT_EREQUIRED = -7,      //  a required field is missing
    HT_EREGION = -8,        //  invalid region code
    HT_EBADSIG = -9,        //  signature does not verify
    HT_EDIGEST = -10,       //  a field digest or salt does not match
    HT_ENOCERT = -11,       //  no certificate for the author or an issuer
    HT_ECHAIN = -12,        //  certificate chain does not reach the root anchor
    HT_EEXPIRED = -13,      //  certificate not valid at the record's time
    HT_EREVOKED = -14,      //  certificate revoked before the record's time
    HT_EKINDPERM = -15,     //  certificate does not permit the record's kind
    HT_ESCOPE = -16,        //  author jurisdiction, scope and region disagree
    HT_EKEY = -17,          //  key file missing, malformed, or key mismatch
    HT_EKEYMODE = -18,      //  key file readable by group or others
    HT_EIO = -19,           //  file or system error (see errno)
    HT_ESTORE = -20,        //  LMDB error
    HT_ENOTFOUND = -21,     //  no such record
    HT_EREDACTED = -22,     //  operation needs the full form
    HT_ENOMEM = -23,        //  out of memory
    HT_ECLOCK = -24,        //  timestamp too far ahead of the local clock
    HT_EVERSION = -25,      //  unsupported format or protocol version
    HT_ELOCKED = -26,       //  store is in use by another process
    HT_ECONFIG = -27,       //  invalid configuration
    HT_ETIMEOUT = -28,      //  peer did not answer in time
    HT_EPOLICY = -29,       //  unknown read policy, or access refused
    HT_ECONFLICT = -30,     //  same (hlc, author) with different content
    HT_ECERTKEY = -31,      //  cert/revocation key is not hex(pubkey)
    HT_ENOTISSUER = -32,    //  cert written by other than the key's issuer
    HT_ENOTCHAIN = -33,     //  revocation by a key not on the revoked chain
    HT_EFINAL = -34,        //  a revocation cannot be undone or postponed
    HT_ENOTOWNER = -35,     //  author may not replace the entity's owner
    HT_ESTALE = -36,        //  ingest hlc outside the freshness window
    HT_ERATELIMIT = -37,    //  too many requests from one client
    HT_EUNSAFE = -38,       //  file or directory writable by others, or a symlink
    HT_EFULL = -39,         //  store or quarantine full
    HT_ESCHEMAVERSION = -40,    //  record's schema version is newer than known
    HT_ENOPURPOSE = -41,    //  a read disclosing personal fields names no purpose
    HT_EPURPOSE = -42,      //  purpose unknown, or not allowed to this policy
    HT_EFORBIDDEN = -43,    //  this key's role may not make this request here
    HT_EAUDIT = -44,        //  the read's audit record could not be stored
    HT_ERESYNC = -45,       //  a feed cursor the node cannot serve: start again
    HT_EPASSPHRASE = -46,   //  key file is encrypted and no passphrase was given
    HT_EDECRYPT = -47,      //  wrong passphrase, or the encrypted key file was altered
    HT_ECLOCKSKEW = -48,    //  this node's clock is off its neighbours': a record
                            //  written here is dated where they would refuse it
    HT_ERROR_COUNT = 49
} ht_error_t;

//  Return a static, human-readable text for an error code
const char *ht_strerror (int code);

//  Return a short stable identifier for an error code (for JSON and stats),
//  e.g. "bad_signature"
const char *ht_errname (int code);

//  The code of a stable identifier from ht_errname (0 for "ok"), or
//  HT_EINVAL if the name is unknown
int ht_errcode (const char *name);

#endif
