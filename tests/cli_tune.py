"""`sysmap tune --quick` writes a tuning database entry that `sysmap devices`
then reports as the tuning in force; a corrupt database is ignored with a
warning; a bad precision is a usage error. Nothing is timed here.

usage: cli_tune.py SYSMAP_EXE SCRATCH_DIR
"""
import datetime
import os
import re
import shutil
import subprocess
import sys

EXE, SCRATCH = sys.argv[1], sys.argv[2]


def run(*args, env):
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=600)


def shape(text):
    return dict(kv.split("=") for kv in text.split(","))


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    cache = os.path.join(SCRATCH, "cache")
    os.makedirs(cache, mode=0o700)
    # A cache of its own: other tests must not see this test's tuning.
    env = dict(os.environ, SYSMAP_CACHE_DIR=cache)
    env.pop("SYSMAP_OPENCL_TUNING", None)

    bad = run("tune", "--precision", "fp16", env=env)
    assert bad.returncode == 2, bad
    assert "fp16" in bad.stderr, bad.stderr

    unknown = run("tune", "--fast", env=env)
    assert unknown.returncode == 2 and "--fast" in unknown.stderr, unknown

    # No cache directory can be made under a file: the sweep runs, storing fails.
    blocker = os.path.join(SCRATCH, "file")
    open(blocker, "w").close()
    nodir = run("tune", "--quick", env=dict(env, SYSMAP_CACHE_DIR=blocker))
    assert nodir.returncode == 1, nodir
    assert "no usable cache directory" in nodir.stderr, nodir.stderr

    tuned = run("tune", "--device", "0", "--precision", "fp64", "--quick", env=env)
    assert tuned.returncode == 0, tuned.stdout + tuned.stderr
    stored = re.search(r"^stored: (\S+) ", tuned.stdout, re.M)
    assert stored, tuned.stdout
    lines = open(os.path.join(cache, "tuning.txt")).read().splitlines()
    assert len(lines) == 1, lines
    key, date, spec = lines[0].split("\t")
    assert "|fp64|" in key and spec == stored.group(1), (key, spec)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    assert date == today, date

    devices = run("devices", env=env)
    assert devices.returncode == 0, devices.stderr
    line = re.search(r"^tuning of device 0 fp64: (\S+) \((.*)\)$", devices.stdout, re.M)
    assert line, devices.stdout
    assert shape(line.group(1)) == shape(spec), (line.group(1), spec)
    assert line.group(2) == "tuned " + today, line.group(2)
    fp32 = re.search(r"^tuning of device 0 fp32: \S+ \((.*)\)$", devices.stdout, re.M)
    assert fp32 and not fp32.group(1).startswith("tuned"), devices.stdout

    with open(os.path.join(cache, "tuning.txt"), "w") as f:
        f.write("not a tuning database\n")
    damaged = run("devices", env=env)
    assert damaged.returncode == 0, damaged.stderr
    assert "warning: ignored the corrupt tuning database" in damaged.stderr, damaged.stderr
    line = re.search(r"^tuning of device 0 fp64: \S+ \((.*)\)$", damaged.stdout, re.M)
    assert line and not line.group(1).startswith("tuned"), damaged.stdout
    # A malformed override is reported per device, and the listing goes on.
    broken = run("devices", env=dict(env, SYSMAP_OPENCL_TUNING="wpt=banana"))
    assert broken.returncode == 0, broken.stderr
    assert "tuning of device 0 fp64: SYSMAP_OPENCL_TUNING 'wpt=banana': bad value for wpt" \
        in broken.stderr, broken.stderr
    print("cli_tune: stored", spec, "reported by sysmap devices")


if __name__ == "__main__":
    main()
