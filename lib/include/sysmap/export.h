/* SM_API marks the functions libsysmap exports. The library is compiled
 * with hidden visibility, so a function without SM_API stays internal to
 * it. A program linking a static libsysmap defines SYSMAP_STATIC (the
 * CMake target sysmap::sysmap does it for a static build). */
#ifndef SYSMAP_EXPORT_H
#define SYSMAP_EXPORT_H

#if !defined(SYSMAP_STATIC) && (defined(__GNUC__) || defined(__clang__))
#define SM_API __attribute__((visibility("default")))
#else
#define SM_API
#endif

#endif
