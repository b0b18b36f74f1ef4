"""`sysmap conform` end to end: it passes the reference backend and PoCL in
fp64 and fp32 and writes its reports; every injected fault is flagged (by the
check that should catch it, with the exit status of its kind); a corrupted
or truncated fixture is reported as a fixture problem, not a device failure;
usage errors exit 2.

usage: conform_cli.py SYSMAP_EXE MAKE_FIXTURES_EXE FIXTURES_DIR SCRATCH_DIR PART
PART: reference | opencl_fp64 | opencl_fp32 | faults_reference | faults_opencl | fixtures |
      usage
"""
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

EXE, MAKE_FIXTURES, FIXTURES, SCRATCH, PART = sys.argv[1:6]
os.makedirs(SCRATCH, exist_ok=True)
CHECKS = ["lp", "exact", "chain", "summary", "timing"]


def conform(*args, report=None, env=None):
    cmd = [EXE, "conform", *args]
    if report:
        shutil.rmtree(report, ignore_errors=True)
        cmd += ["--report-dir", report]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    p.wall = time.monotonic() - t0
    return p


def reports(report):
    with open(os.path.join(report, "conform.json")) as f:
        js = json.load(f)
    xml = ET.parse(os.path.join(report, "conform.xml")).getroot()
    return js, xml


def cell(js, label, precision, check):
    for t in js["targets"]:
        if t["label"] == label and t["precision"] == precision:
            return t["checks"][check]
    raise AssertionError(f"no row {label} {precision}")


def expect(p, status, *texts):
    out = p.stdout + p.stderr
    assert p.returncode == status, f"exit {p.returncode}, expected {status}:\n{out}"
    for text in texts:
        assert text in out, f"'{text}' not in:\n{out}"


def expect_numerical(p, *texts):
    """Numerically conformant: exit 0, or 3 when only a timing floor was
    missed (a loaded machine is slow, not wrong; the harness's timing logic
    is tested on its own by the injected 'slow' fault)."""
    out = p.stdout + p.stderr
    assert p.returncode in (0, 3), f"exit {p.returncode}, expected 0 or 3:\n{out}"
    verdict = "PASS: every device conforms" if p.returncode == 0 else "TIMING: numerically conformant"
    for text in (verdict, *texts):
        assert text in out, f"'{text}' not in:\n{out}"


def timing_measured(js, xml, label, precision):
    """The timing check ran and gave a throughput; a miss is reported as a
    timing failure, never a numerical one."""
    c = cell(js, label, precision, "timing")
    assert c["verdict"] in ("pass", "fail") and c["worst_ratio"] > 0, c
    if c["verdict"] == "fail":
        assert js["exit_status"] == 3, js["exit_status"]
        assert all(f.get("type") == "timing" for f in xml.iter("failure"))
        print(f"{label} {precision}: timing floor missed on this (loaded) machine: {c}")


def junit_counts(xml):
    fails = errors = skips = 0
    for suite in xml.iter("testsuite"):
        fails += int(suite.get("failures"))
        errors += int(suite.get("errors"))
        skips += int(suite.get("skipped"))
    return fails, errors, skips


def part_reference():
    report = os.path.join(SCRATCH, "reference")
    p = conform("--device", "reference", report=report)
    expect_numerical(p, "reference    fp64")
    js, xml = reports(report)
    assert js["injected_fault"] == "none" and js["n_cases"] >= 16
    for check in CHECKS[:-1]:
        c = cell(js, "reference", "fp64", check)
        assert c["verdict"] == "pass", (check, c)
    timing_measured(js, xml, "reference", "fp64")
    # The reference is the fixtures' own backend: exactly their values.
    for check in ["lp", "exact", "chain", "summary"]:
        assert cell(js, "reference", "fp64", check)["worst_ratio"] == 0.0, check
    assert junit_counts(xml)[1:] == (0, 0), junit_counts(xml)
    assert len(js["tolerances"]) == 7 and all(t["justification"] for t in js["tolerances"])
    assert js["opencl_implementations"] and "OpenCL implementations:" in p.stdout
    assert set(js["environment"]) == {"SYSMAP_OPENCL_TUNING", "SYSMAP_OPENCL_OPTIONS",
                                      "OCL_ICD_VENDORS"}, js["environment"]
    print(f"reference: {p.wall:.1f} s")


def part_opencl(precision):
    report = os.path.join(SCRATCH, "opencl_" + precision)
    p = conform("--device", "0", "--precision", precision, report=report)
    expect_numerical(p, "opencl:0     " + precision)
    js, xml = reports(report)
    timing_measured(js, xml, "opencl:0", precision)
    if precision == "fp64":
        for check in CHECKS[:-1]:
            assert cell(js, "opencl:0", "fp64", check)["verdict"] == "pass", check
        chains = [r for r in js["targets"][0]["results"] if r["check"] == "chain"]
        assert len(chains) == 6, chains
        for r in chains:  # PoCL fp64 gives the reference chain (ties allowed, none expected)
            assert "element for element" in r["detail"] or "tie" in r["detail"], r
    else:
        for check in ["lp", "chain", "summary"]:
            assert cell(js, "opencl:0", "fp32", check)["verdict"] == "pass", check
        assert cell(js, "opencl:0", "fp32", "exact")["verdict"] == "skip"
    assert junit_counts(xml)[1] == 0
    print(p.stdout)
    print(f"the harness on PoCL {precision}: {p.wall:.1f} s")


def fault(name, device, only, status, failing, passing, *texts):
    report = os.path.join(SCRATCH, f"fault_{name}")
    p = conform("--device", device, "--precision", "fp64", "--inject", name, "--only", only,
                report=report)
    expect(p, status, f"FAULT INJECTED: {name}", *texts)
    js, xml = reports(report)
    assert js["injected_fault"] == name and js["exit_status"] == status
    label = "reference" if device == "reference" else f"opencl:{device}"
    for check in failing:
        assert cell(js, label, "fp64", check)["verdict"] == "fail", (name, check)
    for check in passing:
        assert cell(js, label, "fp64", check)["verdict"] == "pass", (name, check)
    kind = "timing" if status == 3 else "numerical"
    failures = [f for f in xml.iter("failure")]
    assert failures and all(f.get("type") == kind for f in failures), (name, kind)
    print(f"{name}: flagged by {failing} in {p.wall:.1f} s")


SMALL = "exact_additive,additive_gauss_n1,combined_gauss_chain,multiplicative_skew_tails"


def part_faults_reference():
    # A few ulp: within every honest rounding bound, so only the exact sets see it.
    fault("ulp", "reference", SMALL, 1, ["exact"], ["lp", "chain", "summary"],
          "4 exact sets")
    fault("offset", "reference", SMALL, 1, ["lp", "exact"], ["chain"])
    fault("swap", "reference", SMALL, 1, ["lp", "chain"], [], "not an accept/reject tie")
    fault("drop", "reference", SMALL, 1, ["lp", "exact", "chain"], [])
    fault("jitter", "reference", SMALL, 1, ["lp", "exact", "chain"], [])


def part_faults_opencl():
    fault("fp32", "0", SMALL, 1, ["lp", "exact"], [])
    # Slow but correct: timing fails alone, with its own exit status.
    fault("slow", "0", "exact_additive,timing", 3, ["timing"], ["lp", "exact"],
          "TIMING: numerically conformant", "timing failures (slow, not wrong)")
    fault("drop", "0", "additive_gauss_n1,exact_combined", 1, ["lp", "exact"], [])
    # A device that fails outright (the OpenCL backend's own test hooks) fails every check
    # (the summary has no chain to judge).
    for hook, text in (("build", "undeclared_identifier"), ("lost", "running the likelihood")):
        report = os.path.join(SCRATCH, "hook_" + hook)
        p = conform("--device", "0", "--precision", "fp64", "--only",
                    "exact_additive,combined_gauss_chain,timing", report=report,
                    env={"SYSMAP_OPENCL_INJECT_FAULT": hook})
        expect(p, 1, "the device failed", text)
        js, _ = reports(report)
        for check in CHECKS:
            want = "skip" if check == "summary" else "fail"
            assert cell(js, "opencl:0", "fp64", check)["verdict"] == want, (hook, check)


def part_fixtures():
    bad = os.path.join(SCRATCH, "bad_fixtures")
    shutil.rmtree(bad, ignore_errors=True)
    os.makedirs(bad)
    for name in ["additive_gauss_n1", "exact_additive", "combined_gauss_sigma_min"]:
        shutil.copy(os.path.join(FIXTURES, name + ".h5"), bad)
    # Truncated: the second half gone.
    path = os.path.join(bad, "exact_additive.h5")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    # Corrupted: one byte of a stored log-likelihood value flipped.
    import h5py
    import numpy as np
    path = os.path.join(bad, "combined_gauss_sigma_min.h5")
    with h5py.File(path, "r") as f:
        value = f["lp/log_prob"][0]
    data = bytearray(open(path, "rb").read())
    at = data.find(np.float64(value).tobytes())
    assert at > 0
    data[at] ^= 0x01
    open(path, "wb").write(bytes(data))
    report = os.path.join(SCRATCH, "fixtures")
    p = conform("--device", "reference", "--fixtures", bad, "--only",
                "additive_gauss_n1,exact_additive,combined_gauss_sigma_min", report=report)
    expect(p, 4, "fixture problems (not device failures", "exact_additive.h5: not an HDF5 file",
           "combined_gauss_sigma_min.h5: content does not match its checksum",
           "FIXTURES: some fixtures could not be used (no device failed)")
    js, xml = reports(report)
    assert js["n_cases"] == 1 and len(js["fixture_problems"]) == 2
    assert cell(js, "reference", "fp64", "lp")["verdict"] == "pass"
    errors = [e for e in xml.iter("error")]
    assert len(errors) == 2 and all(e.get("type") == "fixture" for e in errors)
    assert not list(xml.iter("failure"))
    # The generator's check sees the corrupted copy too.
    g = subprocess.run([MAKE_FIXTURES, "--check", "--only", "combined_gauss_sigma_min", bad],
                       capture_output=True, text=True)
    assert g.returncode != 0 and "checksum" in g.stderr, g.stderr
    # No fixtures at all: a fixture problem.
    p = conform("--device", "reference", "--fixtures", os.path.join(SCRATCH, "none"))
    expect(p, 4, "cannot open the fixtures folder")


def part_usage():
    expect(conform("--device", "reference", "--only", "no_such_case"), 2,
           "--only: no case 'no_such_case'")
    expect(conform("--device", "99"), 2, "--device 99: no such device")
    expect(conform("--device", "opencl"), 2, "--device opencl: name one of its devices")
    expect(conform("--device", "opencl:0", "--only", "no_such_case"), 2,
           "--only: no case 'no_such_case'")
    expect(conform("--device", "opencl:4096"), 2, "--device opencl:4096: no such device")
    expect(conform("--precision", "fp16"), 2, "--precision must be fp64 or fp32")
    expect(conform("--device", "reference", "--precision", "fp32"), 2, "nothing to check")
    expect(conform("--inject", "gremlin"), 2, "unknown fault 'gremlin'")
    expect(conform("--bogus"), 2, "unknown option")
    expect(conform("--only"), 2, "missing value")
    p = conform("--list")
    expect(p, 0, "combined_skew_large", "exact_additive", "lp_factor", "chain_ties_max",
           "timing problem", "reference  fp64")
    expect(conform("--help"), 0, "exit status: 0 every device conforms")
    # No OpenCL implementation at all (an empty ICD vendor folder): the
    # reference alone, and the table says so; a named device is an error.
    empty = os.path.join(SCRATCH, "no-vendors")
    os.makedirs(empty, exist_ok=True)
    none = {"OCL_ICD_VENDORS": empty}
    report = os.path.join(SCRATCH, "no-opencl")
    p = conform("--only", "exact_additive", env=none, report=report)
    expect(p, 0, "OpenCL implementations: none found", "only the reference backend was checked")
    js, _ = reports(report)
    assert [t["label"] for t in js["targets"]] == ["reference"], js["targets"]
    assert "only the reference backend" in js["opencl_implementations"]
    assert js["environment"]["OCL_ICD_VENDORS"] == empty, js["environment"]
    expect(conform("--device", "0", "--only", "exact_additive", env=none), 2,
           "--device 0: no OpenCL platform found")


{"reference": part_reference, "opencl_fp64": lambda: part_opencl("fp64"),
 "opencl_fp32": lambda: part_opencl("fp32"), "faults_reference": part_faults_reference,
 "faults_opencl": part_faults_opencl, "fixtures": part_fixtures, "usage": part_usage}[PART]()
