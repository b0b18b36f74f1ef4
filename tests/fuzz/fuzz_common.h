/* Shared by the libFuzzer harnesses: each input is written to a scratch
 * file (the loaders read paths, as HDF5 and cfitsio do), which lives for
 * the whole run in $TMPDIR. */
#ifndef SYSMAP_FUZZ_COMMON_H
#define SYSMAP_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The scratch file's path, holding exactly the size bytes of data (suffix
 * is its extension: cfitsio and HDF5 do not care, people reading
 * artifacts do). Aborts when it cannot be written: that is no finding. */
const char *fuzz_write_input(const uint8_t *data, size_t size, const char *suffix);

#endif
