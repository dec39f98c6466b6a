// libarchive, as Debian 12 ships it (3.6): `trellis stage tar:ARCHIVE`
// reads tar (and cpio, zip), compressed or not, with it.
#ifndef TRELLIS_CARCHIVE_SHIM_H
#define TRELLIS_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
