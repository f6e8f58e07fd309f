#!/usr/bin/env python3
"""Writes the inputs of the rule fixtures: tests/rules/<ID>/input.ldif (and hosts.csv,
hvaudit.toml where a rule needs them). The expected findings are written by hand beside them,
in expected.toml (format: tests/common/cases.rs); tests/rule_fixtures.rs runs them all.

Every fixture is one small domain, corp.example, with one domain controller (DC01), the
Domain Admins and Protected Users groups, and the objects of its rule: where the rule fires
and a near miss where it must not. Hosts are 2022 Hyper-V hosts (migration and console SPNs
in both name forms, protocol transition) unless a fixture says otherwise; `mesh` gives hosts
full constrained delegation to each other (migration service and cifs, both name forms).

Run it from anywhere: python3 tests/rules/gen_fixtures.py
"""

import base64
import os
import struct
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN_DN = "DC=corp,DC=example"
DNS = "corp.example"
DOM_SID = "S-1-5-21-1000-2000-3000"
MIG = "Microsoft Virtual System Migration Service"
HOST_OU = "OU=HyperV," + DOMAIN_DN
BUILD_2022, BUILD_2012R2 = "10.0 (20348)", "6.3 (9600)"

# userAccountControl bits (MS-ADTS 2.2.16)
ACCOUNTDISABLE = 0x2
NORMAL_ACCOUNT = 0x200
WORKSTATION = 0x1000
SERVER_TRUST = 0x2000
TRUSTED_FOR_DELEGATION = 0x80000
NOT_DELEGATED = 0x100000
TRUSTED_TO_AUTH = 0x1000000

INVENTORY_HEADER = (
    "ComputerName,VirtualMachineMigrationEnabled,VirtualMachineMigrationAuthenticationType,"
    "CredentialGuardRunning,LastBootUpTime,Error\n"
)


def sid_bytes(text):
    parts = text.split("-")
    subs = [int(x) for x in parts[3:]]
    return (bytes([int(parts[1]), len(subs)]) + int(parts[2]).to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


def b64(data):
    return base64.b64encode(data).decode()


def line(attr, value):
    """One LDIF line, base64 when RFC 2849 requires it, folded at 76 columns."""
    if isinstance(value, bytes):
        text = f"{attr}:: {b64(value)}"
    elif value != value.strip() or value[:1] in (":", "<") or not value.isascii():
        text = f"{attr}:: {b64(value.encode())}"
    else:
        text = f"{attr}: {value}"
    out, rest = [text[:76]], text[76:]
    while rest:
        out.append(" " + rest[:75])
        rest = rest[75:]
    return "\n".join(out)


def rbcd(sids):
    """An msDS-AllowedToActOnBehalfOfOtherIdentity security descriptor allowing each SID
    (MS-DTYP 2.4.6: self-relative, a DACL of ACCESS_ALLOWED ACEs)."""
    aces = b""
    for s in sids:
        body = struct.pack("<I", 0x000F01FF) + sid_bytes(s)
        aces += struct.pack("<BBH", 0x00, 0, 4 + len(body)) + body
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(aces), len(sids), 0) + aces
    return struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + acl


def repl_metadata(changes):
    """REPL_PROPERTY_META_DATA_BLOB version 1 (MS-DRSR 5.160) with the change time of each
    attid, in seconds since 1601."""
    epoch = datetime(1601, 1, 1, tzinfo=timezone.utc)
    entries = b""
    for n, (attid, when) in enumerate(sorted(changes.items())):
        t = datetime.fromisoformat(when.replace("Z", "+00:00"))
        secs = int((t - epoch).total_seconds())
        entries += struct.pack("<IIq", attid, 1, secs) + bytes(16) + struct.pack("<qq", n + 1, n + 1)
    return struct.pack("<IIII", 1, 0, len(changes), 0) + entries


ATTID_DELEGATE_TO = 0x906FB
ATTID_UAC = 0x90008


class Domain:
    def __init__(self, level=7):
        self.entries = []
        self.next_rid = 1100
        self.sids = {}
        self.add(DOMAIN_DN, ["top", "domain", "domainDNS"],
                 [("objectSid", sid_bytes(DOM_SID)), ("msDS-Behavior-Version", str(level))])
        self.computer("DC01", uac=SERVER_TRUST | TRUSTED_FOR_DELEGATION, rid=1000,
                      ou="OU=Domain Controllers," + DOMAIN_DN, os="10.0 (20348)")
        self.group("Domain Admins", rid=512, ou="CN=Users," + DOMAIN_DN)
        self.group("Protected Users", rid=525, ou="CN=Users," + DOMAIN_DN)

    def add(self, dn, classes, attrs):
        self.entries.append((dn, classes, attrs))

    def rid(self, rid=None):
        if rid is None:
            rid = self.next_rid
            self.next_rid += 1
        return rid

    def computer(self, name, uac=WORKSTATION, rid=None, ou="OU=Servers," + DOMAIN_DN, os=None,
                 spns=(), delegate=(), extra=()):
        sid = f"{DOM_SID}-{self.rid(rid)}"
        self.sids[name.lower()] = sid
        attrs = [("cn", name), ("sAMAccountName", name + "$"), ("userAccountControl", str(uac)),
                 ("objectSid", sid_bytes(sid)), ("primaryGroupID", "516" if uac & SERVER_TRUST else "515"),
                 ("dNSHostName", f"{name.lower()}.{DNS}")]
        if os:
            attrs += [("operatingSystem", "Windows Server"), ("operatingSystemVersion", os)]
        attrs += [("servicePrincipalName", s) for s in spns]
        attrs += [("msDS-AllowedToDelegateTo", v) for v in delegate]
        attrs += list(extra)
        self.add(f"CN={name},{ou}", ["top", "person", "organizationalPerson", "user", "computer"], attrs)

    def host(self, name, os=BUILD_2022, pt=True, uac=0, delegate=(), extra=()):
        """A Hyper-V host: the migration and console service SPNs in both name forms."""
        spns = [f"{c}/{n}" for c in (MIG, "Microsoft Virtual Console Service")
                for n in (name, f"{name.lower()}.{DNS}")]
        self.computer(name, uac=WORKSTATION | (TRUSTED_TO_AUTH if pt else 0) | uac, ou=HOST_OU,
                      os=os, spns=spns, delegate=delegate, extra=extra)

    def user(self, name, uac=NORMAL_ACCOUNT, admin_count=None, rid=None):
        sid = f"{DOM_SID}-{self.rid(rid)}"
        self.sids[name.lower()] = sid
        attrs = [("cn", name), ("sAMAccountName", name), ("userAccountControl", str(uac)),
                 ("objectSid", sid_bytes(sid)), ("primaryGroupID", "513")]
        if admin_count is not None:
            attrs.append(("adminCount", str(admin_count)))
        self.add(f"CN={name},OU=People,{DOMAIN_DN}", ["top", "person", "organizationalPerson", "user"], attrs)

    def group(self, name, rid=None, ou="OU=Groups," + DOMAIN_DN, members=()):
        sid = f"{DOM_SID}-{self.rid(rid)}"
        self.sids[name.lower()] = sid
        attrs = [("cn", name), ("sAMAccountName", name), ("objectSid", sid_bytes(sid))]
        self.add(f"CN={name},{ou}", ["top", "group"], attrs)

    def dn(self, name):
        for dn, _, _ in self.entries:
            if dn.lower().startswith(f"cn={name.lower()},"):
                return dn
        raise KeyError(name)

    def member(self, group, *names):
        for dn, _, attrs in self.entries:
            if dn == self.dn(group):
                attrs += [("member", self.dn(n)) for n in names]

    def ldif(self):
        out = []
        for dn, classes, attrs in self.entries:
            lines = [line("dn", dn)] + [line("objectClass", c) for c in classes]
            lines += [line(a, v) for a, v in attrs]
            out.append("\n".join(lines))
        return "\n\n".join(out) + "\n"


def mesh_values(peer):
    return [f"{c}/{n}" for c in (MIG, "cifs") for n in (peer, f"{peer.lower()}.{DNS}")]


def mesh(*names):
    """name -> full constrained delegation to every other name."""
    return {n: [v for p in names if p != n for v in mesh_values(p)] for n in names}


def inventory(*rows):
    """rows: (name, enabled, auth, credential_guard, last_boot, error)."""
    return INVENTORY_HEADER + "".join(",".join(r) + "\n" for r in rows)


def ok(name, auth="Kerberos", cg="False", boot="2025-05-01T00:00:00Z"):
    return (name, "True", auth, cg, boot, "")


def fixtures():
    f = {}

    # HV001: unconstrained delegation on a host; near miss: a DC that is also a Hyper-V host.
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.host("HVA01", uac=TRUSTED_FOR_DELEGATION, delegate=m["HVA01"])
    d.host("HVA02", delegate=m["HVA02"])
    d.entries[1][2].append(("servicePrincipalName", f"{MIG}/DC01"))
    f["HV001"] = {"input.ldif": d.ldif(),
                  "hvaudit.toml": '[[group]]\nname = "a"\nname_glob = "HVA*"\n'}

    # HV002: HVA01 delegates cifs but not the migration service of HVA02; near misses: the
    # way back, and two hosts of one failover cluster without any delegation.
    d = Domain()
    d.host("HVA01", delegate=[v for v in mesh_values("HVA02") if v.startswith("cifs/")])
    d.host("HVA02", delegate=mesh_values("HVA01"))
    d.host("HVC01")
    d.host("HVC02")
    f["HV002"] = {"input.ldif": d.ldif(), "hvaudit.toml": GROUPS_AC + CLUSTER_C}

    # HV003: HVA02 delegates the migration service but not cifs of HVA01, nor of the group's
    # storage server; near miss: HVA01, which delegates both and the storage server's cifs.
    d = Domain()
    d.computer("SOFS01")
    d.host("HVA01", delegate=mesh_values("HVA02") + ["cifs/SOFS01", f"cifs/sofs01.{DNS}"])
    d.host("HVA02", delegate=[v for v in mesh_values("HVA01") if v.startswith(MIG)])
    f["HV003"] = {"input.ldif": d.ldif(),
                  "hvaudit.toml": '[[group]]\nname = "a"\nname_glob = "HVA*"\nstorage = ["SOFS01"]\n'}

    # HV004: HVA01 delegates HVA02's migration service by FQDN only; near miss: HVA02, both forms.
    d = Domain()
    d.host("HVA01", delegate=[f"{MIG}/hva02.{DNS}", "cifs/HVA02", f"cifs/hva02.{DNS}"])
    d.host("HVA02", delegate=mesh_values("HVA01"))
    f["HV004"] = {"input.ldif": d.ldif(),
                  "hosts.csv": inventory(ok("HVA01"), ok("HVA02"))}

    # HV005: a 2022 host delegating with "Kerberos only"; near misses: a 2012 R2 host doing
    # the same, and a 2022 host with protocol transition.
    d = Domain()
    m = mesh("HVA01", "HVA02", "HVOLD")
    d.host("HVA01", pt=False, delegate=m["HVA01"])
    d.host("HVA02", delegate=m["HVA02"])
    d.host("HVOLD", os=BUILD_2012R2, pt=False, delegate=m["HVOLD"])
    f["HV005"] = {"input.ldif": d.ldif()}

    # HV006: protocol transition on 2012 R2; near misses: on 2022, and on a host whose build
    # is unknown (never guessed).
    d = Domain()
    m = mesh("HVOLD", "HVA02", "HVNOOS")
    d.host("HVOLD", os=BUILD_2012R2, delegate=m["HVOLD"])
    d.host("HVA02", delegate=m["HVA02"])
    d.host("HVNOOS", os=None, delegate=m["HVNOOS"])
    f["HV006"] = {"input.ldif": d.ldif()}

    # HV007: a host delegating to a web service; near miss: a service account (not a host)
    # delegating to the same service.
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.computer("WEB01", spns=["http/web01.corp.example"])
    d.host("HVA01", delegate=m["HVA01"] + [f"http/web01.{DNS}"])
    d.host("HVA02", delegate=m["HVA02"])
    d.user("svc-web")
    d.entries[-1][2].append(("msDS-AllowedToDelegateTo", f"http/web01.{DNS}"))
    f["HV007"] = {"input.ldif": d.ldif()}

    # HV008: a host delegating to a DC's cifs and to ldap anywhere; near miss: a service
    # account delegating to the DC's ldap.
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.host("HVA01", delegate=m["HVA01"] + [f"cifs/dc01.{DNS}", f"LDAP/anything.{DNS}"])
    d.host("HVA02", delegate=m["HVA02"])
    d.user("svc-sql")
    d.entries[-1][2].append(("msDS-AllowedToDelegateTo", f"ldap/dc01.{DNS}"))
    f["HV008"] = {"input.ldif": d.ldif()}

    # HV009: cifs of a host that does not exist and of a disabled one; near miss: a service
    # account with the same stale value.
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.computer("OLD01", uac=WORKSTATION | ACCOUNTDISABLE)
    d.host("HVA01", delegate=m["HVA01"] + ["cifs/gone01", "cifs/OLD01"])
    d.host("HVA02", delegate=m["HVA02"])
    d.user("svc-sql")
    d.entries[-1][2].append(("msDS-AllowedToDelegateTo", "cifs/gone01"))
    f["HV009"] = {"input.ldif": d.ldif()}

    # HV010: RBCD trusting a user and a host of another group; near miss: RBCD trusting a
    # group whose only member is a host of the same group. HVB02's RBCD trusts Everyone.
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.user("eve")
    d.group("HV-A-Hosts")
    d.host("HVA02", delegate=m["HVA02"])
    d.host("HVB01")
    d.host("HVB02", extra=[("msDS-AllowedToActOnBehalfOfOtherIdentity", rbcd(["S-1-1-0"]))])
    d.member("HV-A-Hosts", "HVA02")
    s = d.sids
    d.host("HVA01", delegate=m["HVA01"],
           extra=[("msDS-AllowedToActOnBehalfOfOtherIdentity", rbcd([s["hv-a-hosts"]]))])
    for dn, _, attrs in d.entries:
        if dn.startswith("CN=HVA02,"):
            attrs.append(("msDS-AllowedToActOnBehalfOfOtherIdentity", rbcd([s["hva01"], s["eve"]])))
        if dn.startswith("CN=HVB01,"):
            attrs.append(("msDS-AllowedToActOnBehalfOfOtherIdentity", rbcd([s["hva01"]])))
    f["HV010"] = {"input.ldif": d.ldif(),
                  "hvaudit.toml": '[[group]]\nname = "a"\nname_glob = "HVA*"\n\n'
                                  '[[group]]\nname = "b"\nhosts = ["HVB01", "HVB02"]\n'}

    # HV011 and HV012: CredSSP (HV011) and CredSSP with Credential Guard (HV012); near misses:
    # Kerberos with Credential Guard, CredSSP without it.
    d = Domain()
    m = mesh("HVA01", "HVA02", "HVA03")
    for n in ("HVA01", "HVA02", "HVA03"):
        d.host(n, delegate=m[n])
    ldif = d.ldif()
    f["HV011"] = {"input.ldif": ldif,
                  "hosts.csv": inventory(ok("HVA01", "CredSSP"), ok("HVA02", cg="True"), ok("HVA03"))}
    f["HV012"] = {"input.ldif": ldif,
                  "hosts.csv": inventory(ok("HVA01", "CredSSP", cg="True"), ok("HVA02", "CredSSP"),
                                         ok("HVA03", cg="True"))}

    # HV013: Kerberos live migration without any migration delegation; near misses: a host
    # with delegation to one peer, a CredSSP host without delegation.
    d = Domain()
    d.host("HVA01")
    d.host("HVA02", delegate=mesh_values("HVA01"))
    d.host("HVA03")
    f["HV013"] = {"input.ldif": d.ldif(),
                  "hosts.csv": inventory(ok("HVA01"), ok("HVA02"), ok("HVA03", "CredSSP"))}

    # HV014: delegation changed after the last boot; near misses: changed before it, and a
    # change with no boot time known.
    d = Domain()
    m = mesh("HVA01", "HVA02", "HVA03")
    meta = lambda when: [("replPropertyMetaData", repl_metadata({ATTID_DELEGATE_TO: when,
                                                                   ATTID_UAC: "2025-01-01T00:00:00Z"}))]
    d.host("HVA01", delegate=m["HVA01"], extra=meta("2025-05-20T09:00:00Z"))
    d.host("HVA02", delegate=m["HVA02"], extra=meta("2025-04-20T09:00:00Z"))
    d.host("HVA03", delegate=m["HVA03"], extra=meta("2025-05-20T09:00:00Z"))
    f["HV014"] = {"input.ldif": d.ldif(),
                  "hosts.csv": inventory(ok("HVA01"), ok("HVA02"), ("HVA03", "True", "Kerberos", "False", "", ""))}

    # HV015: a host missing from the inventory, an inventory row no computer matches, a row
    # the collector could not read; near miss: a host with a good row.
    d = Domain()
    m = mesh("HVA01", "HVA02", "HVA03")
    for n in ("HVA01", "HVA02", "HVA03"):
        d.host(n, delegate=m[n])
    f["HV015"] = {"input.ldif": d.ldif(),
                  "hosts.csv": inventory(("HVA01", "", "", "", "", "WinRM cannot complete the operation"),
                                         ok("HVA03"), ok("HVZ99"))}

    # HV016: live migration disabled on a host of a group; near miss: disabled on a host in
    # no group.
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.host("HVA01", delegate=m["HVA01"])
    d.host("HVA02", delegate=m["HVA02"])
    d.host("HVX01")
    f["HV016"] = {"input.ldif": d.ldif(),
                  "hosts.csv": inventory(("HVA01", "False", "Kerberos", "False", "", ""), ok("HVA02"),
                                         ("HVX01", "False", "Kerberos", "False", "", "")),
                  "hvaudit.toml": '[[group]]\nname = "a"\nname_glob = "HVA*"\n'}

    # HV017: LM operators that cannot be delegated (NOT_DELEGATED; Protected Users); near
    # misses: a delegable operator, and a NOT_DELEGATED account that is no operator.
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.host("HVA01", delegate=m["HVA01"])
    d.host("HVA02", delegate=m["HVA02"])
    d.user("svc-lm", uac=NORMAL_ACCOUNT | NOT_DELEGATED)
    d.user("svc-lm2")
    d.user("svc-ok")
    d.user("bob", uac=NORMAL_ACCOUNT | NOT_DELEGATED)
    d.member("Protected Users", "svc-lm2")
    f["HV017"] = {"input.ldif": d.ldif(),
                  "hvaudit.toml": 'lm_operators = ["SVC-LM", "svc-lm2", "svc-ok"]\n'}

    # HV018: a port on cifs and a trailing space on the migration service; near miss: a port
    # on a service outside live migration (a valid SPN: HV007's business, not HV018's).
    d = Domain()
    d.computer("WEB01")
    d.host("HVA01", delegate=[f"{MIG}/hva02.{DNS}", f"{MIG}/HVA02 ", f"cifs/hva02.{DNS}:445", "cifs/HVA02"])
    d.host("HVA02", delegate=mesh_values("HVA01") + [f"http/web01.{DNS}:8080"])
    f["HV018"] = {"input.ldif": d.ldif()}

    # HV019: the migration service and cifs of a host in another domain; near miss: a stale
    # value inside the domain (HV009's business).
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.host("HVA01", delegate=m["HVA01"] + [f"{MIG}/hv07.fabrikam.com", "cifs/hv07.fabrikam.com"])
    d.host("HVA02", delegate=m["HVA02"] + [f"cifs/gone01.{DNS}"])
    f["HV019"] = {"input.ldif": d.ldif()}

    # PA001: privileged accounts that can be delegated (directly and through nesting); near
    # misses: protected by Protected Users, NOT_DELEGATED, disabled.
    d = Domain()
    for u in ("alice", "carol", "dave", "grace"):
        d.user(u, uac=NORMAL_ACCOUNT | (NOT_DELEGATED if u == "grace" else 0))
    d.user("erin", uac=NORMAL_ACCOUNT | ACCOUNTDISABLE)
    d.group("Tier0")
    d.member("Domain Admins", "alice", "Tier0", "dave", "grace", "erin")
    d.member("Tier0", "carol")
    d.member("Protected Users", "dave")
    f["PA001"] = {"input.ldif": d.ldif()}

    # PA002: adminCount=1 left on an account no longer privileged; near misses: the same but
    # NOT_DELEGATED, and a current admin (PA001's business).
    d = Domain()
    d.user("old-admin", admin_count=1)
    d.user("old-admin-ok", uac=NORMAL_ACCOUNT | NOT_DELEGATED, admin_count=1)
    d.user("current", admin_count=1)
    d.member("Domain Admins", "current")
    f["PA002"] = {"input.ldif": d.ldif()}

    # SC001: an inventory row the collector could not read makes the scan incomplete; near
    # miss: the same directory with every row read.
    d = Domain()
    m = mesh("HVA01", "HVA02")
    d.host("HVA01", delegate=m["HVA01"])
    d.host("HVA02", delegate=m["HVA02"])
    f["SC001"] = {"input.ldif": d.ldif(),
                  "hosts.csv": inventory(ok("HVA01"), ("HVA02", "", "", "", "", "Access is denied")),
                  "hosts-read.csv": inventory(ok("HVA01"), ok("HVA02"))}
    return f


GROUPS_AC = '[[group]]\nname = "a"\nname_glob = "HVA*"\n\n[[group]]\nname = "c"\nname_glob = "HVC*"\n'
CLUSTER_C = '\n[[cluster]]\nname = "CL1"\nmembers = ["HVC01", "HVC02"]\n'


def main():
    for rule, files in fixtures().items():
        d = os.path.join(HERE, rule)
        os.makedirs(d, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(d, name), "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)


if __name__ == "__main__":
    main()
