//  ht_zap: who may connect. libzmq asks this ZAP handler about every CURVE
//  handshake on our server sockets, and the gate (ht_gate.h) decides: a
//  key is admitted only if the store holds a certificate for it that is
//  valid now, the key is not revoked, its chain reaches the anchor, and
//  it fits the socket: on "node", a node certified for a direct child
//  region of ours; on "client", any principal inside our jurisdiction.
//  CURVE presents Curve25519 keys while certificates name Ed25519 keys,
//  so we keep a map from the one to the other, rebuilt on a miss.
#include <sodium.h>
#include "ht_node_private.h"

#define S_REBUILD_MIN_MS 1000       //  at most one rebuild a second

//  Add one certificate's Curve25519 key to the map
static int
s_map_cert (void *arg, const ht_record_t *record, uint64_t seq)
{
    (void) seq;
    zhashx_t *map = (zhashx_t *) arg;
    size_t size = 0;
    const uint8_t *pubkey = ht_record_get_bin (record, "pubkey", &size);
    uint8_t curve [32];
    if (pubkey && size == HT_PUBKEY_BYTES && ht_curve_public_from_ed25519 (pubkey, curve) == HT_OK) {
        char curve_hex [65], ed_hex [65];
        ht_hex_encode (curve, sizeof curve, curve_hex);
        ht_hex_encode (pubkey, HT_PUBKEY_BYTES, ed_hex);
        zhashx_update (map, curve_hex, ed_hex);
    }
    return 0;
}

//  The Ed25519 key (hex) behind a Curve25519 key (hex), or NULL
static const char *
s_ed25519_of (ht_node_t *self, const char *curve_hex)
{
    const char *ed_hex = (const char *) zhashx_lookup (self->curve_keys, curve_hex);
    int64_t now = ht_node_now ();
    if (!ed_hex && now - self->curve_keys_built_ms >= S_REBUILD_MIN_MS) {
        zhashx_purge (self->curve_keys);
        ht_store_list (self->store, "cert", "", NULL, 0, s_map_cert, self->curve_keys);
        self->curve_keys_built_ms = now;
        ed_hex = (const char *) zhashx_lookup (self->curve_keys, curve_hex);
    }
    return ed_hex;
}

int
ht_zap_cert_of (ht_node_t *self, const char *user_id, ht_cert_t *cert)
{
    uint8_t pubkey [HT_PUBKEY_BYTES], issuer [HT_PUBKEY_BYTES];
    if (!user_id || ht_hex_decode (user_id, pubkey, HT_PUBKEY_BYTES) != HT_OK)
        return HT_ENOCERT;
    const ht_certsource_t *source = ht_store_certsource (self->store);
    return source->cert (source->ctx, pubkey, cert, issuer);
}

int
ht_zap_admit (ht_node_t *self, ht_gate_socket_t socket, const char *ed_hex,
              const char *claimed_region, ht_cert_t *cert, const char **reason)
{
    uint8_t pubkey [HT_PUBKEY_BYTES];
    if (!ed_hex || ht_hex_decode (ed_hex, pubkey, HT_PUBKEY_BYTES) != HT_OK) {
        *reason = "unknown key";
        return HT_ENOCERT;
    }
    ht_gate_t gate = {
        .anchor = ht_store_anchor (self->store),
        .source = ht_store_certsource (self->store),
        .region = self->config.region,
        .now_ms = ht_hlc_wall_ms ()
    };
    return ht_gate_admit_key (&gate, socket, pubkey, claimed_region, cert, reason);
}

//  Decide for one key on one socket; 0 to admit, else why not
static int
s_admit (ht_node_t *self, const char *domain, const char *ed_hex, const char **reason)
{
    return ht_zap_admit (self, streq (domain, "node")? HT_GATE_NODE_SOCKET
                                                     : HT_GATE_CLIENT_SOCKET,
                         ed_hex, NULL, NULL, reason);
}

//  Count a refusal; log it as the refusal table allows (ht_refusals.h:
//  bounded lines however many keys an outsider makes up). A line names
//  the Ed25519 key and its certificate's name when we have one (an
//  expired, revoked or misplaced certificate), else the Curve key.
static void
s_refused (ht_node_t *self, const char *domain, const char *curve_hex, const char *reason)
{
    ht_refusal_note_t note;
    ht_refusals_add (self->refusals, curve_hex, ht_node_now (), &note);
    if (note.summary_refusals)
        HT_WARNING (self, "zap: %" PRIu64 " more refusals from %" PRIu64 " keys "
                      "in the last interval", note.summary_refusals, note.summary_keys);
    if (!note.log_key)
        return;
    //  Only for a line we write: a store read per line, not per attempt
    const char *ed_hex = (const char *) zhashx_lookup (self->curve_keys, curve_hex);
    int error = 0;
    ht_record_t *cert = ed_hex? ht_store_get (self->store, "cert", ed_hex, &error): NULL;
    const char *name = cert? ht_record_get_str (cert, "name"): NULL;
    if (ed_hex)
        HT_WARNING (self, "zap: refused %s connection from key %.16s... (%s): %s "
                      "(refusal %" PRIu64 " of this key)", domain, ed_hex, name? name: "no name",
                      reason, note.key_refusals);
    else
        HT_WARNING (self, "zap: refused %s connection from curve key %.16s...: %s "
                      "(refusal %" PRIu64 " of this key)", domain, curve_hex, reason,
                      note.key_refusals);
    ht_record_destroy (&cert);
}

int
ht_zap_handle (ht_node_t *self)
{
    zmsg_t *request = zmsg_recv (self->zap);
    if (!request)
        return 0;
    char *version = zmsg_popstr (request), *request_id = zmsg_popstr (request);
    char *domain = zmsg_popstr (request), *address = zmsg_popstr (request);
    char *identity = zmsg_popstr (request), *mechanism = zmsg_popstr (request);
    zframe_t *credentials = zmsg_pop (request);
    const char *reason = "CURVE required";
    const char *ed_hex = NULL;
    char curve_hex [65] = "";
    int rc = HT_EKEY;
    if (mechanism && streq (mechanism, "CURVE") && credentials && zframe_size (credentials) == 32
    &&  domain && (streq (domain, "node") || streq (domain, "client"))) {
        ht_hex_encode (zframe_data (credentials), 32, curve_hex);
        ed_hex = s_ed25519_of (self, curve_hex);
        rc = s_admit (self, domain, ed_hex, &reason);
    }
    if (rc)
        s_refused (self, domain? domain: "?", curve_hex, reason);
    zstr_sendx (self->zap, "1.0", request_id? request_id: "", rc? "400": "200",
                rc? reason: "OK", rc || !ed_hex? "": ed_hex, "", NULL);
    zstr_free (&version); zstr_free (&request_id); zstr_free (&domain);
    zstr_free (&address); zstr_free (&identity); zstr_free (&mechanism);
    zframe_destroy (&credentials);
    zmsg_destroy (&request);
    return 0;
}
