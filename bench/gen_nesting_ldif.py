#!/usr/bin/env python3
"""Generate a group-nesting chain into Domain Admins for bench/nesting.sh (stdlib only).

    gen_nesting_ldif.py DEPTH [--every-level] > chain.ldif

`N0` is a member of Domain Admins, `N{i+1}` a member of `N{i}`, and the user `U{DEPTH-1}` a member
of the last group (the shape of the field case deep-group-nesting). With --every-level, each
group `N{i}` also holds a user `U{i}`: DEPTH privileged accounts with paths of 1..DEPTH groups.
tests/group_nesting.rs generates the same shapes itself; this copy only serves the benchmark.
"""
import argparse
import base64
import struct
import sys


def sid(rid=None):
    subs = [21, 1, 2, 3] + ([rid] if rid is not None else [])
    raw = bytes([1, len(subs)]) + (5).to_bytes(6, "big") + b"".join(struct.pack("<I", s) for s in subs)
    return base64.b64encode(raw).decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("depth", type=int)
    ap.add_argument("--every-level", action="store_true")
    a = ap.parse_args()
    w = sys.stdout.write
    w(f"dn: DC=t,DC=example\nobjectClass: domainDNS\nobjectSid:: {sid()}\nmsDS-Behavior-Version: 7\n\n")
    w("dn: CN=Domain Admins,CN=Users,DC=t,DC=example\nobjectClass: group\n"
      f"sAMAccountName: Domain Admins\nobjectSid:: {sid(512)}\nmember: CN=N0,CN=Users,DC=t,DC=example\n\n")
    for i in range(a.depth):
        last = i + 1 == a.depth
        w(f"dn: CN=N{i},CN=Users,DC=t,DC=example\nobjectClass: group\nsAMAccountName: N{i}\n"
          f"objectSid:: {sid(1_000_000 + i)}\n")
        if not last:
            w(f"member: CN=N{i + 1},CN=Users,DC=t,DC=example\n")
        if a.every_level or last:
            w(f"member: CN=U{i},CN=Users,DC=t,DC=example\n\n")
            w(f"dn: CN=U{i},CN=Users,DC=t,DC=example\nobjectClass: user\nsAMAccountName: U{i}\n"
              f"userAccountControl: 512\nobjectSid:: {sid(2_000_000 + i)}\nprimaryGroupID: 513\n")
        w("\n")


if __name__ == "__main__":
    main()
