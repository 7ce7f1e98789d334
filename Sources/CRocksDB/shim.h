#ifndef WEIR_CROCKSDB_SHIM_H
#define WEIR_CROCKSDB_SHIM_H
// RocksDB's C API (Debian's librocksdb-dev). Only the Storage module imports this.
#include <rocksdb/c.h>
#endif
