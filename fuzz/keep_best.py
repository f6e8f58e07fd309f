#!/usr/bin/env python3
"""Keeps at most BUDGET inputs of a (set-cover minimised) corpus, chosen greedily for the most
coverage edges. Each input's full edge set comes from a libFuzzer merge run on that input alone
(a merge over many inputs records only the edges new at each input).

    RUSTC_BOOTSTRAP=1 cargo fuzz build -O
    python3 fuzz/keep_best.py TARGET BUDGET      # from the repository root

Inputs not chosen are deleted from fuzz/corpus/TARGET; prints the edges kept."""
import os, shutil, subprocess, sys, tempfile

target, budget = sys.argv[1], int(sys.argv[2])
binary = f"fuzz/target/x86_64-unknown-linux-gnu/release/{target}"
corpus = f"fuzz/corpus/{target}"


def edges(path, tmp):
    one, out, ctl = (os.path.join(tmp, n) for n in ("one", "out", "ctl"))
    for d in (one, out):
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
    shutil.copyfile(path, os.path.join(one, "x"))
    # An existing control file would be resumed, not rewritten.
    if os.path.exists(ctl):
        os.remove(ctl)
    subprocess.run([binary, "-merge=1", "-use_counters=0", f"-merge_control_file={ctl}", out, one],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    cov = set()
    for line in open(ctl):
        parts = line.split()
        if parts and parts[0] == "COV":
            cov.update(parts[2:])
    return cov


with tempfile.TemporaryDirectory() as tmp:
    files = sorted(os.listdir(corpus))
    cov = {f: edges(os.path.join(corpus, f), tmp) for f in files}
total = set().union(*cov.values()) if cov else set()
keep, covered = set(), set()
while len(keep) < budget and cov:
    best = max(sorted(cov), key=lambda f: (len(cov[f] - covered), -os.path.getsize(os.path.join(corpus, f))))
    if not cov[best] - covered:
        break
    keep.add(best)
    covered |= cov.pop(best)
for f in files:
    if f not in keep:
        os.remove(os.path.join(corpus, f))
print(f"{target}: {len(keep)} of {len(files)} inputs keep {len(covered)} of {len(total)} edges")
