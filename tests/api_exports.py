"""libsysmap exports exactly the functions its public headers declare.

Reads every public header (sysmap/*.h, and version.h generated in the build
tree), finds the function declarations (not typedefs, not static inline
functions) and checks:
  - each header wraps its declarations in extern "C" for C++;
  - each declaration is marked SM_API (sysmap/export.h);
  - `nm -D --defined-only LIB` lists each declared function, and nothing
    else besides the linker's own symbols;
  - every function a ctypes binding (--bindings FILE.py) names is exported.
Every failure names the symbol and the header.

usage: api_exports.py LIB HEADER_DIR... [--skip NAME.h...] [--bindings FILE.py...]
       api_exports.py --annotate HEADER_DIR...   (adds the missing SM_API)
"""
import argparse
import pathlib
import re
import subprocess
import sys

# What the toolchain defines in any shared library.
LINKER_SYMBOLS = {"_init", "_fini", "_edata", "_end", "__bss_start"}
DECL = re.compile(r"^(?P<api>SM_API\s+)?(?P<type>(?:[A-Za-z_]\w*[\s*]+)+?)(?P<name>sm_\w+)\s*\(",
                  re.S)


def strip(text):
    """The header without comments and preprocessor lines."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def declarations(text):
    """(name, has SM_API) of every function the header declares."""
    body = strip(text).replace('extern "C" {', " ")
    out = []
    # Statements at file scope; a struct's fields belong to its typedef.
    depth, start = 0, 0
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                start = i + 1
        elif ch == ";" and depth == 0:
            stmt = body[start:i].strip()
            start = i + 1
            if stmt.startswith(("typedef", "static", "struct", "enum")):
                continue
            m = DECL.match(stmt)
            if m:
                out.append((m.group("name"), bool(m.group("api"))))
    return out


def headers(dirs, skip):
    for d in dirs:
        for path in sorted(pathlib.Path(d).glob("*.h")):
            if path.name not in skip:
                yield path


def annotate(dirs):
    for path in headers(dirs, ()):
        text = path.read_text()
        missing = [name for name, api in declarations(text) if not api]
        for name in missing:
            m = re.search(r"^(?!SM_API)[A-Za-z_][\w\s*]*?\b" + name + r"\s*\([^;]*;", text,
                          flags=re.M)
            if m is None:
                sys.exit(f"{path}: cannot place SM_API before {name}")
            # Continuation lines stay aligned with the opening parenthesis.
            decl = "SM_API " + m.group(0).replace("\n", "\n" + " " * len("SM_API "))
            text = text[:m.start()] + decl + text[m.end():]
        if missing:
            path.write_text(text)
            print(f"{path}: SM_API added to {len(missing)} declarations")


def check(lib, dirs, skip, bindings):
    bad = []
    declared = {}
    for path in headers(dirs, skip):
        text = path.read_text()
        decls = declarations(text)
        if decls and 'extern "C"' not in text:
            bad.append(f'{path.name}: no extern "C" block for C++ callers')
        for name, api in decls:
            declared[name] = path.name
            if not api:
                bad.append(f"{name} ({path.name}): declared without SM_API")
    nm = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                        capture_output=True, text=True).stdout
    exported = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    exported -= LINKER_SYMBOLS
    for name in sorted(exported - declared.keys()):
        bad.append(f"{name}: exported by {pathlib.Path(lib).name} but declared in no public header")
    for name in sorted(declared.keys() - exported):
        bad.append(f"{name} ({declared[name]}): declared but not exported")
    for path in bindings:
        bound = set(re.findall(r'"(sm_\w+)"', pathlib.Path(path).read_text()))
        for name in sorted(bound - exported):
            bad.append(f"{name}: bound by {path} but not exported")
    print(f"{len(declared)} functions declared in {len(set(declared.values()))} headers, "
          f"{len(exported)} exported")
    if bad:
        sys.exit("\n".join(bad))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotate", action="store_true")
    ap.add_argument("--skip", nargs="*", default=[])
    ap.add_argument("--bindings", nargs="*", default=[])
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    if args.annotate:
        annotate(args.paths)
    else:
        check(args.paths[0], args.paths[1:], set(args.skip), args.bindings)


if __name__ == "__main__":
    main()
