// glibc's malloc_trim, which Swift's Glibc module does not export. Tested by __linux__, a
// compiler macro: __GLIBC__ comes from a libc header, whose macros a module header does
// not see (with it the call silently did nothing on glibc too). Elsewhere (Darwin) there
// is nothing to trim this way, and the call does nothing.
#if defined(__linux__)
#include <malloc.h>
static inline int weir_malloc_trim(void) { return malloc_trim(0); }
#else
static inline int weir_malloc_trim(void) { return 0; }
#endif
