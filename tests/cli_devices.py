"""`sysmap devices` against the OpenCL loader queried directly (ctypes):
the table and the JSON name every device with its compute units, memory and
fp64 support; with no platform the command fails with a clear message.

usage: cli_devices.py SYSMAP_EXE SCRATCH_DIR
"""
import ctypes
import json
import os
import subprocess
import sys

EXE, SCRATCH = sys.argv[1], sys.argv[2]

CL_PLATFORM_NAME = 0x0902
CL_DEVICE_TYPE = 0x1000
CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002
CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F
CL_DEVICE_NAME = 0x102B
CL_DEVICE_EXTENSIONS = 0x1030
CL_DEVICE_DOUBLE_FP_CONFIG = 0x1032
CL_DEVICE_TYPE_ALL = 0xFFFFFFFF
CL_DEVICE_TYPE_CPU = 1 << 1


def opencl_truth():
    """Every device as the loader reports it, in platform order."""
    cl = ctypes.CDLL("libOpenCL.so.1")
    u32, vp, sz = ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t
    cl.clGetPlatformIDs.argtypes = [u32, ctypes.POINTER(vp), ctypes.POINTER(u32)]
    cl.clGetPlatformInfo.argtypes = [vp, u32, sz, vp, ctypes.POINTER(sz)]
    cl.clGetDeviceIDs.argtypes = [vp, ctypes.c_uint64, u32, ctypes.POINTER(vp),
                                  ctypes.POINTER(u32)]
    cl.clGetDeviceInfo.argtypes = [vp, u32, sz, vp, ctypes.POINTER(sz)]

    def text(fn, obj, param):
        size = sz()
        assert fn(obj, param, 0, None, ctypes.byref(size)) == 0
        buf = ctypes.create_string_buffer(size.value)
        assert fn(obj, param, size, buf, None) == 0
        return buf.value.decode("utf-8", "replace").rstrip()

    def number(dev, param, ctype):
        value = ctype()
        status = cl.clGetDeviceInfo(dev, param, ctypes.sizeof(value), ctypes.byref(value), None)
        return value.value if status == 0 else 0

    n = u32()
    assert cl.clGetPlatformIDs(0, None, ctypes.byref(n)) == 0 and n.value > 0
    plats = (vp * n.value)()
    assert cl.clGetPlatformIDs(n.value, plats, None) == 0
    devices = []
    for p, plat in enumerate(plats):
        count = u32()
        if cl.clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 0, None, ctypes.byref(count)) != 0:
            continue
        ids = (vp * count.value)()
        assert cl.clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, count.value, ids, None) == 0
        for d, dev in enumerate(ids):
            ext = text(cl.clGetDeviceInfo, dev, CL_DEVICE_EXTENSIONS).split()
            devices.append({
                "platform_index": p, "device_index": d,
                "platform": text(cl.clGetPlatformInfo, plat, CL_PLATFORM_NAME),
                "name": text(cl.clGetDeviceInfo, dev, CL_DEVICE_NAME),
                "cpu": bool(number(dev, CL_DEVICE_TYPE, ctypes.c_uint64) & CL_DEVICE_TYPE_CPU),
                "compute_units": number(dev, CL_DEVICE_MAX_COMPUTE_UNITS, ctypes.c_uint32),
                "global_mem_bytes": number(dev, CL_DEVICE_GLOBAL_MEM_SIZE, ctypes.c_uint64),
                "fp64": "cl_khr_fp64" in ext
                        or number(dev, CL_DEVICE_DOUBLE_FP_CONFIG, ctypes.c_uint64) != 0,
            })
    return devices


def sysmap(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "SYSMAP_DEVICE"}
    env.update(env_extra or {})
    return subprocess.run([EXE, "devices", *args], capture_output=True, text=True, env=env)


def check(cond, what, proc):
    assert cond, f"{what}\nstatus {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    truth = opencl_truth()
    pocl = [d for d in truth if d["platform"] == "Portable Computing Language"]
    assert pocl, f"no PoCL device among {truth}"
    assert pocl[0]["cpu"] and pocl[0]["fp64"] and pocl[0]["compute_units"] > 0

    # The table: one row per device, "#  P:D  type  name ... fp64".
    proc = sysmap()
    check(proc.returncode == 0 and proc.stderr == "", "table run failed", proc)
    lines = proc.stdout.splitlines()
    check(lines[0].split()[:4] == ["#", "P:D", "type", "name"], "table header", proc)
    check("memory GiB" in lines[0], "memory unit stated", proc)
    for i, dev in enumerate(truth):
        pair = f"{dev['platform_index']}:{dev['device_index']}"
        row = [l for l in lines if l.split()[:2] == [str(i), pair]]
        check(len(row) == 1, f"no row for device {i}", proc)
        row = row[0]
        check(dev["name"][:127] in row, f"device {i}: name {dev['name']!r}", proc)
        cols = row.split()
        check(cols[-1] == ("yes" if dev["fp64"] else "no"), f"device {i}: fp64", proc)
        gib = f"{dev['global_mem_bytes'] / 2**30:.2f}"
        check(cols[-3] == gib, f"device {i}: memory {gib} GiB", proc)
        check(cols[-5] == str(dev["compute_units"]), f"device {i}: compute units", proc)
        if dev in pocl:
            check(cols[2] == "CPU", "PoCL device is a CPU", proc)
    check(f"platform {pocl[0]['platform_index']}: Portable Computing Language" in lines,
          "platform line", proc)
    check(any(l.startswith("default device for fp64: ") for l in lines), "default line", proc)
    print("ok  table:", *lines, sep="\n    ")

    # JSON: the same devices, numbers exact.
    proc = sysmap("--json")
    check(proc.returncode == 0, "--json failed", proc)
    doc = json.loads(proc.stdout)
    got = doc["devices"]
    check(len(got) == len(truth), "device count", proc)
    for i, (g, t) in enumerate(zip(got, truth)):
        check(g["index"] == i, "index", proc)
        for key in ("platform_index", "device_index", "platform", "compute_units",
                    "global_mem_bytes", "fp64"):
            check(g[key] == t[key], f"device {i}: {key} {g[key]!r} != {t[key]!r}", proc)
        check(g["name"] == t["name"][:len(g["name"])] and g["name"], f"device {i}: name", proc)
        check(g["type"] == "CPU" if t["cpu"] else g["type"] != "CPU", f"device {i}: type", proc)
        check(0 < g["max_alloc_bytes"] <= g["global_mem_bytes"], f"device {i}: max alloc", proc)
        check(g["version"].startswith("OpenCL "), f"device {i}: version", proc)
    default = doc["default_fp64"]
    check(isinstance(default, int) and got[default]["fp64"] and doc["default_fp64_error"] is None,
          "default fp64 device", proc)
    print(f"ok  json: {len(got)} device(s), default fp64 device {default}")

    # SYSMAP_DEVICE decides the default; a bad one is reported, not fatal.
    p0 = pocl[0]
    pair = f"{p0['platform_index']}:{p0['device_index']}"
    index = truth.index(p0)
    proc = sysmap(env_extra={"SYSMAP_DEVICE": pair})
    check(proc.returncode == 0 and
          f"default device for fp64: {index} ({p0['name'][:127]}), from SYSMAP_DEVICE={pair}"
          in proc.stdout, "SYSMAP_DEVICE default", proc)
    proc = sysmap("--json", env_extra={"SYSMAP_DEVICE": "4096"})
    doc = json.loads(proc.stdout)
    check(proc.returncode == 0 and doc["default_fp64"] is None and
          doc["default_fp64_error"].startswith("SYSMAP_DEVICE=4096: device 4096 does not exist; "),
          "bad SYSMAP_DEVICE", proc)
    print("ok  SYSMAP_DEVICE")

    # No platform: the loader reads an empty vendor directory.
    empty = os.path.join(SCRATCH, "no-vendors")
    os.makedirs(empty, exist_ok=True)
    for f in os.listdir(empty):
        os.remove(os.path.join(empty, f))
    for args in ((), ("--json",)):
        proc = sysmap(*args, env_extra={"OCL_ICD_VENDORS": empty, "OCL_ICD_FILENAMES": ""})
        check(proc.returncode == 1 and proc.stdout == "" and proc.stderr ==
              "sysmap: devices: no OpenCL platform found: install an OpenCL driver (ICD), "
              "e.g. Debian's pocl-opencl-icd for the CPU\n", "no platform", proc)
    print("ok  no platform:", proc.stderr.strip())

    proc = sysmap("--help")
    check(proc.returncode == 0 and proc.stdout.startswith("usage: sysmap devices"), "--help", proc)
    proc = sysmap("--all")
    check(proc.returncode == 2 and "unknown argument --all" in proc.stderr, "bad argument", proc)
    print("ok  --help and a bad argument")


if __name__ == "__main__":
    main()
