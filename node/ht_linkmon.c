//  ht_linkmon: a link's events from libzmq's socket monitor (see
//  ht_linkmon.h)
#include "ht_linkmon.h"

#define S_EVENT_FRAME_BYTES 6       //  uint16 event id, uint32 value

zsock_t *
ht_linkmon_new (zsock_t *sock)
{
    //  The socket's address names the endpoint: unique while it lives
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://hutong-linkmon-%p", (void *) sock);
    if (zmq_socket_monitor (zsock_resolve (sock), endpoint, ZMQ_EVENT_ALL) != 0)
        return NULL;
    zsock_t *monitor = zsock_new (ZMQ_PAIR);
    if (monitor && zsock_connect (monitor, "%s", endpoint) != 0)
        zsock_destroy (&monitor);
    return monitor;
}

int
ht_linkmon_read (zsock_t *monitor, ht_linkmon_seen_t *seen)
{
    zmsg_t *event = zmsg_recv (monitor);
    zframe_t *frame = event? zmsg_first (event): NULL;
    uint16_t id = 0;
    if (frame && zframe_size (frame) == S_EVENT_FRAME_BYTES) {
        uint32_t value;
        memcpy (&id, zframe_data (frame), sizeof id);
        memcpy (&value, zframe_data (frame) + sizeof id, sizeof value);
        if (id == ZMQ_EVENT_CONNECTED)
            seen->connected = true;
        else
        if (id == ZMQ_EVENT_CONNECT_RETRIED)
            seen->retries++;
        else
        if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            seen->handshaken = true;
        else
        if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            seen->auth_status = (int) value;
        else
        if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        ||  id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            seen->protocol_failed = true;
    }
    zmsg_destroy (&event);
    return id;
}

void
ht_linkmon_destroy (zsock_t *sock, zsock_t **monitor_p)
{
    if (sock && *monitor_p)
        zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
    zsock_destroy (monitor_p);
}
