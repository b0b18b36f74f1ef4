"""The ctypes structures of the Python binding match the C headers.

test_pyabi.c passes the compiler's offsetof and sizeof values as
Struct.field=offset and Struct=size arguments; every one must equal the
ctypes structure's in sysmap._lib (no library needed).

usage: py_abi.py NAME=VALUE...
"""
import ctypes
import sys

from sysmap import _lib

bad = []
for arg in sys.argv[1:]:
    name, value = arg.split("=")
    cls, _, field = name.partition(".")
    struct = getattr(_lib, cls)
    got = getattr(struct, field).offset if field else ctypes.sizeof(struct)
    if got != int(value):
        bad.append(f"{name}: ctypes {got}, C {value}")
print(f"{len(sys.argv) - 1} offsets and sizes checked")
if bad:
    sys.exit("mismatch: " + "; ".join(bad))
