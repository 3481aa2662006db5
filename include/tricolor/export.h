/* TRICOLOR_API marks what the shared library exports (C and C++). The library is built with
 * -fvisibility=hidden, so everything else in it — the collector's own classes in gc/ — stays
 * private to it: only the C API, the C++ API's out-of-line functions and classes, and the few
 * internal entry points that inline header code calls are visible to programs. A static library
 * ignores the marks. */
#ifndef TRICOLOR_EXPORT_H
#define TRICOLOR_EXPORT_H

#if defined(__GNUC__)
#define TRICOLOR_API __attribute__((visibility("default")))
#else
#define TRICOLOR_API
#endif

#endif
