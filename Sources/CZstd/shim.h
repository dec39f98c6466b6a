// libzstd, as Debian 12 ships it (1.5.4): `trellis stage --compress zstd`.
#ifndef TRELLIS_CZSTD_SHIM_H
#define TRELLIS_CZSTD_SHIM_H
#include <zstd.h>
#endif
