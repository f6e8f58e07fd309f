#!/usr/bin/env python3
"""Generate the example directory export (corp.ldif) and host inventory (hosts.csv).

The example is the domain corp.example as `ldapsearch -LLL` would print it: a dozen Hyper-V hosts
in two migration groups with the real-world defects listed in examples/README.md, two DCs, a
file server, admins with and without protection. Everything is derived from fixed data and a
fixed seed, so re-running the script reproduces the committed files byte for byte.

    python3 examples/gen_example.py           # writes examples/corp.ldif and examples/hosts.csv
    python3 examples/gen_example.py --check   # re-reads both files and checks the planted facts

Standard library only.
"""

import argparse
import base64
import random
import struct
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
LDIF_PATH = HERE / "corp.ldif"
CSV_PATH = HERE / "hosts.csv"

DOMAIN_DN = "DC=corp,DC=example"
DNS = "corp.example"
NETBIOS = "CORP"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"
SCHEMA = "CN=Schema,CN=Configuration," + DOMAIN_DN

PROD_OU = "OU=Prod,OU=HyperV," + DOMAIN_DN
LAB_OU = "OU=Lab,OU=HyperV," + DOMAIN_DN
SERVERS_OU = "OU=Servers," + DOMAIN_DN
DC_OU = "OU=Domain Controllers," + DOMAIN_DN
T0_ACCOUNTS = "OU=Accounts,OU=Tier0," + DOMAIN_DN
T0_GROUPS = "OU=Groups,OU=Tier0," + DOMAIN_DN
SVC_OU = "OU=Service Accounts," + DOMAIN_DN
STAFF_OU = "OU=Staff," + DOMAIN_DN
USERS_CN = "CN=Users," + DOMAIN_DN
BUILTIN_CN = "CN=Builtin," + DOMAIN_DN
MSA_CN = "CN=Managed Service Accounts," + DOMAIN_DN
COMPUTERS_CN = "CN=Computers," + DOMAIN_DN
FSP_CN = "CN=ForeignSecurityPrincipals," + DOMAIN_DN

UTC = timezone.utc
CET = timezone(timedelta(hours=1))
RNG = random.Random(20261118)

# userAccountControl bits (MS-ADTS 2.2.16)
ACCOUNTDISABLE = 0x2
NORMAL_ACCOUNT = 0x200
WORKSTATION_TRUST_ACCOUNT = 0x1000
SERVER_TRUST_ACCOUNT = 0x2000
DONT_EXPIRE_PASSWORD = 0x10000
TRUSTED_FOR_DELEGATION = 0x80000
NOT_DELEGATED = 0x100000
TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000

# Attribute ids under AD's fixed prefix map (prefix index << 16 | last OID arc).
ATTID = {
    "objectClass": 0x00000000,
    "cn": 0x00000003,
    "instanceType": 0x00020001,
    "whenCreated": 0x00020002,
    "nTSecurityDescriptor": 0x00020119,
    "name": 0x00090001,
    "userAccountControl": 0x00090008,
    "unicodePwd": 0x0009005A,
    "pwdLastSet": 0x00090060,
    "primaryGroupID": 0x00090062,
    "objectSid": 0x00090092,
    "operatingSystem": 0x0009016B,
    "operatingSystemVersion": 0x0009016C,
    "sAMAccountName": 0x000900DD,
    "dNSHostName": 0x0009026B,
    "servicePrincipalName": 0x00090303,
    "objectCategory": 0x0009030E,
    "lastLogonTimestamp": 0x000906A0,
    "msDS-AllowedToDelegateTo": 0x000906FB,
    "msDS-SupportedEncryptionTypes": 0x000907AB,
    "msDS-AllowedToActOnBehalfOfOtherIdentity": 0x00090886,
}

MIG = "Microsoft Virtual System Migration Service"
CONSOLE = "Microsoft Virtual Console Service"
REPLICA = "Hyper-V Replica Service"

OS_NAMES = {
    "6.3 (9600)": "Windows Server 2012 R2 Datacenter",
    "10.0 (14393)": "Windows Server 2016 Datacenter",
    "10.0 (17763)": "Windows Server 2019 Datacenter",
    "10.0 (20348)": "Windows Server 2022 Datacenter",
    "10.0 (26100)": "Windows Server 2025 Datacenter",
}

# Invocation ids of the two DCs: originating writes in replPropertyMetaData name one of them.
DC01_INVOCATION = uuid.UUID("6b1e3d2a-0f4c-4f7e-9a51-2d8c7e4b1a01")
DC02_INVOCATION = uuid.UUID("a9c45f10-7d3b-4e62-8c0a-5f1e9b3d2c02")


# ---------------------------------------------------------------------------------------------
# Encoders


def t(s):
    """'2026-09-08 09:14:22' (UTC) -> aware datetime."""
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def gentime(d):
    return d.astimezone(UTC).strftime("%Y%m%d%H%M%S.0Z")


EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)


def filetime(d):
    """100-ns intervals since 1601 (pwdLastSet, lastLogonTimestamp)."""
    delta = d - EPOCH_1601
    return (delta.days * 86400 + delta.seconds) * 10_000_000


def dstime(d):
    """Seconds since 1601 (DSTIME in replPropertyMetaData)."""
    delta = d - EPOCH_1601
    return delta.days * 86400 + delta.seconds


def sid_bytes(s):
    parts = s.split("-")
    assert parts[0] == "S" and parts[1] == "1", s
    auth = int(parts[2])
    subs = [int(p) for p in parts[3:]]
    return bytes([1, len(subs)]) + auth.to_bytes(6, "big") + b"".join(
        struct.pack("<I", x) for x in subs
    )


def dom_sid(rid):
    return "%s-%d" % (DOMAIN_SID, rid)


def guid():
    return uuid.UUID(int=RNG.getrandbits(128), version=4)


def security_descriptor(owner_sid, allowed):
    """Self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6): owner, no group, no SACL, a DACL of
    ACCESS_ALLOWED ACEs with mask 0x000F01FF, as Set-ADComputer -PrincipalsAllowedToDelegate...
    writes it."""
    aces = b""
    for s in allowed:
        sb = sid_bytes(s)
        # ACE header: type 0 (ACCESS_ALLOWED), flags 0, size; then the mask and the SID.
        aces += struct.pack("<BBHI", 0, 0, 8 + len(sb), 0x000F01FF) + sb
    dacl = struct.pack("<BBHHH", 2, 0, 8 + len(aces), len(allowed), 0) + aces
    owner = sid_bytes(owner_sid)
    header_len = 20
    owner_off = header_len
    dacl_off = owner_off + len(owner)
    # SE_SELF_RELATIVE (0x8000) | SE_DACL_PRESENT (0x0004)
    header = struct.pack("<BBHIIII", 1, 0, 0x8004, owner_off, 0, 0, dacl_off)
    return header + owner + dacl


class Usn:
    def __init__(self):
        self.n = 12000

    def next(self):
        self.n += RNG.randint(3, 40)
        return self.n


USN = Usn()


def repl_metadata(changes):
    """REPL_PROPERTY_META_DATA_BLOB version 1 (MS-DRSR 5.160): u32 version, u32 reserved,
    u32 count, u32 padding, then 48-byte entries sorted by attid."""
    entries = []
    for name, (when, version, invocation) in sorted(changes.items(), key=lambda kv: ATTID[kv[0]]):
        usn = USN.next()
        entries.append(
            struct.pack("<IIq", ATTID[name], version, dstime(when))
            + invocation.bytes_le
            + struct.pack("<qq", usn, usn)
        )
    return struct.pack("<IIII", 1, 0, len(entries), 0) + b"".join(entries)


# ---------------------------------------------------------------------------------------------
# LDIF writer: OpenLDAP ldif_sput_wrap behaviour (76 columns, base64 when not plain ASCII)


WRAP = 76


def ldif_needs_b64(v):
    if not v:
        return False
    first, last = v[0], v[-1]
    if not (0x21 <= first <= 0x7E) or first in (ord(":"), ord("<")):
        return True
    if not (0x21 <= last <= 0x7E):
        return True
    return any(not (0x20 <= b <= 0x7E) for b in v)


def fold(line):
    out = []
    cur = ""
    for ch in line:
        if len(cur) >= WRAP:
            out.append(cur)
            cur = " "
        cur += ch
    out.append(cur)
    return "\n".join(out)


def ldif_line(name, value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    if ldif_needs_b64(value):
        return fold("%s:: %s" % (name, base64.b64encode(value).decode("ascii")))
    return fold("%s: %s" % (name, value.decode("ascii")))


# ---------------------------------------------------------------------------------------------
# The directory


class Entry:
    def __init__(self, dn):
        self.dn = dn
        self.attrs = []  # (name, value) in output order

    def add(self, name, *values):
        for v in values:
            if v is None:
                continue
            if isinstance(v, int):
                v = str(v)
            self.attrs.append((name, v))
        return self

    def render(self):
        lines = [ldif_line("dn", self.dn)]
        lines += [ldif_line(n, v) for n, v in self.attrs]
        return "\n".join(lines) + "\n"


def rdn_cn(dn):
    return dn.split(",", 1)[0].split("=", 1)[1]


ENTRIES = []
MEMBER_OF = {}  # member DN -> [group DNs], for memberOf back-links
CREATED_BASE = t("2024-03-04 10:00:00")


def base_entry(dn, classes, category, created, changed):
    e = Entry(dn)
    e.add("objectClass", *classes)
    if dn.startswith("CN="):
        e.add("cn", rdn_cn(dn))
    e.add("distinguishedName", dn)
    e.add("instanceType", 4)
    e.add("whenCreated", gentime(created))
    e.add("whenChanged", gentime(changed))
    e.add("uSNCreated", USN.next())
    e.add("uSNChanged", USN.next())
    e.add("name", rdn_cn(dn))
    e.add("objectGUID", guid().bytes_le)
    e.category = "CN=%s,%s" % (category, SCHEMA)
    e.created = created
    ENTRIES.append(e)
    return e


def container(dn, classes, category, description=None):
    e = base_entry(dn, classes, category, CREATED_BASE, CREATED_BASE)
    if description:
        e.add("description", description)
    e.add("objectCategory", e.category)
    return e


def ou(dn, description=None):
    e = Entry(dn)
    e.add("objectClass", "top", "organizationalUnit")
    e.add("ou", dn.split(",", 1)[0].split("=", 1)[1])
    if description:
        e.add("description", description)
    e.add("distinguishedName", dn)
    e.add("instanceType", 4)
    e.add("whenCreated", gentime(CREATED_BASE))
    e.add("whenChanged", gentime(CREATED_BASE))
    e.add("uSNCreated", USN.next())
    e.add("uSNChanged", USN.next())
    e.add("name", dn.split(",", 1)[0].split("=", 1)[1])
    e.add("objectGUID", guid().bytes_le)
    e.add("objectCategory", "CN=Organizational-Unit," + SCHEMA)
    ENTRIES.append(e)
    return e


USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
COMPUTER_CLASSES = USER_CLASSES + ["computer"]


def user(
    dn,
    sam,
    rid,
    uac,
    primary=513,
    admin_count=None,
    display=None,
    description=None,
    created=None,
    critical=False,
    spns=(),
    deleg=(),
    kind="user",
):
    created = created or CREATED_BASE + timedelta(days=RNG.randint(10, 400))
    changed = created + timedelta(days=RNG.randint(30, 300))
    if kind == "user":
        classes, category = USER_CLASSES, "Person"
    elif kind == "msa":
        classes, category = COMPUTER_CLASSES + ["msDS-ManagedServiceAccount"], (
            "ms-DS-Managed-Service-Account"
        )
    else:
        classes, category = COMPUTER_CLASSES + ["msDS-GroupManagedServiceAccount"], (
            "ms-DS-Group-Managed-Service-Account"
        )
    e = base_entry(dn, classes, category, created, changed)
    e.add("displayName", display)
    e.add("description", description)
    e.add("userAccountControl", uac)
    e.add("badPwdCount", 0)
    e.add("codePage", 0)
    e.add("countryCode", 0)
    e.add("pwdLastSet", filetime(created + timedelta(days=2)))
    e.add("primaryGroupID", primary)
    e.add("objectSid", sid_bytes(dom_sid(rid)))
    e.add("adminCount", admin_count)
    e.add("accountExpires", 9223372036854775807 if kind == "user" else 0)
    e.add("sAMAccountName", sam)
    e.add("sAMAccountType", 805306368 if kind == "user" else 805306369)
    if kind != "user":
        e.add("dNSHostName", "%s.%s" % (sam.rstrip("$"), DNS))
    e.add("servicePrincipalName", *spns)
    e.add("objectCategory", e.category)
    if critical:
        e.add("isCriticalSystemObject", "TRUE")
    e.add("msDS-AllowedToDelegateTo", *deleg)
    if kind == "gmsa":
        e.add("msDS-ManagedPasswordInterval", 30)
        e.add("msDS-SupportedEncryptionTypes", 28)
    e.sid = dom_sid(rid)
    e.sam = sam
    return e


GROUP_TYPES = {
    "global": (-2147483646, 268435456),
    "domainlocal": (-2147483644, 536870912),
    "universal": (-2147483640, 268435456),
    "builtin": (-2147483643, 536870912),
}


def group(dn, sid, kind, members=(), description=None, admin_count=None, critical=False):
    e = base_entry(dn, ["top", "group"], "Group", CREATED_BASE, CREATED_BASE + timedelta(days=90))
    e.add("description", description)
    e.add("member", *members)
    for m in members:
        MEMBER_OF.setdefault(m, []).append(dn)
    e.add("objectSid", sid_bytes(sid))
    e.add("sAMAccountName", rdn_cn(dn))
    group_type, sam_type = GROUP_TYPES[kind]
    e.add("sAMAccountType", sam_type)
    e.add("groupType", group_type)
    e.add("adminCount", admin_count)
    e.add("objectCategory", e.category)
    if critical:
        e.add("isCriticalSystemObject", "TRUE")
    e.sid = sid
    e.sam = rdn_cn(dn)
    return e


# ---------------------------------------------------------------------------------------------
# Hyper-V hosts and their delegation


class Host:
    def __init__(self, name, ou_dn, rid, version, pt=True, tfd=False):
        self.name = name
        self.fqdn = "%s.%s" % (name.lower(), DNS)
        self.dn = "CN=%s,%s" % (name, ou_dn)
        self.rid = rid
        self.version = version
        self.pt = pt
        self.tfd = tfd
        self.deleg = []
        self.rbcd = None
        self.mig_class = MIG
        self.console_class = CONSOLE
        self.hyperv_spns = True
        self.replica = False
        self.times = {}

    @property
    def uac(self):
        uac = WORKSTATION_TRUST_ACCOUNT
        if self.pt:
            uac |= TRUSTED_TO_AUTH_FOR_DELEGATION
        if self.tfd:
            uac |= TRUSTED_FOR_DELEGATION
        return uac


def mesh_values(peer, cifs_forms=("netbios", "fqdn"), mig_class=None):
    """The four values ADUC writes for a destination: migration service and cifs, both forms.
    The class is copied from the destination's own SPN, so it keeps that SPN's letter case."""
    cls = mig_class or peer.mig_class
    vals = ["%s/%s" % (cls, peer.name), "%s/%s" % (cls, peer.fqdn)]
    if "netbios" in cifs_forms:
        vals.append("cifs/%s" % peer.name)
    if "fqdn" in cifs_forms:
        vals.append("cifs/%s" % peer.fqdn)
    return vals


def build():
    # -- Hosts -----------------------------------------------------------------------------
    W22, W25, W19, W16, W12R2 = (
        "10.0 (20348)",
        "10.0 (26100)",
        "10.0 (17763)",
        "10.0 (14393)",
        "6.3 (9600)",
    )
    prod = [
        Host("HVP01", PROD_OU, 1200, W22),
        Host("HVP02", PROD_OU, 1201, W25),
        Host("HVP03", PROD_OU, 1202, W22),
        Host("HVP04", PROD_OU, 1203, W25),
        Host("HVP05", PROD_OU, 1204, W22),
        Host("HVP06", PROD_OU, 1205, W22),
    ]
    lab = [
        # HV001: "Trust this computer for delegation to any service" left on beside KCD.
        Host("HVL01", LAB_OU, 1206, W19, pt=True, tfd=True),
        # HV005: 2019 with "Kerberos only".
        Host("HVL02", LAB_OU, 1207, W19, pt=False),
        Host("HVL03", LAB_OU, 1208, W19),
        Host("HVL04", LAB_OU, 1209, W16),
        # HV006: protocol transition on 2012 R2.
        Host("HVL05", LAB_OU, 1210, W12R2, pt=True),
        Host("HVL06", LAB_OU, 1211, W19),
    ]
    P = {h.name: h for h in prod}
    L = {h.name: h for h in lab}
    for h in (P["HVP01"], P["HVP02"], P["HVP05"], P["HVP06"]):
        h.replica = True
    # Hyper-V registered its SPNs with the class in lower case on HVL02 (service-class trap):
    # peers' delegation values copied from it carry the same case.
    L["HVL02"].mig_class = MIG.lower()
    L["HVL02"].console_class = CONSOLE.lower()
    # HVL06: SPN registration failed (SCVMM KB 2961630); only the serviceConnectionPoint tells.
    L["HVL06"].hyperv_spns = False

    sofs = ["cifs/SOFS01", "cifs/sofs01.%s" % DNS]
    cluster = {"HVP05", "HVP06"}

    for h in prod:
        for peer in prod:
            if peer is h or (h.name in cluster and peer.name in cluster):
                continue
            if h.name == "HVP02" and peer.name == "HVP04":
                continue  # HV002 + HV003: HVP04 added to the group after HVP02 was configured
            if h.name == "HVP04" and peer.name == "HVP05":
                continue  # covered by HVP05's RBCD naming HV-Prod-Hosts: no finding
            if h.name == "HVP03" and peer.name == "HVP01":
                h.deleg += mesh_values(peer, cifs_forms=("netbios",))  # HV004
                continue
            h.deleg += mesh_values(peer)
        h.deleg += sofs
    P["HVP04"].deleg.append("MSSQLSvc/sql01.%s:1433" % DNS)  # HV007

    for h in lab:
        for peer in lab:
            if peer is h:
                continue
            if h.name == "HVL06":
                # HV013 (+ HV002 per peer): only cifs was delegated, never the migration service.
                h.deleg += ["cifs/%s" % peer.name, "cifs/%s" % peer.fqdn]
                continue
            h.deleg += mesh_values(peer)
    L["HVL03"].deleg.append("ldap/dc01.%s" % DNS)  # HV008
    L["HVL04"].deleg += [  # HV009: a retired host that no longer exists, and a disabled one
        "cifs/HVL99",
        "%s/hvl99.%s" % (MIG, DNS),
        "cifs/hvold01.%s" % DNS,
    ]

    # RBCD. HVP01: HVP02 (fine) and the user svc-deploy (HV010).
    P["HVP01"].rbcd = [dom_sid(1201), dom_sid(1113)]
    # HVP05: the group HV-Prod-Hosts (Prod hosts only): valid, no HV010.
    P["HVP05"].rbcd = [dom_sid(1122)]

    # Change times (UTC) of userAccountControl and msDS-AllowedToDelegateTo, and inventory
    # boot times. Only HVP06's delegation changed after its last boot (HV014).
    times = {
        # name: (uac changed, delegation changed, rbcd changed, last boot (CET))
        "HVP01": ("2026-09-08 09:14:22", "2026-09-08 09:16:03", "2026-10-02 14:21:40", "2026-11-11 06:12:00"),
        "HVP02": ("2026-09-08 09:18:51", "2026-09-08 09:20:37", None, "2026-11-11 06:14:00"),
        "HVP03": ("2026-09-08 09:23:10", "2026-09-15 16:02:44", None, "2026-11-11 06:31:00"),
        "HVP04": ("2026-10-21 11:05:19", "2026-10-21 11:09:58", None, "2026-11-11 06:45:00"),
        "HVP05": ("2026-09-08 09:27:45", "2026-10-21 11:12:30", "2026-10-21 11:15:02", "2026-11-12 05:58:00"),
        "HVP06": ("2026-09-08 09:30:02", "2026-11-16 15:47:11", None, "2026-11-12 06:20:00"),
        "HVL01": ("2026-10-06 13:40:09", "2026-09-22 10:02:31", None, "2026-11-13 07:05:00"),
        "HVL02": ("2025-11-14 08:30:00", "2026-09-22 10:06:12", None, None),
        "HVL03": ("2026-09-22 10:09:40", "2026-10-29 17:22:05", None, "2026-11-13 07:10:00"),
        "HVL04": ("2026-09-22 10:12:18", "2026-09-22 10:14:56", None, None),
        "HVL05": ("2026-09-22 10:17:33", "2026-09-22 10:19:02", None, "2026-11-13 07:20:00"),
        "HVL06": ("2026-09-29 15:01:47", "2026-09-29 15:03:26", None, "2026-11-13 07:25:00"),
    }
    for h in prod + lab:
        uac_t, deleg_t, rbcd_t, boot = times[h.name]
        h.times = {
            "uac": t(uac_t),
            "deleg": t(deleg_t),
            "rbcd": t(rbcd_t) if rbcd_t else None,
            # Boot times are written in local time (CET, +01:00) as the collector does.
            "boot": datetime.strptime(boot, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CET) if boot else None,
        }
    return prod, lab


def host_spns(h):
    spns = []
    if h.hyperv_spns:
        if h.replica:
            spns += ["%s/%s" % (REPLICA, h.fqdn), "%s/%s" % (REPLICA, h.name)]
        spns += [
            "%s/%s" % (h.mig_class, h.fqdn),
            "%s/%s" % (h.mig_class, h.name),
            "%s/%s" % (h.console_class, h.fqdn),
            "%s/%s" % (h.console_class, h.name),
        ]
    spns += [
        "WSMAN/%s" % h.fqdn,
        "WSMAN/%s" % h.name,
        "TERMSRV/%s" % h.fqdn,
        "TERMSRV/%s" % h.name,
        "RestrictedKrbHost/%s" % h.name,
        "HOST/%s" % h.name,
        "RestrictedKrbHost/%s" % h.fqdn,
        "HOST/%s" % h.fqdn,
    ]
    return spns


def computer(
    dn,
    sam,
    rid,
    uac,
    version=None,
    spns=None,
    deleg=(),
    primary=515,
    created=None,
    changes=None,
    rbcd=None,
    os_name=None,
    critical=False,
    dns=True,
):
    """A computer account. `changes` maps attribute -> (time, version, invocation) for
    replPropertyMetaData; whenChanged is the latest of them."""
    name = sam.rstrip("$")
    fqdn = "%s.%s" % (name.lower(), DNS)
    created = created or t("2025-02-17 09:00:00") + timedelta(hours=rid - 1100)
    inv = DC01_INVOCATION
    meta = {
        "objectClass": (created, 1, inv),
        "cn": (created, 1, inv),
        "instanceType": (created, 1, inv),
        "whenCreated": (created, 1, inv),
        "nTSecurityDescriptor": (created + timedelta(minutes=3), 2, inv),
        "name": (created, 1, inv),
        "userAccountControl": (created + timedelta(minutes=1), 2, inv),
        "unicodePwd": (t("2026-10-30 03:12:44") + timedelta(minutes=rid % 97), 9, inv),
        "pwdLastSet": (t("2026-10-30 03:12:44") + timedelta(minutes=rid % 97), 9, inv),
        "primaryGroupID": (created, 1, inv),
        "objectSid": (created, 1, inv),
        "sAMAccountName": (created, 1, inv),
        "objectCategory": (created, 1, inv),
        "lastLogonTimestamp": (t("2026-11-06 04:00:00") + timedelta(minutes=rid % 211), 6, DC02_INVOCATION),
    }
    if dns:
        meta["dNSHostName"] = (created + timedelta(minutes=5), 1, inv)
        meta["servicePrincipalName"] = (created + timedelta(minutes=5), 3, inv)
    if version:
        meta["operatingSystem"] = (created + timedelta(minutes=5), 1, inv)
        meta["operatingSystemVersion"] = (created + timedelta(minutes=5), 1, inv)
        meta["msDS-SupportedEncryptionTypes"] = (created + timedelta(minutes=5), 1, inv)
    meta.update(changes or {})
    changed = max(v[0] for v in meta.values())
    e = base_entry(dn, COMPUTER_CLASSES, "Computer", created, changed)
    e.add("userAccountControl", uac)
    e.add("badPwdCount", 0)
    e.add("codePage", 0)
    e.add("countryCode", 0)
    e.add("pwdLastSet", filetime(meta["pwdLastSet"][0]))
    e.add("primaryGroupID", primary)
    e.add("objectSid", sid_bytes(dom_sid(rid)))
    e.add("accountExpires", 9223372036854775807)
    e.add("sAMAccountName", sam)
    e.add("sAMAccountType", 805306369)
    e.add("operatingSystem", os_name or (OS_NAMES[version] if version else None))
    e.add("operatingSystemVersion", version)
    if dns:
        e.add("dNSHostName", fqdn)
    e.add("servicePrincipalName", *(spns or ["HOST/%s" % name, "HOST/%s" % fqdn]))
    e.add("objectCategory", e.category)
    if critical:
        e.add("isCriticalSystemObject", "TRUE")
    if version:
        e.add("msDS-SupportedEncryptionTypes", 28)
    e.add("msDS-AllowedToDelegateTo", *deleg)
    if rbcd is not None:
        e.add("msDS-AllowedToActOnBehalfOfOtherIdentity", security_descriptor("S-1-5-32-544", rbcd))
    e.add("lastLogonTimestamp", filetime(meta["lastLogonTimestamp"][0]))
    e.add("replPropertyMetaData", repl_metadata(meta))
    e.sid = dom_sid(rid)
    e.sam = sam
    return e


def scp(parent_dn, cn, keywords, created):
    dn = "CN=%s,%s" % (cn, parent_dn)
    e = base_entry(
        dn,
        ["top", "leaf", "connectionPoint", "serviceConnectionPoint"],
        "Service-Connection-Point",
        created,
        created,
    )
    e.add("keywords", *keywords)
    e.add("objectCategory", e.category)
    return e


def generate():
    prod, lab = build()
    hosts = prod + lab

    # -- Structure ---------------------------------------------------------------------------
    d = Entry(DOMAIN_DN)
    d.add("objectClass", "top", "domain", "domainDNS")
    d.add("distinguishedName", DOMAIN_DN)
    d.add("instanceType", 5)
    d.add("whenCreated", gentime(t("2024-03-04 09:12:51")))
    d.add("whenChanged", gentime(t("2026-11-16 02:11:09")))
    d.add("uSNCreated", 4099)
    d.add("uSNChanged", USN.next())
    d.add("name", "corp")
    d.add("objectGUID", guid().bytes_le)
    d.add("objectSid", sid_bytes(DOMAIN_SID))
    d.add("objectCategory", "CN=Domain-DNS," + SCHEMA)
    d.add("isCriticalSystemObject", "TRUE")
    d.add("fSMORoleOwner", "CN=NTDS Settings,CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration," + DOMAIN_DN)
    d.add("ms-DS-MachineAccountQuota", 10)
    d.add("msDS-Behavior-Version", 7)
    d.add("dc", "corp")
    ENTRIES.append(d)

    container(USERS_CN, ["top", "container"], "Container", "Default container for upgraded user accounts")
    container(COMPUTERS_CN, ["top", "container"], "Container", "Default container for upgraded computer accounts")
    container(BUILTIN_CN, ["top", "builtinDomain"], "Builtin-Domain")
    ENTRIES[-1].add("objectSid", sid_bytes("S-1-5-32"))
    container(FSP_CN, ["top", "container"], "Container", "Default container for security identifiers (SIDs) associated with objects from external, trusted domains")
    container(MSA_CN, ["top", "container"], "Container", "Default container for managed service accounts")
    ou(DC_OU, "Default container for domain controllers")
    ou("OU=Tier0," + DOMAIN_DN)
    ou(T0_ACCOUNTS)
    ou(T0_GROUPS)
    ou(SVC_OU)
    ou(STAFF_OU)
    ou(SERVERS_OU)
    ou("OU=HyperV," + DOMAIN_DN, "Hyper-V hosts; sub-OUs are live-migration groups")
    ou(PROD_OU, "Production hosts, cluster CLPROD1 and stand-alone")
    ou(LAB_OU)

    # -- Accounts ------------------------------------------------------------------------------
    n = NORMAL_ACCOUNT
    admin = user("CN=Administrator," + USERS_CN, "Administrator", 500, n | DONT_EXPIRE_PASSWORD,
                 admin_count=1, description="Built-in account for administering the computer/domain",
                 created=t("2024-03-04 09:12:51"), critical=True)
    guest = user("CN=Guest," + USERS_CN, "Guest", 501, n | DONT_EXPIRE_PASSWORD | ACCOUNTDISABLE | 0x20,
                 primary=514, description="Built-in account for guest access to the computer/domain",
                 created=t("2024-03-04 09:12:51"), critical=True)
    krbtgt = user("CN=krbtgt," + USERS_CN, "krbtgt", 502, n | ACCOUNTDISABLE, admin_count=1,
                  description="Key Distribution Center Service Account",
                  created=t("2024-03-04 09:13:40"), critical=True, spns=["kadmin/changepw"])
    alice = user("CN=Alice Admin,%s" % T0_ACCOUNTS, "alice.adm", 1105, n | NOT_DELEGATED, admin_count=1,
                 display="Alice Admin (T0)")
    bob = user("CN=Bob Admin,%s" % T0_ACCOUNTS, "bob.adm", 1106, n, admin_count=1, display="Bob Admin (T0)")
    carol = user("CN=Carol Ødegård,%s" % T0_ACCOUNTS, "carol.adm", 1107, n, admin_count=1,
                 display="Carol Ødegård (T0)")
    dan = user("CN=Dan Admin,%s" % T0_ACCOUNTS, "dan.adm", 1108, n | ACCOUNTDISABLE, admin_count=1,
               display="Dan Admin (T0, left 2026-06)")
    # primaryGroupID 512: not listed in Domain Admins' member, and SDProp never stamped adminCount.
    erin = user("CN=Erin Admin,%s" % T0_ACCOUNTS, "erin.adm", 1109, n, primary=512, display="Erin Admin (T0)")
    frank = user("CN=Frank Ops,%s" % T0_ACCOUNTS, "frank.ops", 1110, n, admin_count=1, display="Frank Ops")
    old = user("CN=Old Admin,%s" % T0_ACCOUNTS, "old.adm", 1111, n, admin_count=1,
               display="Old Admin", description="Left Domain Admins 2025-12; adminCount stays")
    svc_lm = user("CN=svc-lm,%s" % SVC_OU, "svc-lm", 1112, n | DONT_EXPIRE_PASSWORD | NOT_DELEGATED,
                  description="Starts live migrations from the management server")
    svc_deploy = user("CN=svc-deploy,%s" % SVC_OU, "svc-deploy", 1113, n | DONT_EXPIRE_PASSWORD,
                      description="Deployment pipeline")
    user("CN=Jürgen Doe,%s" % STAFF_OU, "jdoe", 1114, n, display="Jürgen Doe")
    user("CN=Márta Smith,%s" % STAFF_OU, "msmith", 1115, n, display="Márta Smith",
         description=" Finance – contractor")
    user("CN=gmsa-backup," + MSA_CN, "gmsa-backup$", 1116, WORKSTATION_TRUST_ACCOUNT, primary=515,
         kind="gmsa", spns=["backup/fs01.%s" % DNS], deleg=["cifs/fs01.%s" % DNS, "cifs/FS01"])
    user("CN=msa-sql," + MSA_CN, "msa-sql$", 1117, WORKSTATION_TRUST_ACCOUNT, primary=515, kind="msa",
         spns=["MSSQLSvc/sql01.%s:1433" % DNS, "MSSQLSvc/sql01.%s" % DNS])

    # -- Computers -------------------------------------------------------------------------
    dcs = []
    for i, (name, rid) in enumerate((("DC01", 1000), ("DC02", 1104))):
        fqdn = "%s.%s" % (name.lower(), DNS)
        ntds_guid = uuid.UUID(int=RNG.getrandbits(128), version=4)
        spns = [
            "Dfsr-12F9A27C-BF97-4787-9364-D31B6C55EB04/%s" % fqdn,
            "ldap/%s/ForestDnsZones.%s" % (fqdn, DNS),
            "ldap/%s/DomainDnsZones.%s" % (fqdn, DNS),
            "DNS/%s" % fqdn,
            "GC/%s/%s" % (fqdn, DNS),
            "RestrictedKrbHost/%s" % fqdn,
            "RestrictedKrbHost/%s" % name,
            "RPC/%s._msdcs.%s" % (ntds_guid, DNS),
            "HOST/%s/%s" % (name, NETBIOS),
            "HOST/%s/%s" % (fqdn, NETBIOS),
            "HOST/%s" % name,
            "HOST/%s" % fqdn,
            "HOST/%s/%s" % (fqdn, DNS),
            "E3514235-4B06-11D1-AB04-00C04FC2DCD2/%s/%s" % (ntds_guid, DNS),
            "ldap/%s/%s" % (name, NETBIOS),
            "ldap/%s._msdcs.%s" % (ntds_guid, DNS),
            "ldap/%s/%s" % (fqdn, NETBIOS),
            "ldap/%s" % name,
            "ldap/%s" % fqdn,
            "ldap/%s/%s" % (fqdn, DNS),
        ]
        dcs.append(computer("CN=%s,%s" % (name, DC_OU), name + "$", rid,
                            SERVER_TRUST_ACCOUNT | TRUSTED_FOR_DELEGATION, "10.0 (20348)", spns,
                            primary=516, created=t("2024-03-04 09:12:51") + timedelta(days=i * 2),
                            os_name="Windows Server 2022 Standard", critical=True))

    fs = []
    for name, rid in (("FS01", 1150), ("FS02", 1151)):
        fqdn = "%s.%s" % (name.lower(), DNS)
        fs.append(computer("CN=%s,%s" % (name, SERVERS_OU), name + "$", rid, WORKSTATION_TRUST_ACCOUNT,
                           "10.0 (20348)", ["MSServerClusterMgmtAPI/%s" % fqdn, "MSServerClusterMgmtAPI/%s" % name,
                                            "HOST/%s" % name, "HOST/%s" % fqdn,
                                            "RestrictedKrbHost/%s" % name, "RestrictedKrbHost/%s" % fqdn]))
    # Scale-Out File Server role: a virtual computer object (no OS attributes), created by the
    # file-server cluster.
    sofs01 = computer("CN=SOFS01,%s" % SERVERS_OU, "SOFS01$", 1152, WORKSTATION_TRUST_ACCOUNT, None,
                      ["HOST/SOFS01", "HOST/sofs01.%s" % DNS], created=t("2025-03-03 14:20:00"))
    sofs01.add("description", "Scale-Out File Server for CLPROD1 (nodes FS01, FS02)")
    # A Hyper-V guest: its serviceConnectionPoint is "Windows Virtual Machine", not a host.
    sql01 = computer("CN=SQL01,%s" % SERVERS_OU, "SQL01$", 1153, WORKSTATION_TRUST_ACCOUNT, "10.0 (20348)",
                     ["MSSQLSvc/sql01.%s:1433" % DNS, "MSSQLSvc/sql01.%s" % DNS, "HOST/SQL01",
                      "HOST/sql01.%s" % DNS, "RestrictedKrbHost/SQL01", "RestrictedKrbHost/sql01.%s" % DNS],
                     os_name="Windows Server 2022 Standard")
    hvold = computer("CN=HVOLD01,%s" % COMPUTERS_CN, "HVOLD01$", 1154, WORKSTATION_TRUST_ACCOUNT | ACCOUNTDISABLE,
                     "10.0 (14393)", ["HOST/HVOLD01", "HOST/hvold01.%s" % DNS],
                     created=t("2024-05-06 11:00:00"),
                     changes={"userAccountControl": (t("2026-06-30 16:44:10"), 4, DC01_INVOCATION)})
    hvold.add("description", "Retired Hyper-V host, disabled 2026-06-30")
    clprod = computer("CN=CLPROD1,OU=HyperV,%s" % DOMAIN_DN, "CLPROD1$", 1155, WORKSTATION_TRUST_ACCOUNT, None,
                      ["MSClusterVirtualServer/CLPROD1", "MSClusterVirtualServer/clprod1.%s" % DNS,
                       "MSServerClusterMgmtAPI/CLPROD1", "MSServerClusterMgmtAPI/clprod1.%s" % DNS,
                       "HOST/CLPROD1", "HOST/clprod1.%s" % DNS],
                      created=t("2025-03-03 13:55:00"))
    clprod.add("description", "Failover cluster virtual network name account")

    host_entries = {}
    for h in hosts:
        inv = DC01_INVOCATION if h.name.startswith("HVP") else DC02_INVOCATION
        changes = {
            "userAccountControl": (h.times["uac"], 3, inv),
            "msDS-AllowedToDelegateTo": (h.times["deleg"], 1 + RNG.randint(1, 6), inv),
        }
        if h.rbcd:
            changes["msDS-AllowedToActOnBehalfOfOtherIdentity"] = (h.times["rbcd"], 1, inv)
        created = t("2025-01-20 09:00:00") + timedelta(days=h.rid - 1200, hours=h.rid % 7)
        if h.name == "HVL05":
            created = t("2024-04-02 10:00:00")
        host_entries[h.name] = computer(
            h.dn, h.name + "$", h.rid, h.uac, h.version, host_spns(h), h.deleg, created=created,
            changes=changes, rbcd=h.rbcd,
        )
    for h in hosts:
        scp(h.dn, "Microsoft Hyper-V", ["Microsoft Hyper-V", "Virtualization Host"],
            host_entries[h.name].created + timedelta(hours=2))
    scp(sql01.dn, "Windows Virtual Machine", ["Windows Virtual Machine"], t("2025-03-10 08:00:00"))

    # -- Groups ----------------------------------------------------------------------------
    group_dn = lambda cn: "CN=%s,%s" % (cn, USERS_CN)  # noqa: E731
    t0_ops = "CN=Tier0-Ops,%s" % T0_GROUPS
    t0_admins = "CN=Tier0-Admins,%s" % T0_GROUPS
    fsp_dn = "CN=S-1-5-21-1-2-3-1104,%s" % FSP_CN
    group(group_dn("Domain Admins"), dom_sid(512), "global",
          [admin.dn, alice.dn, bob.dn, dan.dn, t0_admins], "Designated administrators of the domain",
          admin_count=1, critical=True)
    group(group_dn("Domain Users"), dom_sid(513), "global", [], "All domain users", critical=True)
    group(group_dn("Domain Guests"), dom_sid(514), "global", [], "All domain guests", critical=True)
    group(group_dn("Domain Computers"), dom_sid(515), "global", [], "All workstations and servers joined to the domain", critical=True)
    group(group_dn("Domain Controllers"), dom_sid(516), "global", [], "All domain controllers in the domain",
          admin_count=1, critical=True)
    group(group_dn("Schema Admins"), dom_sid(518), "universal", [admin.dn],
          "Designated administrators of the schema", admin_count=1, critical=True)
    group(group_dn("Enterprise Admins"), dom_sid(519), "universal", [admin.dn, carol.dn],
          "Designated administrators of the enterprise", admin_count=1, critical=True)
    group(group_dn("Group Policy Creator Owners"), dom_sid(520), "global", [admin.dn],
          "Members in this group can modify group policy for the domain", critical=True)
    group(group_dn("Protected Users"), dom_sid(525), "global", [carol.dn],
          "Members of this group are afforded additional protections against authentication security threats.",
          critical=True)
    group(group_dn("Key Admins"), dom_sid(526), "global", [],
          "Members of this group can perform administrative actions on key objects within the domain.", critical=True)
    group(group_dn("Enterprise Key Admins"), dom_sid(527), "universal", [],
          "Members of this group can perform administrative actions on key objects within the forest.", critical=True)
    b = lambda cn: "CN=%s,%s" % (cn, BUILTIN_CN)  # noqa: E731
    group(b("Administrators"), "S-1-5-32-544", "builtin",
          [admin.dn, group_dn("Domain Admins"), group_dn("Enterprise Admins"), fsp_dn],
          "Administrators have complete and unrestricted access to the computer/domain",
          admin_count=1, critical=True)
    group(b("Account Operators"), "S-1-5-32-548", "builtin", [], "Members can administer domain user and group accounts",
          admin_count=1, critical=True)
    group(b("Server Operators"), "S-1-5-32-549", "builtin", [], "Members can administer domain servers",
          admin_count=1, critical=True)
    group(b("Print Operators"), "S-1-5-32-550", "builtin", [], "Members can administer printers installed on domain controllers",
          admin_count=1, critical=True)
    group(b("Backup Operators"), "S-1-5-32-551", "builtin", [],
          "Backup Operators can override security restrictions for the sole purpose of backing up or restoring files",
          admin_count=1, critical=True)
    group(b("Hyper-V Administrators"), "S-1-5-32-578", "builtin", [],
          "Members of this group have complete and unrestricted access to all features of Hyper-V.", critical=True)
    group(t0_admins, dom_sid(1120), "global", [t0_ops], "Tier 0 administrators (nested in Domain Admins)",
          admin_count=1)
    group(t0_ops, dom_sid(1121), "global", [frank.dn], "Tier 0 operations staff", admin_count=1)
    group("CN=HV-Prod-Hosts,OU=HyperV,%s" % DOMAIN_DN, dom_sid(1122), "global",
          [h.dn for h in prod if h.name != "HVP05"], "Prod Hyper-V hosts allowed to delegate to HVP05 (RBCD)")
    group("CN=HV-Operators,OU=HyperV,%s" % DOMAIN_DN, dom_sid(1123), "global", [svc_lm.dn],
          "Live-migration operators (local Hyper-V Administrators on every host)")

    fsp = base_entry(fsp_dn, ["top", "foreignSecurityPrincipal"], "Foreign-Security-Principal",
                     t("2025-06-12 15:30:00"), t("2025-06-12 15:30:00"))
    fsp.add("objectSid", sid_bytes("S-1-5-21-1-2-3-1104"))
    fsp.add("objectCategory", fsp.category)

    # memberOf back-links, as the DC computes them (primary group not included).
    for e in ENTRIES:
        groups = MEMBER_OF.get(e.dn)
        if groups:
            insert_at = next(i for i, (n, _) in enumerate(e.attrs) if n == "name")
            for g in reversed(groups):
                e.attrs.insert(insert_at, ("memberOf", g))

    # The domain's crossRef, as an export that also read CN=Partitions gives it: NetBIOS name.
    cr = Entry("CN=%s,CN=Partitions,CN=Configuration,%s" % (NETBIOS, DOMAIN_DN))
    cr.add("objectClass", "top", "crossRef")
    cr.add("cn", NETBIOS)
    cr.add("distinguishedName", cr.dn)
    cr.add("instanceType", 4)
    cr.add("whenCreated", gentime(t("2024-03-04 09:12:51")))
    cr.add("whenChanged", gentime(t("2024-03-04 09:12:51")))
    cr.add("name", NETBIOS)
    cr.add("objectGUID", guid().bytes_le)
    cr.add("systemFlags", 3)
    cr.add("nCName", DOMAIN_DN)
    cr.add("dnsRoot", DNS)
    cr.add("nETBIOSName", NETBIOS)
    cr.add("objectCategory", "CN=Cross-Ref," + SCHEMA)
    ENTRIES.append(cr)

    # Objects come back in the order they were created (parents first); SCP children follow
    # their hosts; the crossRef sits at the end.
    return hosts


def render_ldif():
    return "".join(e.render() + "\n" for e in ENTRIES)


def render_csv(hosts):
    """Export-Csv -NoTypeInformation -Encoding UTF8 (Windows PowerShell 5.1): BOM, every field
    quoted, CRLF, $null written as an empty quoted field."""
    cols = [
        "ComputerName", "VirtualMachineMigrationEnabled", "VirtualMachineMigrationAuthenticationType",
        "VirtualMachineMigrationPerformanceOption", "UseAnyNetworkForMigration",
        "MaximumVirtualMachineMigrations", "CredentialGuardRunning", "LastBootUpTime", "ClusterName", "Error",
    ]
    H = {h.name: h for h in hosts}
    winrm = (
        "Connecting to remote server hvl04.corp.example failed with the following error message : "
        "WinRM cannot complete the operation. Verify that the specified computer name is valid, that "
        "the computer is accessible over the network, and that a firewall exception for the WinRM "
        "service is enabled and allows access from this computer. By default, the WinRM firewall "
        "exception for public profiles limits access to remote computers within the same local subnet. "
        "For more information, see the about_Remote_Troubleshooting Help topic."
    )
    # name as listed by the admin, enabled, auth, perf, any net, max, credential guard, cluster
    rows = [
        ("HVP01", "True", "Kerberos", "SMB", "False", "2", "False", ""),
        ("HVP02", "True", "CredSSP", "SMB", "False", "2", "True", ""),  # HV011 + HV012
        ("HVP03", "True", "Kerberos", "SMB", "False", "2", "False", ""),
        ("HVP04", "True", "Kerberos", "SMB", "False", "2", "True", ""),  # CG with Kerberos: fine
        ("HVP05", "True", "Kerberos", "SMB", "False", "4", "False", "CLPROD1"),
        ("HVP06", "True", "Kerberos", "SMB", "False", "4", "False", "CLPROD1"),  # HV014
        ("hvl01.corp.example", "True", "Kerberos", "Compression", "True", "2", "False", ""),
        # HVL02 missing (HV015)
        ("hvl03.corp.example", "True", "CredSSP", "Compression", "True", "2", "False", ""),  # HV011
        ("hvl04.corp.example", None, None, None, None, None, None, None),  # unreachable: HV015, SC001
        # 2012 R2 has no Win32_DeviceGuard: Credential Guard unknown (empty).
        ("hvl05.corp.example", "False", "Kerberos", "Compression", "True", "2", "", ""),  # HV016
        ("hvl06.corp.example", "True", "Kerberos", "Compression", "True", "2", "False", ""),  # HV013
    ]
    out = [",".join('"%s"' % c for c in cols)]
    for r in rows:
        name = r[0]
        h = H[name.split(".")[0].upper()]
        if r[1] is None:
            values = [name, "", "", "", "", "", "", "", "", winrm]
        else:
            boot = h.times["boot"].strftime("%Y-%m-%dT%H:%M:%S.0000000+01:00")
            values = [name, r[1], r[2], r[3], r[4], r[5], r[6], boot, r[7], ""]
        out.append(",".join('"%s"' % v.replace('"', '""') for v in values))
    return "\ufeff" + "\r\n".join(out) + "\r\n"


# ---------------------------------------------------------------------------------------------
# --check: read the files back with an independent reader and check the planted facts


def read_ldif(text):
    if "\r" in text:
        raise ValueError("CR in an ldapsearch export")
    records, cur, lineno = [], None, 0
    logical = []  # (lineno, text) after unfolding
    for raw in text.split("\n"):
        lineno += 1
        if len(raw) > WRAP:
            raise ValueError("line %d longer than %d columns" % (lineno, WRAP))
        if raw.startswith(" "):
            if not logical or logical[-1][1] == "":
                raise ValueError("line %d: continuation without a line" % lineno)
            logical[-1] = (logical[-1][0], logical[-1][1] + raw[1:])
        else:
            logical.append((lineno, raw))
    for ln, line in logical:
        if line == "":
            if cur is not None:
                records.append(cur)
            cur = None
            continue
        if line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        if not sep:
            raise ValueError("line %d: no ':'" % ln)
        if rest.startswith(":"):
            value = base64.b64decode(rest[1:].strip(), validate=True)
        else:
            value = rest[1:].encode("ascii") if rest.startswith(" ") else rest.encode("ascii")
        if cur is None:
            if name != "dn":
                raise ValueError("line %d: record does not start with dn" % ln)
            cur = {"dn": value.decode("utf-8"), "attrs": {}, "line": ln}
        else:
            cur["attrs"].setdefault(name.lower(), []).append(value)
    if cur is not None:
        records.append(cur)
    return records


def parse_sid(b):
    if len(b) < 8 or b[0] != 1 or len(b) != 8 + 4 * b[1]:
        raise ValueError("bad SID %r" % b)
    auth = int.from_bytes(b[2:8], "big")
    subs = struct.unpack("<%dI" % b[1], b[8:])
    return "S-1-%d%s" % (auth, "".join("-%d" % s for s in subs))


def parse_metadata(b):
    version, _, count, _ = struct.unpack_from("<IIII", b, 0)
    if version != 1 or len(b) != 16 + 48 * count:
        raise ValueError("bad replPropertyMetaData")
    out = {}
    for i in range(count):
        attid, ver, secs = struct.unpack_from("<IIq", b, 16 + 48 * i)
        out[attid] = EPOCH_1601 + timedelta(seconds=secs)
    return out


def parse_sd(b):
    rev, _, control, owner, group_off, sacl, dacl = struct.unpack_from("<BBHIIII", b, 0)
    if rev != 1 or control != 0x8004 or dacl == 0:
        raise ValueError("bad security descriptor")
    parse_sid(b[owner:owner + 8 + 4 * b[owner + 1]])
    _, _, size, count, _ = struct.unpack_from("<BBHHH", b, dacl)
    off, sids = dacl + 8, []
    for _ in range(count):
        ace_type, _, ace_size, mask = struct.unpack_from("<BBHI", b, off)
        if ace_type != 0 or mask != 0x000F01FF:
            raise ValueError("unexpected ACE")
        sids.append(parse_sid(b[off + 8:off + ace_size]))
        off += ace_size
    if off != dacl + size:
        raise ValueError("DACL size mismatch")
    return sids


def read_csv(raw):
    if not raw.startswith(b"\xef\xbb\xbf"):
        raise ValueError("no UTF-8 BOM")
    text = raw[3:].decode("utf-8")
    lines = text.split("\r\n")
    if lines[-1] != "":
        raise ValueError("not CRLF-terminated")
    import csv

    rows = list(csv.reader(lines[:-1]))
    header = rows[0]
    return [dict(zip(header, r)) for r in rows[1:]]


def check():
    text = LDIF_PATH.read_text(encoding="utf-8")
    records = read_ldif(text)
    by_dn = {r["dn"].lower(): r for r in records}
    assert len(by_dn) == len(records), "duplicate DN"

    def first(r, a):
        v = r["attrs"].get(a.lower())
        return v[0].decode("utf-8") if v else None

    def classes(r):
        return [v.decode().lower() for v in r["attrs"].get("objectclass", [])]

    counts = {}
    sids = {}
    for r in records:
        cls = classes(r)
        kind = cls[-1]
        counts[kind] = counts.get(kind, 0) + 1
        for v in r["attrs"].get("objectsid", []):
            sids[r["dn"]] = parse_sid(v)
        for v in r["attrs"].get("replpropertymetadata", []):
            parse_metadata(v)
        for v in r["attrs"].get("msds-allowedtoactonbehalfofotheridentity", []):
            parse_sd(v)
        if "user" in cls or "group" in cls:
            assert r["dn"] in sids, "no objectSid: " + r["dn"]
            assert first(r, "sAMAccountName"), r["dn"]
        if "user" in cls:
            assert first(r, "userAccountControl") and first(r, "primaryGroupID"), r["dn"]
    sid_to_dn = {v: k for k, v in sids.items()}
    assert len(sid_to_dn) == len(sids), "duplicate SID"

    computers = [r for r in records if classes(r)[-1] == "computer"]
    hv = {}
    for r in computers:
        sam = first(r, "sAMAccountName").rstrip("$")
        spn_classes = {v.decode().split("/")[0].lower() for v in r["attrs"].get("serviceprincipalname", [])}
        has_scp = ("cn=microsoft hyper-v," + r["dn"].lower()) in by_dn
        if spn_classes & {MIG.lower(), CONSOLE.lower(), REPLICA.lower()} or has_scp:
            hv[sam] = r
    assert sorted(hv) == ["HVL0%d" % i for i in range(1, 7)] + ["HVP0%d" % i for i in range(1, 7)], sorted(hv)

    # Delegation gaps in each group (cluster pairs excepted, RBCD on the target honoured).
    groups = {"prod": [n for n in hv if n.startswith("HVP")], "lab": [n for n in hv if n.startswith("HVL")]}
    rbcd = {}
    for n, r in hv.items():
        for v in r["attrs"].get("msds-allowedtoactonbehalfofotheridentity", []):
            trustees = set()
            for s in parse_sd(v):
                t_rec = by_dn[sid_to_dn[s].lower()]
                members = [m.decode() for m in t_rec["attrs"].get("member", [])] or [t_rec["dn"]]
                trustees |= {first(by_dn[m.lower()], "sAMAccountName") for m in members}
            rbcd[n] = trustees
    assert rbcd == {"HVP01": {"HVP02$", "svc-deploy"}, "HVP05": {"HVP01$", "HVP02$", "HVP03$", "HVP04$", "HVP06$"}}, rbcd
    hv002, hv003, hv004 = [], [], []
    for g, members in groups.items():
        for a in members:
            vals = {v.decode().lower() for v in hv[a]["attrs"].get("msds-allowedtodelegateto", [])}
            for b_ in members:
                if a == b_ or {a, b_} == {"HVP05", "HVP06"} or (a + "$") in rbcd.get(b_, ()):
                    continue
                fq = b_.lower() + "." + DNS
                mig = {"%s/%s" % (MIG.lower(), b_.lower()), "%s/%s" % (MIG.lower(), fq)}
                cifs = {"cifs/" + b_.lower(), "cifs/" + fq}
                if not vals & mig:
                    hv002.append((a, b_))
                if not vals & cifs:
                    hv003.append((a, b_))
                if 0 < len(vals & cifs) < 2 or 0 < len(vals & mig) < 2:
                    hv004.append((a, b_))
    assert hv002 == [("HVP02", "HVP04")] + [("HVL06", "HVL0%d" % i) for i in range(1, 6)], hv002
    assert hv003 == [("HVP02", "HVP04")], hv003
    assert hv004 == [("HVP03", "HVP01")], hv004

    # Targets outside the mesh: resolve by dNSHostName or sAMAccountName without '$'.
    by_name = {}
    for r in computers:
        by_name[first(r, "sAMAccountName").rstrip("$").lower()] = r
        if first(r, "dNSHostName"):
            by_name[first(r, "dNSHostName").lower()] = r
    dc_names = {first(r, "sAMAccountName").rstrip("$") for r in computers
                if int(first(r, "userAccountControl")) & SERVER_TRUST_ACCOUNT}
    hv007, hv008, hv009 = [], [], []
    for n in sorted(hv):
        for v in hv[n]["attrs"].get("msds-allowedtodelegateto", []):
            spn = v.decode()
            cls, host = spn.split("/")[0].lower(), spn.split("/")[1].split(":")[0].lower()
            target = by_name.get(host)
            if target is None or int(first(target, "userAccountControl")) & ACCOUNTDISABLE:
                hv009.append((n, spn))
            elif cls in ("ldap", "gc", "krbtgt") or first(target, "sAMAccountName").rstrip("$") in dc_names:
                hv008.append((n, spn))
            elif cls not in (MIG.lower(), "cifs"):
                hv007.append((n, spn))
    assert hv007 == [("HVP04", "MSSQLSvc/sql01.corp.example:1433")], hv007
    assert hv008 == [("HVL03", "ldap/dc01.corp.example")], hv008
    assert hv009 == [("HVL04", "cifs/HVL99"), ("HVL04", MIG + "/hvl99.corp.example"),
                     ("HVL04", "cifs/hvold01.corp.example")], hv009

    # PA001 / PA002: effective members of the privileged groups, found by SID.
    privileged_sids = {"S-1-5-32-%d" % r for r in (544, 548, 549, 550, 551)} | {
        "%s-%d" % (DOMAIN_SID, r) for r in (512, 518, 519, 520, 526, 527)}
    rid_of = {dn.lower(): int(s.rsplit("-", 1)[1]) for dn, s in sids.items() if s.startswith(DOMAIN_SID + "-")}

    def effective(gdn, seen):
        out = set()
        g_rec = by_dn[gdn.lower()]
        grid = rid_of.get(gdn.lower())
        for r in records:
            if grid is not None and first(r, "primaryGroupID") == str(grid):
                out.add(r["dn"].lower())
        for m in g_rec["attrs"].get("member", []):
            mdn = m.decode("utf-8").lower()
            if "group" in classes(by_dn[mdn]):
                if mdn not in seen:
                    out |= effective(mdn, seen | {mdn})
            else:
                out.add(mdn)
        return out

    privileged = set()
    for dn, s in sids.items():
        if s in privileged_sids:
            privileged |= effective(dn, {dn.lower()})
    protected = effective(sid_to_dn[DOMAIN_SID + "-525"], set())
    pa001, pa002 = [], []
    for r in records:
        cls = classes(r)
        if "user" not in cls or "computer" in cls:
            continue
        u = int(first(r, "userAccountControl"))
        sam = first(r, "sAMAccountName")
        enabled = not u & ACCOUNTDISABLE
        is_priv = r["dn"].lower() in privileged or rid_of.get(r["dn"].lower()) == 500
        delegable = not u & NOT_DELEGATED and r["dn"].lower() not in protected
        if enabled and is_priv and delegable and sam != "krbtgt":
            pa001.append(sam)
        if enabled and not is_priv and delegable and first(r, "adminCount") == "1":
            pa002.append(sam)
    assert sorted(pa001) == ["Administrator", "bob.adm", "erin.adm", "frank.ops"], pa001
    assert pa002 == ["old.adm"], pa002
    svc_lm = next(r for r in records if first(r, "sAMAccountName") == "svc-lm")
    assert int(first(svc_lm, "userAccountControl")) & NOT_DELEGATED

    # UAC-based facts.
    def uac(n):
        return int(first(hv[n], "userAccountControl"))

    assert [n for n in sorted(hv) if uac(n) & TRUSTED_FOR_DELEGATION] == ["HVL01"]
    builds = {n: int(first(hv[n], "operatingSystemVersion").split("(")[1].rstrip(")")) for n in hv}
    assert [n for n in sorted(hv) if builds[n] >= 14393 and not uac(n) & TRUSTED_TO_AUTH_FOR_DELEGATION] == ["HVL02"]
    assert [n for n in sorted(hv) if builds[n] < 14393 and uac(n) & TRUSTED_TO_AUTH_FOR_DELEGATION] == ["HVL05"]

    # HV014: delegation or UAC changed after last boot, exactly one host.
    inv = read_csv(CSV_PATH.read_bytes())
    boots = {}
    for row in inv:
        name = row["ComputerName"].split(".")[0].upper()
        if row["LastBootUpTime"]:
            boots[name] = datetime.fromisoformat(row["LastBootUpTime"].replace(".0000000", ""))
    late = []
    for n, boot in sorted(boots.items()):
        meta = parse_metadata(hv[n]["attrs"]["replpropertymetadata"][0])
        changed = max(meta.get(0x906FB, EPOCH_1601), meta[0x90008])
        if changed > boot:
            late.append(n)
    assert late == ["HVP06"], late
    names = {r["ComputerName"].split(".")[0].upper() for r in inv}
    assert sorted(set(hv) - names) == ["HVL02"]
    assert [r["ComputerName"] for r in inv if r["Error"]] == ["hvl04.corp.example"]

    print("records: %d" % len(records))
    for k in sorted(counts):
        print("  %-36s %d" % (k, counts[k]))
    print("hyper-v hosts: %d, inventory rows: %d" % (len(hv), len(inv)))
    print("ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="re-read the files and verify them")
    args = ap.parse_args()
    if args.check:
        check()
        return 0
    hosts = generate()
    LDIF_PATH.write_text(render_ldif(), encoding="utf-8", newline="\n")
    CSV_PATH.write_bytes(render_csv(hosts).encode("utf-8"))
    print("wrote %s (%d entries) and %s" % (LDIF_PATH.name, len(ENTRIES), CSV_PATH.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
