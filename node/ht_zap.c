//  ht_zap: who may connect (see ht_zap.h). CURVE presents Curve25519 keys
//  while certificates name Ed25519 keys, so we keep a map from the one to
//  the other, rebuilt from the store's certificates on a miss.
#include <inttypes.h>
#include <sodium.h>
#include "ht_zap.h"
#include "ht_gate.h"
#include "ht_hlc.h"
#include "ht_keys.h"
#include "ht_log.h"
#include "ht_refusals.h"

#define S_REBUILD_MIN_MS 1000       //  at most one rebuild a second
#define S_HEX_KEY_CHARS (2 * HT_PUBKEY_BYTES)
#define S_CURVE_KEY_BYTES HT_CURVE_KEY_BYTES

//  Anyone may make up Curve keys and try them, so what we remember of
//  refused keys is bounded: this many keys (about 150 bytes each), one log
//  line per key per interval, and at most this many lines per interval,
//  then one summary line
#define S_REFUSED_KEYS 1024
#define S_REFUSAL_LOG_INTERVAL_MS (60 * 1000)
#define S_REFUSAL_LOG_LINES 10

struct _ht_zap_t {
    ht_store_t *store;                  //  certificates (borrowed)
    const ht_config_t *config;          //  our region, log level (borrowed)
    zhashx_t *curve_keys;               //  hex curve key -> hex Ed25519 key
    int64_t curve_keys_built_ms;        //  when curve_keys was rebuilt
    ht_refusals_t *refusals;            //  refused curve keys, log budget
};

ht_zap_t *
ht_zap_new (ht_store_t *store, const ht_config_t *config)
{
    ht_zap_t *self = (ht_zap_t *) zmalloc (sizeof (ht_zap_t));
    self->store = store;
    self->config = config;
    self->curve_keys = zhashx_new ();
    zhashx_set_destructor (self->curve_keys, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->curve_keys, (zhashx_duplicator_fn *) strdup);
    self->curve_keys_built_ms = INT64_MIN / 2;
    self->refusals = ht_refusals_new (S_REFUSED_KEYS, S_REFUSAL_LOG_INTERVAL_MS,
                                      S_REFUSAL_LOG_LINES);
    return self;
}

void
ht_zap_destroy (ht_zap_t **self_p)
{
    ht_zap_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->curve_keys);
        ht_refusals_destroy (&self->refusals);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
ht_zap_refused (const ht_zap_t *self)
{
    return ht_refusals_total (self->refusals);
}

//  Add one certificate's Curve25519 key to the map
static int
s_map_cert (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    zhashx_t *map = (zhashx_t *) arg;
    size_t size = 0;
    const uint8_t *pubkey = ht_record_get_bin (record, "pubkey", &size);
    uint8_t curve [S_CURVE_KEY_BYTES];
    if (pubkey && size == HT_PUBKEY_BYTES && ht_curve_public_from_ed25519 (pubkey, curve) == HT_OK) {
        char curve_hex [2 * S_CURVE_KEY_BYTES + 1], ed_hex [S_HEX_KEY_CHARS + 1];
        ht_hex_encode (curve, sizeof curve, curve_hex);
        ht_hex_encode (pubkey, HT_PUBKEY_BYTES, ed_hex);
        zhashx_update (map, curve_hex, ed_hex);
    }
    return 0;
}

//  The Ed25519 key (hex) behind a Curve25519 key (hex), or NULL
static const char *
s_ed25519_of (ht_zap_t *self, const char *curve_hex, int64_t now)
{
    const char *ed_hex = (const char *) zhashx_lookup (self->curve_keys, curve_hex);
    if (!ed_hex && now - self->curve_keys_built_ms >= S_REBUILD_MIN_MS) {
        zhashx_purge (self->curve_keys);
        ht_store_list (self->store, "cert", "", NULL, 0, s_map_cert, self->curve_keys);
        self->curve_keys_built_ms = now;
        ed_hex = (const char *) zhashx_lookup (self->curve_keys, curve_hex);
    }
    return ed_hex;
}

//  Decide for one key on one socket; 0 to admit, else why not
static int
s_admit (ht_zap_t *self, const char *domain, const char *ed_hex, const char **reason)
{
    ht_gate_t gate = ht_gate_of_store (self->store, self->config->region, ht_hlc_wall_ms ());
    return ht_gate_admit_hex (&gate, streq (domain, "node")? HT_GATE_NODE_SOCKET
                                                           : HT_GATE_CLIENT_SOCKET,
                              ed_hex, NULL, NULL, reason);
}

//  Count a refusal; log it as the refusal table allows (ht_refusals.h:
//  bounded lines however many keys an outsider makes up). A line names
//  the Ed25519 key and its certificate's name when we have one (an
//  expired, revoked or misplaced certificate), else the Curve key.
static void
s_refused (ht_zap_t *self, const char *domain, const char *curve_hex, const char *reason,
           int64_t now)
{
    ht_refusal_note_t note;
    ht_refusals_add (self->refusals, curve_hex, now, &note);
    if (note.summary_refusals)
        HT_WARNING (self->config, "zap: %" PRIu64 " more refusals from %" PRIu64 " keys "
                      "in the last interval", note.summary_refusals, note.summary_keys);
    if (!note.log_key)
        return;
    //  Only for a line we write: a store read per line, not per attempt
    const char *ed_hex = (const char *) zhashx_lookup (self->curve_keys, curve_hex);
    int error = 0;
    ht_record_t *cert = ed_hex? ht_store_get (self->store, "cert", ed_hex, &error): NULL;
    const char *name = cert? ht_record_get_str (cert, "name"): NULL;
    if (ed_hex)
        HT_WARNING (self->config, "zap: refused %s connection from key %s (%s): %s "
                      "(refusal %" PRIu64 " of this key)", domain, ed_hex, name? name: "no name",
                      reason, note.key_refusals);
    else
        HT_WARNING (self->config, "zap: refused %s connection from a key no certificate in "
                      "this store names (Curve25519 key %s; the refused node's log and its "
                      "'hutongd --check --online' name its Ed25519 key): %s (refusal %" PRIu64
                      " of this key)", domain, curve_hex,
                      reason, note.key_refusals);
    ht_record_destroy (&cert);
}

zmsg_t *
ht_zap_answer (ht_zap_t *self, zmsg_t **request_p, int64_t now)
{
    zmsg_t *request = *request_p;
    char *version = zmsg_popstr (request), *request_id = zmsg_popstr (request);
    char *domain = zmsg_popstr (request), *address = zmsg_popstr (request);
    char *identity = zmsg_popstr (request), *mechanism = zmsg_popstr (request);
    zframe_t *credentials = zmsg_pop (request);
    const char *reason = "CURVE required";
    const char *ed_hex = NULL;
    char curve_hex [2 * S_CURVE_KEY_BYTES + 1] = "";
    int rc = HT_EKEY;
    if (mechanism && streq (mechanism, "CURVE") && credentials
    &&  zframe_size (credentials) == S_CURVE_KEY_BYTES
    &&  domain && (streq (domain, "node") || streq (domain, "client"))) {
        ht_hex_encode (zframe_data (credentials), S_CURVE_KEY_BYTES, curve_hex);
        ed_hex = s_ed25519_of (self, curve_hex, now);
        rc = s_admit (self, domain, ed_hex, &reason);
    }
    if (rc)
        s_refused (self, domain? domain: "?", curve_hex, reason, now);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, request_id? request_id: "");
    zmsg_addstr (reply, rc? "400": "200");
    zmsg_addstr (reply, rc? reason: "OK");
    zmsg_addstr (reply, rc || !ed_hex? "": ed_hex);
    zmsg_addstr (reply, "");
    zstr_free (&version); zstr_free (&request_id); zstr_free (&domain);
    zstr_free (&address); zstr_free (&identity); zstr_free (&mechanism);
    zframe_destroy (&credentials);
    zmsg_destroy (request_p);
    return reply;
}
