// glibc's malloc_trim, which Swift's Glibc module does not export; elsewhere (musl,
// Darwin) there is nothing to trim this way, and the call does nothing. stdlib.h comes
// first: __GLIBC__ is defined by a libc header (features.h), not by the compiler, so
// without it the test below is false on glibc too.
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
static inline int weir_malloc_trim(void) { return malloc_trim(0); }
#else
static inline int weir_malloc_trim(void) { return 0; }
#endif
