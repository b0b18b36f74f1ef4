#include "sysmap/version.h"

const char *sm_version(void)
{
    return SM_VERSION_STRING;
}
