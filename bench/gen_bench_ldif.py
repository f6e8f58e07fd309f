#!/usr/bin/env python3
"""Generate a large synthetic Active Directory for hvaudit's benchmark (stdlib only).

    gen_bench_ldif.py samba OUTDIR --domain-sid SID [--computers N] [--users N] [--hosts N]
    gen_bench_ldif.py export FILE  [--computers N] [--users N] [--hosts N]

`samba` writes what bench/run.sh loads into the Samba test DC (realm LAB.TEST) with
`samba-dc.sh load`: objects without objectSid (the DC assigns them), and changes to the
groups provisioning created, addressed as `<SID=...>` (the test fixtures rename Domain Admins,
so DNs would not do). `export` writes one self-contained `ldapsearch -LLL`-style export
with SIDs, the domain object, the DC and the built-in groups, for `hvaudit collect --ldif`: the
100,000-computer snapshot needs no DC. Both modes describe the same domain, and both also write
the hvaudit configuration (migration groups by OU, clusters, storage, LM operator) and a host
inventory next to the output.

The domain (defaults: 20,000 computers of which 2,000 Hyper-V hosts, 5,000 users):
- Hyper-V hosts HV00001.. in migration groups of 16 (OU=MGnnnn,OU=HyperV,OU=Bench), each with a
  full mesh of constrained delegation to its peers: `Microsoft Virtual System Migration Service`
  and `cifs`, NetBIOS and FQDN forms; every fifth group also delegates to its SOFS's cifs. The
  first host pair of every tenth group is a failover cluster (no KCD between them).
- Defects in a few percent of hosts, at a fixed seed: missing peers, cifs in one name form
  only, Kerberos-only delegation on 2016+, protocol transition on 2012 R2, stale targets
  (retired disabled hosts and names not in the directory), unconstrained delegation, delegation
  to the DC's services, to unrelated services, and RBCD open to Authenticated Users.
- Other computers: workstations and member servers with few SPNs (Samba checks SPN uniqueness
  on every add, which dominates load time), a few disabled.
- Users: plain users, admins in nested tier-0 groups under Domain Admins (some NOT_DELEGATED,
  some in Protected Users), a 1,600-member helpdesk group nested in Account Operators (read with
  range retrieval), service accounts with SPNs and a few with user KCD, and former admins with
  adminCount=1.
"""

import argparse
import base64
import os
import random
import struct
import sys

BASE = "DC=lab,DC=test"
DNS = "lab.test"
NETBIOS = "LAB"
DC_NAME = "DC1"
BENCH = f"OU=Bench,{BASE}"
HYPERV = f"OU=HyperV,{BENCH}"
WORKSTATIONS = f"OU=Workstations,{BENCH}"
SERVERS = f"OU=Servers,{BENCH}"
RETIRED = f"OU=Retired,{BENCH}"
PEOPLE = f"OU=People,{BENCH}"
ADMINS = f"OU=Admins,{BENCH}"
SERVICE = f"OU=Service,{BENCH}"
GROUPS = f"OU=Groups,{BENCH}"
USERS_CN = f"CN=Users,{BASE}"
BUILTIN_CN = f"CN=Builtin,{BASE}"

GROUP_SIZE = 16
MIGRATION = "Microsoft Virtual System Migration Service"
CONSOLE = "Microsoft Virtual Console Service"

# userAccountControl bits.
ACCOUNTDISABLE = 0x2
NORMAL_ACCOUNT = 0x200
WORKSTATION_TRUST_ACCOUNT = 0x1000
SERVER_TRUST_ACCOUNT = 0x2000
DONT_EXPIRE_PASSWORD = 0x10000
TRUSTED_FOR_DELEGATION = 0x80000
NOT_DELEGATED = 0x100000
TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000

OS = {
    "2012R2": ("Windows Server 2012 R2 Datacenter", "6.3 (9600)"),
    "2016": ("Windows Server 2016 Datacenter", "10.0 (14393)"),
    "2019": ("Windows Server 2019 Datacenter", "10.0 (17763)"),
    "2022": ("Windows Server 2022 Datacenter", "10.0 (20348)"),
    "2025": ("Windows Server 2025 Datacenter", "10.0 (26100)"),
}
HOST_OS_WEIGHTS = [("2012R2", 5), ("2016", 10), ("2019", 35), ("2022", 40), ("2025", 10)]
WORKSTATION_OS = [("Windows 10 Enterprise", "10.0 (19045)"), ("Windows 11 Enterprise", "10.0 (22631)")]

# Fixed fake domain SID for `export` mode (the Samba DC makes up its own).
EXPORT_DOMAIN_SID = "S-1-5-21-3141592653-589793238-462643383"


def sid_bytes(sid):
    parts = sid.split("-")
    assert parts[0] == "S" and parts[1] == "1"
    auth = int(parts[2])
    subs = [int(p) for p in parts[3:]]
    return struct.pack("<BB", 1, len(subs)) + auth.to_bytes(6, "big") + b"".join(struct.pack("<I", s) for s in subs)


def rbcd_sd(trustee_sids):
    """Self-relative security descriptor: owner BUILTIN\\Administrators, a DACL allowing each
    trustee (ACCESS_ALLOWED_ACE, mask 0x000F01FF), as the AD tools write it."""
    owner = sid_bytes("S-1-5-32-544")
    aces = b""
    for s in trustee_sids:
        body = struct.pack("<I", 0x000F01FF) + sid_bytes(s)
        aces += struct.pack("<BBH", 0, 0, 4 + len(body)) + body
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(aces), len(trustee_sids), 0) + aces
    header_len = 20
    owner_off = header_len
    dacl_off = owner_off + len(owner)
    control = 0x8004  # SE_SELF_RELATIVE | SE_DACL_PRESENT
    header = struct.pack("<BBHIIII", 1, 0, control, owner_off, 0, 0, dacl_off)
    return header + owner + acl


def b64_attr(name, raw):
    return f"{name}:: {base64.b64encode(raw).decode('ascii')}"


def attr(name, value):
    if isinstance(value, bytes):
        return b64_attr(name, value)
    raw = value.encode("utf-8")
    safe = all(0x20 <= b < 0x7F for b in raw) and not value.startswith((" ", ":", "<")) and not value.endswith(" ")
    return f"{name}: {value}" if safe else b64_attr(name, raw)


def fqdn(name):
    return f"{name.lower()}.{DNS}"


class Domain:
    """The generated objects, in load order. Each entry: (dn, [(attr, value)...]); `rid` is
    assigned in order for export mode (Samba assigns its own)."""

    def __init__(self, args, mode):
        self.args = args
        self.mode = mode
        self.rng = random.Random(args.seed)
        self.entries = []  # (dn, attrs) to add
        self.memberships = {}  # built-in group SID -> member DNs (modify in samba mode)
        self.next_rid = 1200
        self.domain_sid = args.domain_sid or EXPORT_DOMAIN_SID
        self.stats = {}
        self.hosts = []  # dicts, for config and inventory
        self.groups = []  # (name, ou, storage, clusters)

    def count(self, key, n=1):
        self.stats[key] = self.stats.get(key, 0) + n

    def add(self, dn, attrs, sid=True):
        if self.mode == "export" and sid:
            attrs = list(attrs) + [("objectSid", sid_bytes(f"{self.domain_sid}-{self.next_rid}"))]
            self.next_rid += 1
        self.entries.append((dn, attrs))

    def ou(self, dn):
        self.add(dn, [("objectClass", "organizationalUnit"), ("ou", dn.split(",", 1)[0][3:])], sid=False)

    def computer(self, name, parent, os_pair=None, uac=WORKSTATION_TRUST_ACCOUNT, spns=(), delegate=(), extra=()):
        attrs = [
            ("objectClass", "computer"),
            ("cn", name),
            ("sAMAccountName", f"{name}$"),
            ("userAccountControl", str(uac)),
            ("dNSHostName", fqdn(name)),
        ]
        if self.mode == "export":
            attrs.insert(0, ("objectClass", "top"))
            attrs.append(("primaryGroupID", "515"))
        if os_pair:
            attrs += [("operatingSystem", os_pair[0]), ("operatingSystemVersion", os_pair[1])]
        attrs += [("servicePrincipalName", s) for s in spns]
        attrs += [("msDS-AllowedToDelegateTo", d) for d in delegate]
        attrs += list(extra)
        self.add(f"CN={name},{parent}", attrs)
        self.count("computers")
        if delegate:
            self.count("computers with msDS-AllowedToDelegateTo")
            self.count("msDS-AllowedToDelegateTo values", len(delegate))

    def user(self, sam, parent, uac=NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD, spns=(), delegate=(), extra=()):
        attrs = [
            ("objectClass", "user"),
            ("cn", sam),
            ("sAMAccountName", sam),
            ("userPrincipalName", f"{sam}@{DNS}"),
            ("userAccountControl", str(uac)),
        ]
        if self.mode == "export":
            attrs.insert(0, ("objectClass", "top"))
            attrs.append(("primaryGroupID", "513"))
        attrs += [("servicePrincipalName", s) for s in spns]
        attrs += [("msDS-AllowedToDelegateTo", d) for d in delegate]
        attrs += list(extra)
        self.add(f"CN={sam},{parent}", attrs)
        self.count("users")
        return f"CN={sam},{parent}"

    def group(self, name, parent, members):
        attrs = [("objectClass", "group"), ("cn", name), ("sAMAccountName", name)]
        attrs += [("member", m) for m in members]
        self.add(f"CN={name},{parent}", attrs)
        self.count("groups")
        return f"CN={name},{parent}"

    def member_of_builtin(self, group_sid, members):
        self.memberships.setdefault(group_sid, []).extend(members)

    # --- the domain -------------------------------------------------------------------------

    def build(self):
        a = self.args
        rng = self.rng
        for d in (BENCH, HYPERV, WORKSTATIONS, SERVERS, RETIRED, PEOPLE, ADMINS, SERVICE, GROUPS):
            self.ou(d)

        # Retired Hyper-V hosts, disabled: stale delegation points at them.
        retired = [f"HVOLD{i:03d}" for i in range(1, 21)]
        for name in retired:
            self.computer(name, RETIRED, OS["2012R2"], uac=WORKSTATION_TRUST_ACCOUNT | ACCOUNTDISABLE)

        n_hosts = a.hosts
        n_groups = n_hosts // GROUP_SIZE
        host_names = [f"HV{i + 1:05d}" for i in range(n_groups * GROUP_SIZE)]
        sofs = {}
        for g in range(n_groups):
            if g % 5 == 0:
                sofs[g] = f"SOFS{g + 1:04d}"

        for g in range(n_groups):
            gou = f"OU=MG{g + 1:04d},{HYPERV}"
            self.ou(gou)
            members = host_names[g * GROUP_SIZE : (g + 1) * GROUP_SIZE]
            cluster = members[:2] if g % 10 == 0 else []
            self.groups.append((f"MG{g + 1:04d}", gou, [sofs[g]] if g in sofs else [], cluster))
            group_os = rng.choices([k for k, _ in HOST_OS_WEIGHTS], [w for _, w in HOST_OS_WEIGHTS])[0]
            for name in members:
                self.host(name, gou, members, cluster, sofs.get(g), group_os, retired)
                self.hosts[-1]["cluster"] = f"CL-MG{g + 1:04d}" if name in cluster else None

        # Storage servers and other member servers, then workstations, up to --computers.
        for name in sofs.values():
            self.computer(name, SERVERS, OS["2022"], spns=[f"HOST/{name}", f"HOST/{fqdn(name)}"])
        remaining = a.computers - self.stats["computers"]
        n_servers = remaining // 5
        for i in range(1, n_servers + 1):
            uac = WORKSTATION_TRUST_ACCOUNT | (ACCOUNTDISABLE if rng.random() < 0.02 else 0)
            self.computer(f"SRV{i:05d}", SERVERS, OS[rng.choice(["2016", "2019", "2022"])], uac=uac)
        for i in range(1, remaining - n_servers + 1):
            uac = WORKSTATION_TRUST_ACCOUNT | (ACCOUNTDISABLE if rng.random() < 0.03 else 0)
            self.computer(f"WS{i:06d}", WORKSTATIONS, rng.choice(WORKSTATION_OS), uac=uac)

        self.people()

    def host(self, name, gou, members, cluster, sofs, group_os, retired):
        rng = self.rng
        os_key = group_os if rng.random() > 0.05 else rng.choice(["2019", "2022", "2025"])
        modern = os_key != "2012R2"
        defects = []
        peers = [p for p in members if p != name and not (name in cluster and p in cluster)]
        # Missing peers: a host added to the group later and never added on this side.
        if rng.random() < 0.03:
            drop = set(rng.sample(peers, rng.randint(1, 2)))
            peers = [p for p in peers if p not in drop]
            defects.append("missing-peer")
        netbios_only = None
        if rng.random() < 0.02:
            netbios_only = rng.choice(peers)
            defects.append("cifs-netbios-only")
        delegate = []
        for p in peers:
            delegate += [f"{MIGRATION}/{p}", f"{MIGRATION}/{fqdn(p)}", f"cifs/{p}"]
            if p != netbios_only:
                delegate.append(f"cifs/{fqdn(p)}")
        if sofs:
            delegate += [f"cifs/{sofs}", f"cifs/{fqdn(sofs)}"]
        if rng.random() < 0.02:
            old = rng.choice(retired)
            delegate += [f"{MIGRATION}/{old}", f"cifs/{old}", f"cifs/{fqdn('HVGONE' + name[2:])}"]
            defects.append("stale-target")
        if rng.random() < 0.005:
            delegate += [f"ldap/{fqdn(DC_NAME)}", f"cifs/{DC_NAME}"]
            defects.append("dc-target")
        if rng.random() < 0.01:
            delegate += [f"http/intranet.{DNS}"]
            defects.append("other-service")

        uac = WORKSTATION_TRUST_ACCOUNT
        protocol_transition = modern
        if modern and rng.random() < 0.03:
            protocol_transition = False
            defects.append("kerberos-only-2016+")
        if not modern and rng.random() < 0.1:
            protocol_transition = True
            defects.append("protocol-transition-2012r2")
        if protocol_transition:
            uac |= TRUSTED_TO_AUTH_FOR_DELEGATION
        if rng.random() < 0.005:
            uac |= TRUSTED_FOR_DELEGATION
            defects.append("unconstrained")
        extra = []
        if rng.random() < 0.002:
            extra.append(("msDS-AllowedToActOnBehalfOfOtherIdentity", rbcd_sd(["S-1-5-11"])))
            defects.append("rbcd-authenticated-users")
        spns = [f"{MIGRATION}/{name}", f"{MIGRATION}/{fqdn(name)}", f"{CONSOLE}/{name}", f"{CONSOLE}/{fqdn(name)}"]
        self.computer(name, gou, OS[os_key], uac=uac, spns=spns, delegate=delegate, extra=extra)
        self.count("hyper-v hosts")
        for d in defects:
            self.count(f"defect: {d}")
        self.hosts.append({"name": name, "os": os_key, "defects": defects})

    def people(self):
        a = self.args
        rng = self.rng
        n_admins, n_service, n_stale, n_helpdesk = 40, 50, 10, 1600
        # svc-hvlm is the one more account.
        n_plain = a.users - n_admins - n_service - n_stale - n_helpdesk - 1
        if n_plain < 0:
            sys.exit("gen_bench_ldif.py: --users must be at least 1,701")
        for i in range(1, n_plain + 1):
            uac = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD | (ACCOUNTDISABLE if rng.random() < 0.05 else 0)
            self.user(f"u{i:06d}", PEOPLE, uac=uac)
        helpdesk = [self.user(f"hd{i:05d}", PEOPLE) for i in range(1, n_helpdesk + 1)]
        admins = []
        protected = []
        for i in range(1, n_admins + 1):
            uac = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
            r = rng.random()
            if r < 0.4:
                uac |= NOT_DELEGATED
            dn = self.user(f"adm-{i:03d}", ADMINS, uac=uac, extra=[("adminCount", "1")])
            admins.append(dn)
            if 0.4 <= r < 0.7:
                protected.append(dn)
        for i in range(1, n_stale + 1):
            self.user(f"old-adm-{i:02d}", ADMINS, extra=[("adminCount", "1")])
        for i in range(1, n_service + 1):
            spns = [f"MSSQLSvc/sql{i:02d}.{DNS}:1433"]
            delegate = [f"cifs/SRV{i:05d}", f"cifs/{fqdn(f'SRV{i:05d}')}"] if i <= 5 else []
            uac = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD | (TRUSTED_TO_AUTH_FOR_DELEGATION if i <= 2 else 0)
            self.user(f"svc-sql{i:02d}", SERVICE, uac=uac, spns=spns, delegate=delegate)
        self.user("svc-hvlm", SERVICE, uac=NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD | NOT_DELEGATED)

        # Tier-0 nesting: Domain Admins <- T0-Admins <- T0-L2 <- T0-L3; the deepest level holds
        # most admins, so their membership is only visible through three hops.
        l3 = self.group("T0-L3", GROUPS, admins[10:])
        l2 = self.group("T0-L2", GROUPS, [l3] + admins[5:10])
        l1 = self.group("T0-Admins", GROUPS, [l2])
        hv_admins = self.group("HV-Admins", GROUPS, admins[:5] + [f"CN=u{i:06d},{PEOPLE}" for i in range(1, 31)])
        hd = self.group("Helpdesk-Tier1", GROUPS, helpdesk)
        self.member_of_builtin(f"{self.domain_sid}-512", [l1] + admins[:5])
        self.member_of_builtin("S-1-5-32-544", [hv_admins])
        self.member_of_builtin("S-1-5-32-548", [hd])
        self.member_of_builtin(f"{self.domain_sid}-525", protected)

    # --- output -------------------------------------------------------------------------------

    def export_prelude(self):
        """What a real export holds that Samba provisioning creates: domain, DC, built-ins."""
        d = self.domain_sid
        out = [
            (
                BASE,
                [
                    ("objectClass", "top"),
                    ("objectClass", "domain"),
                    ("objectClass", "domainDNS"),
                    ("objectSid", sid_bytes(d)),
                    ("msDS-Behavior-Version", "7"),
                ],
            ),
            (
                f"CN={NETBIOS},CN=Partitions,CN=Configuration,{BASE}",
                [("objectClass", "top"), ("objectClass", "crossRef"), ("nETBIOSName", NETBIOS), ("nCName", BASE), ("dnsRoot", DNS)],
            ),
            (
                f"CN={DC_NAME},OU=Domain Controllers,{BASE}",
                [
                    ("objectClass", "computer"),
                    ("sAMAccountName", f"{DC_NAME}$"),
                    ("userAccountControl", str(SERVER_TRUST_ACCOUNT | TRUSTED_FOR_DELEGATION)),
                    ("dNSHostName", fqdn(DC_NAME)),
                    ("operatingSystem", OS["2022"][0]),
                    ("operatingSystemVersion", OS["2022"][1]),
                    ("servicePrincipalName", f"ldap/{fqdn(DC_NAME)}"),
                    ("servicePrincipalName", f"HOST/{fqdn(DC_NAME)}"),
                    ("servicePrincipalName", f"HOST/{DC_NAME}"),
                    ("primaryGroupID", "516"),
                    ("objectSid", sid_bytes(f"{d}-1000")),
                ],
            ),
            (
                f"CN=Administrator,{USERS_CN}",
                [
                    ("objectClass", "user"),
                    ("sAMAccountName", "Administrator"),
                    ("userAccountControl", str(NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD)),
                    ("adminCount", "1"),
                    ("primaryGroupID", "513"),
                    ("objectSid", sid_bytes(f"{d}-500")),
                ],
            ),
        ]
        builtin = {
            f"CN=Domain Admins,{USERS_CN}": f"{d}-512",
            f"CN=Domain Users,{USERS_CN}": f"{d}-513",
            f"CN=Domain Computers,{USERS_CN}": f"{d}-515",
            f"CN=Domain Controllers,{USERS_CN}": f"{d}-516",
            f"CN=Protected Users,{USERS_CN}": f"{d}-525",
            f"CN=Administrators,{BUILTIN_CN}": "S-1-5-32-544",
            f"CN=Account Operators,{BUILTIN_CN}": "S-1-5-32-548",
            f"CN=Server Operators,{BUILTIN_CN}": "S-1-5-32-549",
        }
        members = {sid: list(m) for sid, m in self.memberships.items()}
        members.setdefault(f"{d}-512", []).insert(0, f"CN=Administrator,{USERS_CN}")
        members.setdefault("S-1-5-32-544", []).extend([f"CN=Domain Admins,{USERS_CN}", f"CN=Administrator,{USERS_CN}"])
        groups = []
        for dn, sid in builtin.items():
            attrs = [("objectClass", "top"), ("objectClass", "group"), ("sAMAccountName", dn.split(",")[0][3:])]
            attrs += [("objectSid", sid_bytes(sid))]
            attrs += [("member", m) for m in members.get(sid, [])]
            groups.append((dn, attrs))
        return out, groups

    def write_ldif(self, path, entries):
        with open(path, "w", encoding="utf-8") as f:
            for dn, attrs in entries:
                f.write(attr("dn", dn) + "\n")
                for k, v in attrs:
                    f.write(attr(k, v) + "\n")
                f.write("\n")

    def write_memberships(self, path):
        with open(path, "w", encoding="utf-8") as f:
            for sid, members in self.memberships.items():
                f.write(f"dn: <SID={sid}>\nchangetype: modify\nadd: member\n")
                for m in members:
                    f.write(attr("member", m) + "\n")
                f.write("-\n\n")

    def write_config(self, path):
        lines = [
            "# hvaudit configuration for the generated benchmark domain (bench/gen_bench_ldif.py).",
            'lm_operators = ["svc-hvlm"]',
            "",
        ]
        for name, ou, storage, _ in self.groups:
            lines += ["[[group]]", f'name = "{name}"', f'ou = "{ou}"']
            if storage:
                lines.append("storage = [" + ", ".join(f'"{s}"' for s in storage) + "]")
            lines.append("")
        for name, _, _, cluster in self.groups:
            if cluster:
                lines += ["[[cluster]]", f'name = "CL-{name}"', "members = [" + ", ".join(f'"{m}"' for m in cluster) + "]", ""]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))

    def write_inventory(self, path):
        """What Get-HvAuditInventory.ps1 would report: mostly Kerberos, a few CredSSP (some
        with Credential Guard), a few with migration off, a few booted long ago."""
        rng = random.Random(self.args.seed + 1)
        cols = [
            "ComputerName",
            "VirtualMachineMigrationEnabled",
            "VirtualMachineMigrationAuthenticationType",
            "CredentialGuardRunning",
            "LastBootUpTime",
            "ClusterName",
        ]
        rows = [",".join(f'"{c}"' for c in cols)]
        for h in self.hosts:
            enabled = "False" if rng.random() < 0.01 else "True"
            auth = "CredSSP" if rng.random() < 0.04 else "Kerberos"
            cg = "True" if h["os"] == "2025" or rng.random() < 0.02 else "False"
            boot = "2020-01-05T03:00:00Z" if rng.random() < 0.01 else ""
            cluster = h["cluster"] or ""
            rows.append(",".join(f'"{v}"' for v in (h["name"], enabled, auth, cg, boot, cluster)))
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write("\r\n".join(rows) + "\r\n")

    def write_stats(self, path):
        with open(path, "w", encoding="utf-8") as f:
            for k in sorted(self.stats):
                f.write(f"{k}\t{self.stats[k]}\n")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["samba", "export"])
    p.add_argument("out", help="samba: output directory; export: the LDIF file (config etc. beside it)")
    p.add_argument("--computers", type=int, default=20000)
    p.add_argument("--hosts", type=int, help="Hyper-V hosts (default: a tenth of --computers)")
    p.add_argument("--users", type=int, help="users (default: a quarter of --computers)")
    p.add_argument("--domain-sid", help="samba: the DC's domain SID (group changes name groups by SID)")
    p.add_argument("--seed", type=int, default=5)
    a = p.parse_args(argv[1:])
    a.hosts = a.hosts if a.hosts is not None else a.computers // 10
    a.users = a.users if a.users is not None else max(a.computers // 4, 1700)
    if a.mode == "samba" and not a.domain_sid:
        sys.exit("gen_bench_ldif.py: samba mode needs --domain-sid")
    if a.hosts < GROUP_SIZE or a.hosts > a.computers // 2:
        sys.exit("gen_bench_ldif.py: --hosts must be between 16 and half of --computers")

    d = Domain(a, a.mode)
    d.build()
    if a.mode == "samba":
        os.makedirs(a.out, exist_ok=True)
        d.write_ldif(os.path.join(a.out, "10-objects.ldif"), d.entries)
        d.write_memberships(os.path.join(a.out, "20-memberships.ldif"))
        side = a.out
    else:
        prelude, builtins = d.export_prelude()
        side = os.path.dirname(os.path.abspath(a.out))
        os.makedirs(side, exist_ok=True)
        d.write_ldif(a.out, prelude + d.entries + builtins)
    d.write_config(os.path.join(side, "hvaudit.toml"))
    d.write_inventory(os.path.join(side, "hosts.csv"))
    d.write_stats(os.path.join(side, "stats.tsv"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
