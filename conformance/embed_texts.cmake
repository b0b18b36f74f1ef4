# Embeds conformance/tolerances.txt and budgets.txt as C strings, so that
# sysmap conform needs no file at run time and cannot run with tables other
# than the ones it was built with.
#   cmake -DTOLERANCES=tolerances.txt -DBUDGETS=budgets.txt -DOUTPUT=texts.c -P embed_texts.cmake
set(out "/* Generated from conformance/tolerances.txt and budgets.txt by embed_texts.cmake. */\n")
string(APPEND out "#include \"conform.h\"\n\n")
foreach(pair "conform_tolerances_text=${TOLERANCES}" "conform_budgets_text=${BUDGETS}")
  string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
  set(name "${CMAKE_MATCH_1}")
  file(READ "${CMAKE_MATCH_2}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x..,){16})" "\\1\n    " bytes "${bytes}")
  string(APPEND out "const char ${name}[] = {\n    ${bytes}0x00};\n\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "${out}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
