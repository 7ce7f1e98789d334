#ifndef WEIR_CNNG_SHIM_H
#define WEIR_CNNG_SHIM_H
// nng 1.5 (Debian's libnng-dev ships no pkg-config file, so the module map links it by
// name). Peers talk push/pull: one pull listener per node, one push dialer per peer.
// Only the Transport module imports this.
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pipeline0/pull.h>
#endif
