/* libFuzzer harness: a HEALPix FITS file as the map, a template and the
 * mask of the loader (sysmap run --map F --templates F --mask F), and on
 * its own through sm_hpx_read with every change of ordering it allows. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "sysmap/healpix.h"
#include "sysmap/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".fits");
    sm_hpx_map_t *m = NULL;
    if (sm_hpx_read(&m, path, NULL) == SM_OK) {
        (void)sm_hpx_reorder(m, m->order == SM_HPX_RING ? SM_HPX_NESTED : SM_HPX_RING);
        sm_hpx_free(m);
    }
    sm_hpx_source_t t = {path, NULL};
    sm_input_t in;
    sm_input_default(&in);
    in.map.path = path;
    in.templates = &t;
    in.n_templates = 1;
    in.mask.path = path;
    in.standardize = size % 2;
    in.map_kind = size % 3 == 0 ? SM_MAP_COUNTS : SM_MAP_OVERDENSITY;
    sm_data_t *map = NULL;
    sm_pixels_t *pixels = NULL;
    if (sm_input_load(&in, &map, &pixels) == SM_OK) {
        sm_data_free(map);
        sm_pixels_free(pixels);
    }
    return 0;
}
