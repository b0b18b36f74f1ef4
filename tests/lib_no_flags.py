"""No library message names a command-line flag: the library describes a
setting (sigma_min, resume); the CLI names its flags where it prints.

Scans every C source under lib/ for string literals (adjacent literals
joined, comments skipped) holding "--" followed by a letter, and fails on
any. With --self-test, checks that the scanner finds a flag split across
literals and ignores one in a comment."""
import os
import re
import sys

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
TOKEN = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', re.S)
FLAG = re.compile(r"--[a-z]")


def strings(text):
    """(line, joined literal) of every run of adjacent string literals."""
    out, run, start, last_end = [], [], 0, None
    for m in TOKEN.finditer(text):
        tok = m.group(0)
        if not tok.startswith('"'):
            continue
        between = text[last_end:m.start()] if last_end is not None else None
        if run and between is not None and between.strip() == "":
            run.append(tok[1:-1])
        else:
            if run:
                out.append((start, "".join(run)))
            run, start = [tok[1:-1]], text.count("\n", 0, m.start()) + 1
        last_end = m.end()
    if run:
        out.append((start, "".join(run)))
    return out


def hits(text):
    return [(line, s) for line, s in strings(text) if FLAG.search(s)]


def self_test():
    split = 'f("use -"\n  "-precision x"); g("a - -b", "-" "resume");'
    assert hits(split) == [(1, "use --precision x")], hits(split)
    assert hits('/* "--resume" */ // "--seed"\nx = "ok --";') == []
    assert hits('x = "--sigma-min";') == [(1, "--sigma-min")]


def main(root):
    self_test()
    found = 0
    for folder, _, files in os.walk(os.path.join(root, "lib")):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                for line, s in hits(f.read()):
                    print(f"{os.path.relpath(path, root)}:{line}: \"{s}\"")
                    found += 1
    if found:
        print(f"FAIL: {found} library string(s) name a command-line flag; name the setting "
              "instead and let the CLI say its flag")
        return 1
    print("ok  no library string names a command-line flag")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
