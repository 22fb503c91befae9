//  ht_linkmon: what happened to a connecting socket's link, from libzmq's
//  socket monitor. A CURVE client learns nothing on its socket when the
//  server's ZAP handler refuses its key or when it has the wrong server
//  key: the message it sent just waits. The monitor tells those apart, so
//  a node and `hutongd --check --online` can say which it was.
#ifndef HT_LINKMON_H_INCLUDED
#define HT_LINKMON_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

//  What the monitor has seen since the socket was made
typedef struct {
    bool connected;                 //  a TCP (or ipc) connection was made
    bool handshaken;                //  the CURVE handshake succeeded
    int auth_status;                //  the ZAP status that refused us, else 0
    bool protocol_failed;           //  the handshake failed otherwise
    int retries;                    //  connection attempts that failed
} ht_linkmon_seen_t;

//  Watch sock (borrowed; call before it connects); returns the socket the
//  events arrive on (owned by the caller), or NULL
zsock_t *ht_linkmon_new (zsock_t *sock);

//  Read one event from monitor into seen; returns the event's ZMQ_EVENT_*
//  id, or 0 if nothing whole arrived
int ht_linkmon_read (zsock_t *monitor, ht_linkmon_seen_t *seen);

//  Stop watching sock and destroy the monitor socket
void ht_linkmon_destroy (zsock_t *sock, zsock_t **monitor_p);

#endif
