#!/usr/bin/env python3
"""Writes starting inputs for every fuzz target into fuzz/corpus-work/<target>/ from the
repository's own examples and fixtures (nothing is downloaded). The fuzzer grows that working
corpus; the minimised result is what fuzz/corpus/ keeps. Run from the repository root."""
import base64, os, struct, pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "fuzz" / "corpus-work"
MAX = 4000  # libFuzzer's default -max_len is 4096


def put(target, name, data):
    d = WORK / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data[:MAX])


# LDIF: the example export cut into chunks of whole records, plus the hostile fixture.
records = (ROOT / "examples" / "corp.ldif").read_text().split("\n\n")
chunk, n = "", 0
for r in records:
    if len(chunk) + len(r) > MAX and chunk:
        put("ldif", f"corp-{n:03}", chunk)
        chunk, n = "", n + 1
    chunk += r + "\n\n"
put("ldif", f"corp-{n:03}", chunk)
put("ldif", "domain-and-first", records[0] + "\n\n" + "\n\n".join(records[-8:]))
for p in (ROOT / "tests" / "fixtures" / "hostile").glob("*.ldif"):
    put("ldif", p.stem, p.read_bytes())
put("ldif", "utf16", b"\xff\xfe" + "version: 1\r\ndn: CN=X\r\ncn: X\r\n".encode("utf-16-le"))

# Inventories.
for p in (ROOT / "tests" / "fixtures" / "inventory").iterdir():
    if p.suffix == ".csv":
        put("inventory_csv", p.stem, p.read_bytes())
    elif p.suffix == ".json":
        put("inventory_json", p.stem, p.read_bytes())
put("inventory_csv", "example", (ROOT / "examples" / "hosts.csv").read_bytes())

# Rules: each built-in rule as its own file (whole files exceed -max_len).
for p in (ROOT / "rules").glob("*.toml"):
    parts = p.read_text().split("\n[[rule]]")
    for i, part in enumerate(parts[1:]):
        put("rules", f"{p.stem}-{i:02}", "[[rule]]" + part)

# Config.
put("config", "example", (ROOT / "examples" / "hvaudit.toml").read_bytes())
for p in (ROOT / "tests" / "fixtures" / "cli").glob("*.toml"):
    put("config", p.stem, p.read_bytes())

# SPNs.
for i, s in enumerate([
    "Microsoft Virtual System Migration Service/HVP01",
    "Microsoft Virtual System Migration Service/hvp01.corp.example",
    "cifs/sofs01.corp.example",
    "MSSQLSvc/sql01.corp.example:1433/inst",
    "HOST/dc01.corp.example/corp.example",
    "ldap/dc01.corp.example:389",
]):
    put("spn", f"spn-{i}", s)


def sid(text):
    p = text.split("-")
    subs = [int(x) for x in p[3:]]
    return bytes([1, len(subs)]) + int(p[2]).to_bytes(6, "big") + b"".join(
        struct.pack("<I", s) for s in subs)


def sd(trustees, object_ace=False):
    owner = sid("S-1-5-32-544")
    aces = b""
    for t in trustees:
        s = sid(t)
        if object_ace:
            body = struct.pack("<II", 0xF01FF, 1) + b"\x11" * 16 + s
            aces += bytes([5, 0]) + struct.pack("<H", 4 + len(body)) + body
        else:
            aces += bytes([0, 0]) + struct.pack("<HI", 8 + len(s), 0xF01FF) + s
    acl = bytes([4, 0]) + struct.pack("<HH", 8 + len(aces), len(trustees)) + b"\0\0" + aces
    head = bytes([1, 0]) + struct.pack("<HIIII", 0x8004, 20, 0, 0, 20 + len(owner))
    return head + owner + acl


dom = "S-1-5-21-3623811015-3361044348-30300820"
put("secdesc", "one", sd([dom + "-1200"]))
put("secdesc", "two", sd([dom + "-1200", dom + "-1201"]))
put("secdesc", "object", sd([dom + "-512"], object_ace=True))
put("secdesc", "empty", sd([]))


def repl(entries):
    out = struct.pack("<IIII", 1, 0, len(entries), 0)
    for attid, ver, secs in entries:
        out += struct.pack("<IIQ", attid, ver, secs) + b"\0" * 16 + struct.pack("<QQ", 1, 1)
    return out


put("replmeta", "two", repl([(0x906FB, 3, 13_350_000_000), (0x90008, 1, 13_340_000_000)]))
put("replmeta", "empty", repl([]))
