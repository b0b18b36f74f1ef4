/* libFuzzer harness: an HDF5 input map through every reader that takes
 * one from a user (sysmap run INPUT.h5 and --init P0.h5). Any outcome but
 * a crash, a hang or a leak is fine; the library must never print. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "sysmap/data.h"
#include "sysmap/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".h5");
    sm_input_t in;
    sm_input_default(&in);
    in.hdf5 = path;
    sm_data_t *map = NULL;
    sm_pixels_t *pixels = NULL;
    if (sm_input_load(&in, &map, &pixels) == SM_OK) {
        sm_data_free(map);
        sm_pixels_free(pixels);
    }
    double p0[16 * 7];
    (void)sm_data_load_walkers(path, 16, 7, p0);
    return 0;
}
