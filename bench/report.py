#!/usr/bin/env python3
"""Summarise bench/run.sh's timings as a Markdown table (stdlib only).

    report.py TIMES.tsv WORKDIR LOAD_NOTE IMPACKET_VERSION

TIMES.tsv rows: name, label, wall seconds, peak RSS kB (one per run). WORKDIR holds what
run.sh left there: snapshot-dc.json, peer.txt (findDelegation.py output), floor.ldif,
out/scan/findings.json, big.tsv.
"""

import json
import os
import statistics
import subprocess
import sys

UF_ACCOUNTDISABLE = 0x2
UF_TRUSTED_FOR_DELEGATION = 0x80000


def medians(path):
    runs = {}
    labels = {}
    for line in open(path, encoding="utf-8"):
        name, label, wall, rss = line.rstrip("\n").split("\t")
        runs.setdefault(name, []).append((float(wall), int(rss)))
        labels[name] = label
    out = {}
    for name, rs in runs.items():
        out[name] = (labels[name], statistics.median(w for w, _ in rs), statistics.median(r for _, r in rs), len(rs))
    return out


def peer_rows(path):
    """Rows of findDelegation.py's table: between the dashes line and the first blank line."""
    rows, inside = [], False
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith("-----"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            rows.append(line.split())
    accounts = {r[0] for r in rows if "Resource-Based" not in " ".join(r)}
    return len(rows), len(accounts)


def hvaudit_rows(snapshot):
    """Delegation rows the way findDelegation.py counts them (enabled accounts only): one per
    msDS-AllowedToDelegateTo value, one per unconstrained account, one per RBCD trustee."""
    s = json.load(open(snapshot, encoding="utf-8"))
    rows = accounts = 0
    for o in s["computers"] + s["accounts"]:
        if o["uac"] & UF_ACCOUNTDISABLE:
            continue
        n = len(o["allowed_to_delegate_to"])
        if o["uac"] & UF_TRUSTED_FOR_DELEGATION:
            n += 1
        rbcd = o.get("rbcd")
        if rbcd:
            n += len(rbcd["trustees"])
        if n:
            accounts += 1
            rows += n
    return rows, accounts, len(s["computers"]), len(s["accounts"])


def machine():
    cpu = "unknown"
    for line in open("/proc/cpuinfo", encoding="utf-8"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in open("/proc/meminfo", encoding="utf-8"):
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    load = open("/proc/loadavg", encoding="utf-8").read().split()[:3]
    samba = subprocess.run(["samba", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1048576:.1f} GiB RAM, {samba}; load average at the end {' '.join(load)}"


def main(argv):
    times, work, load_note, impacket = argv[1:5]
    m = medians(times)
    fmt_mb = lambda kb: f"{kb / 1024:.0f} MB"
    print("| tool (median of %d runs) | wall | peak RSS |" % max(r[3] for r in m.values()))
    print("|---|---:|---:|")
    for name in ["floor", "floor_nosd", "scan", "scan1000", "peer", "audit"]:
        if name in m:
            label, wall, rss, _ = m[name]
            print(f"| {label} | {wall:.2f} s | {fmt_mb(rss)} |")
    print()
    if "floor" in m and "scan" in m:
        print(f"- hvaudit scan / ldapsearch floor: **{m['scan'][1] / m['floor'][1]:.2f}x** (target <= 1.3x)")
    if "floor" in m and "scan1000" in m:
        print(f"- hvaudit scan --page-size 1000 (the floor's page size) / floor: **{m['scan1000'][1] / m['floor'][1]:.2f}x**")
    if "floor_nosd" in m and "scan" in m:
        print(f"- hvaudit scan / ldapsearch without security descriptors: {m['scan'][1] / m['floor_nosd'][1]:.2f}x")
    if "peer" in m and "scan" in m:
        print(f"- findDelegation.py / hvaudit scan: **{m['peer'][1] / m['scan'][1]:.1f}x** (target >= 3x)")
    if "scan" in m:
        print(f"- hvaudit scan peak RSS: **{fmt_mb(m['scan'][2])}** (target <= 150 MB)")

    rows, accts, n_comp, n_acc = hvaudit_rows(os.path.join(work, "snapshot-dc.json"))
    p_rows, p_accts = peer_rows(os.path.join(work, "peer.txt"))
    atdt = sum(1 for line in open(os.path.join(work, "floor.ldif"), encoding="utf-8", errors="replace") if line.lower().startswith("msds-allowedtodelegateto"))
    findings = json.load(open(os.path.join(work, "out", "scan", "findings.json"), encoding="utf-8"))
    n_findings = len(findings["findings"]) if isinstance(findings, dict) else len(findings)
    print()
    print("| delegation rows (one per delegated SPN, unconstrained account or RBCD trustee) | rows | accounts |")
    print("|---|---:|---:|")
    print(f"| hvaudit (from its snapshot: {n_comp} computers, {n_acc} users read) | {rows} | {accts} |")
    print(f"| findDelegation.py {impacket} (unpaged, size limit 999) | {p_rows} | {p_accts} |")
    print(f"| ldapsearch (msDS-AllowedToDelegateTo values in its output) | {atdt} | |")
    print()
    print(f"hvaudit scan reported {n_findings} findings. Directory: {load_note}.")
    sl = os.path.join(work, "sizelimit.txt")
    if os.path.exists(sl):
        n = open(sl, encoding="utf-8").read().strip()
        print()
        print(
            f"findDelegation.py asks for at most 999 entries without paging. This Samba DC returned {n} "
            "entries to `ldapsearch -z 999 '(msDS-AllowedToDelegateTo=*)'`: it does not enforce a "
            "client's size limit, so here findDelegation.py saw every account. Windows AD answers "
            "sizeLimitExceeded after 999 entries, which findDelegation.py logs only with -debug and "
            "then reports the first 999 accounts as if they were all."
        )

    big = os.path.join(work, "big.tsv")
    if os.path.exists(big):
        print()
        print("| generated snapshot | computers | users | `hvaudit audit` wall | peak RSS | RSS per 1k computers |")
        print("|---|---:|---:|---:|---:|---:|")
        for line in open(big, encoding="utf-8"):
            n, comp, acc = line.split()
            label, wall, rss, _ = m[f"big{n}"]
            print(f"| {int(n):,} | {int(comp):,} | {int(acc):,} | {wall:.2f} s | {fmt_mb(rss)} | {rss / 1024 / (int(comp) / 1000):.2f} MB |")
    print()
    print(f"Machine: {machine()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
