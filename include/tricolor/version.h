/* The version of tricolor these headers belong to (C and C++). meson.build's project() version is
 * the same; configuring stops if they differ. An installed tricolor.pc and the CMake package carry it
 * too. */
#ifndef TRICOLOR_VERSION_H
#define TRICOLOR_VERSION_H

#define TRICOLOR_VERSION_MAJOR 0
#define TRICOLOR_VERSION_MINOR 2
#define TRICOLOR_VERSION_PATCH 0
#define TRICOLOR_VERSION_STRING "0.2.0"
/* One number that compares in order: 0.1.0 is 100, 1.2.3 is 10203. */
#define TRICOLOR_VERSION \
  (TRICOLOR_VERSION_MAJOR * 10000 + TRICOLOR_VERSION_MINOR * 100 + TRICOLOR_VERSION_PATCH)

#endif
