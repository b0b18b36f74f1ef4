# Turns OpenCL sources into a C file of byte arrays, so the library needs no
# file at run time. Each routine's array holds COMMON followed by the routine.
#   cmake -DCOMMON=common.cl -DROUTINES="a.cl;b.cl" -DOUTPUT=kernels.c -P embed_kernels.cmake
file(READ "${COMMON}" common_hex HEX)
set(out "/* Generated from the kernels folder by cmake/embed_kernels.cmake. Do not edit. */\n")
string(APPEND out "#include \"kernels.h\"\n\n")
foreach(routine IN LISTS ROUTINES)
  get_filename_component(name "${routine}" NAME_WE)
  file(READ "${routine}" routine_hex HEX)
  set(hex "${common_hex}${routine_hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x..,){16})" "\\1\n    " bytes "${bytes}")
  string(APPEND out "const char sm_kernel_${name}[] = {\n    ${bytes}0x00};\n\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "${out}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
