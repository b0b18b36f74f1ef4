#include "abi.h"

#include "sysmap/version.h"

sm_status sm_abi_check(size_t have, size_t need, const char *type, const char *init)
{
    if (have == 0)
        return sm_fail(SM_EINVAL, "%s: struct_size is 0: initialise the struct with %s", type,
                       init);
    if (have < need)
        return sm_fail(SM_EINVAL,
                       "%s: struct_size %zu, this libsysmap %s needs %zu: the caller was built "
                       "against an older sysmap header; rebuild it",
                       type, have, sm_version(), need);
    return SM_OK;
}
