#!/usr/bin/env python3
"""Write the hvaudit test directory's fixtures as LDIF files plus a delegation plan.

Stdlib only. Usage: gen_fixtures.py OUTDIR
The password for the named users is read from the environment variable
HVAUDIT_FIXTURE_PASSWORD, never from the command line (other processes can read argv).

Output (samba-dc.sh applies the files in name order, offline, while samba is stopped):
  00-ous.ldif                  organizational units                     (ldbadd)
  10-workstations-NN.ldif      1,100 plain computers, 500 per chunk     (ldbadd)
  20-bulk-users-NN.ldif        1,600 users bulk0001..bulk1600           (ldbadd)
  30-objects.ldif              named hosts, users, groups, SCP          (ldbadd)
  40-memberships.ldif          privileged group members                 (ldbmodify)
  50-primary-group.ldif        erin.pg's primaryGroupID = 512           (ldbmodify)
  delegation.tsv               samba-tool delegation calls, tab-separated
  90-rename.ldif               Domain Admins -> Domänen-Admins          (ldbmodify)
"""

import base64
import os
import sys

BASE = "DC=lab,DC=test"
FQDN_SUFFIX = "lab.test"
CHUNK = 500

WORKSTATIONS = f"OU=Workstations,{BASE}"
SERVERS = f"OU=Servers,{BASE}"
HYPERV = f"OU=HyperV,{SERVERS}"
USERS = f"CN=Users,{BASE}"
ADMINS = f"OU=Admins,{BASE}"
BULK = f"OU=Bulk,{BASE}"
GROUPS = f"OU=Groups,{BASE}"
DOMAIN_ADMINS = f"CN=Domain Admins,{USERS}"
PROTECTED_USERS = f"CN=Protected Users,{USERS}"

# userAccountControl bits (decimal in LDIF).
ACCOUNTDISABLE = 0x2
NORMAL_ACCOUNT = 0x200
WORKSTATION_TRUST_ACCOUNT = 0x1000
NOT_DELEGATED = 0x100000

N_WORKSTATIONS = 1100
N_BULK_USERS = 1600

CONSOLE = "Microsoft Virtual Console Service"
MIGRATION = "Microsoft Virtual System Migration Service"
REPLICA = "Hyper-V Replica Service"

WS2022 = ("Windows Server 2022 Datacenter", "10.0 (20348)")
WS2019 = ("Windows Server 2019 Datacenter", "10.0 (17763)")
WS2012R2 = ("Windows Server 2012 R2 Datacenter", "6.3 (9600)")

# name -> (OS, extra SPNs beyond HOST/); HVB03 carries no Hyper-V SPN: it is only
# recognisable by its serviceConnectionPoint child.
HOSTS = {
    "HVA01": (WS2022, "hyperv", [f"{REPLICA}/HVA01.{FQDN_SUFFIX}"]),
    "HVA02": (WS2022, "hyperv", []),
    "HVA03": (WS2022, "hyperv", []),
    "HVA04": (WS2022, "hyperv-lowercase", []),
    "HVB01": (WS2012R2, "hyperv", []),
    "HVB02": (WS2019, "hyperv", []),
    "HVB03": (WS2019, "none", []),
}


def fqdn(name):
    return f"{name}.{FQDN_SUFFIX}"


def attr(name, value):
    """One LDIF line; non-ASCII or unsafe values are base64-encoded as RFC 2849 requires."""
    raw = value.encode("utf-8")
    safe = (
        all(0x20 <= b < 0x7F for b in raw)
        and not value.startswith((" ", ":", "<"))
        and not value.endswith(" ")
    )
    if safe:
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(raw).decode('ascii')}"


def unicode_pwd(password):
    # AD takes the password quoted, UTF-16LE.
    return "unicodePwd:: " + base64.b64encode(f'"{password}"'.encode("utf-16-le")).decode("ascii")


def entry(dn, attrs):
    lines = [attr("dn", dn)]
    for name, value in attrs:
        lines.append(attr(name, value) if name != "unicodePwd" else value)
    return "\n".join(lines) + "\n"


def ou(dn):
    name = dn.split(",", 1)[0].split("=", 1)[1]
    return entry(dn, [("objectClass", "organizationalUnit"), ("ou", name)])


def computer(name, parent, os_name=None, os_version=None, spns=(), uac=WORKSTATION_TRUST_ACCOUNT):
    attrs = [
        ("objectClass", "computer"),
        ("cn", name),
        ("sAMAccountName", f"{name}$"),
        ("userAccountControl", str(uac)),
        ("dNSHostName", fqdn(name)),
    ]
    if os_name:
        attrs += [("operatingSystem", os_name), ("operatingSystemVersion", os_version)]
    attrs += [("servicePrincipalName", spn) for spn in spns]
    return entry(f"CN={name},{parent}", attrs)


def user(sam, parent, uac=NORMAL_ACCOUNT, password=None, extra=()):
    attrs = [
        ("objectClass", "user"),
        ("cn", sam),
        ("sAMAccountName", sam),
        ("userPrincipalName", f"{sam}@{FQDN_SUFFIX}"),
        ("userAccountControl", str(uac)),
    ]
    attrs += list(extra)
    if password is not None:
        attrs.append(("unicodePwd", unicode_pwd(password)))
    return entry(f"CN={sam},{parent}", attrs)


def group(name, parent, members=()):
    attrs = [("objectClass", "group"), ("cn", name), ("sAMAccountName", name)]
    attrs += [("member", m) for m in members]
    return entry(f"CN={name},{parent}", attrs)


def host_spns(name, kind, extra):
    spns = [f"HOST/{name}", f"HOST/{fqdn(name)}"]
    if kind == "hyperv":
        spns += [f"{CONSOLE}/{name}", f"{CONSOLE}/{fqdn(name)}"]
        spns += [f"{MIGRATION}/{name}", f"{MIGRATION}/{fqdn(name)}"]
    elif kind == "hyperv-lowercase":
        # An admin typed the class by hand: service classes compare case-insensitively.
        spns += [f"{CONSOLE}/{name}", f"{CONSOLE}/{fqdn(name)}"]
        spns += [f"{MIGRATION.lower()}/{name}", f"{MIGRATION}/{fqdn(name)}"]
    return spns + extra


def delegation_plan():
    """(command, account, argument) triples, in the order an admin would click them."""
    plan = []

    def to(src, dest, cifs_fqdn=True):
        plan.append(("add-service", f"{src}$", f"{MIGRATION}/{dest}"))
        plan.append(("add-service", f"{src}$", f"{MIGRATION}/{fqdn(dest)}"))
        plan.append(("add-service", f"{src}$", f"cifs/{dest}"))
        if cifs_fqdn:
            plan.append(("add-service", f"{src}$", f"cifs/{fqdn(dest)}"))

    # HVA01: full mesh, protocol transition ("use any authentication protocol").
    for d in ("HVA02", "HVA03", "HVA04"):
        to("HVA01", d)
    plan.append(("for-any-protocol", "HVA01$", "on"))
    # HVA02: HVA04 missing entirely.
    for d in ("HVA01", "HVA03"):
        to("HVA02", d)
    plan.append(("for-any-protocol", "HVA02$", "on"))
    # HVA03: cifs only in NetBIOS form.
    for d in ("HVA01", "HVA02", "HVA04"):
        to("HVA03", d, cifs_fqdn=False)
    plan.append(("for-any-protocol", "HVA03$", "on"))
    # HVA04: full mesh, Kerberos only (no 0x1000000): breaks live migration on 2016+.
    for d in ("HVA01", "HVA02", "HVA03"):
        to("HVA04", d)
    # HVB01 (2012 R2): Kerberos only to HVB02, which is valid on 2012 R2.
    to("HVB01", "HVB02")
    # HVB02: delegates to a DC service, a web service, a name not in the directory and a
    # disabled computer, with protocol transition (the dangerous combination).
    for spn in ("ldap/dc1.lab.test", "http/web01.lab.test", "cifs/RETIRED01", "cifs/OLDHV01"):
        plan.append(("add-service", "HVB02$", spn))
    plan.append(("for-any-protocol", "HVB02$", "on"))
    # HVB03: unconstrained (TRUSTED_FOR_DELEGATION).
    plan.append(("for-any-service", "HVB03$", "on"))
    # RBCD on HVA02: HVA01$ and svc-backup may act on behalf of others to it.
    plan.append(("add-principal", "HVA02$", "HVA01$"))
    plan.append(("add-principal", "HVA02$", "svc-backup"))
    return plan


def write(outdir, name, text):
    with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
        f.write(text)


def chunked(outdir, prefix, entries):
    for i in range(0, len(entries), CHUNK):
        write(outdir, f"{prefix}-{i // CHUNK:02d}.ldif", "\n".join(entries[i : i + CHUNK]))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_fixtures.py OUTDIR (password in $HVAUDIT_FIXTURE_PASSWORD)\n")
        return 2
    outdir = argv[1]
    password = os.environ.get("HVAUDIT_FIXTURE_PASSWORD")
    if not password:
        sys.stderr.write("gen_fixtures.py: HVAUDIT_FIXTURE_PASSWORD is not set\n")
        return 2
    os.makedirs(outdir, exist_ok=True)

    write(outdir, "00-ous.ldif", "\n".join(ou(d) for d in (WORKSTATIONS, SERVERS, HYPERV, ADMINS, BULK, GROUPS)))

    # Bulk objects carry no SPNs: SPN uniqueness checks dominate offline load time.
    chunked(
        outdir,
        "10-workstations",
        [computer(f"WS{i:04d}", WORKSTATIONS, "Windows 11 Enterprise", "10.0 (22631)") for i in range(1, N_WORKSTATIONS + 1)],
    )
    bulk_users = [f"bulk{i:04d}" for i in range(1, N_BULK_USERS + 1)]
    chunked(outdir, "20-bulk-users", [user(u, BULK) for u in bulk_users])

    objs = []
    for name, ((os_name, os_version), kind, extra) in HOSTS.items():
        objs.append(computer(name, HYPERV, os_name, os_version, host_spns(name, kind, extra)))
    objs.append(
        entry(
            f"CN=Microsoft Hyper-V,CN=HVB03,{HYPERV}",
            [("objectClass", "serviceConnectionPoint"), ("cn", "Microsoft Hyper-V"), ("keywords", "Microsoft Hyper-V")],
        )
    )
    objs.append(computer("FS01", SERVERS, *WS2022, spns=["HOST/FS01", f"HOST/{fqdn('FS01')}"]))
    objs.append(computer("WEB01", SERVERS, *WS2019, spns=["HOST/WEB01", f"HOST/{fqdn('WEB01')}", f"HTTP/{fqdn('web01')}"]))
    objs.append(
        computer(
            "OLDHV01",
            SERVERS,
            *WS2012R2,
            spns=["HOST/OLDHV01", f"HOST/{fqdn('OLDHV01')}"],
            uac=WORKSTATION_TRUST_ACCOUNT | ACCOUNTDISABLE,
        )
    )

    named = {
        "alice.admin": NORMAL_ACCOUNT | NOT_DELEGATED,
        "bob.admin": NORMAL_ACCOUNT,
        "carol.admin": NORMAL_ACCOUNT,
        "dave.disabled": NORMAL_ACCOUNT | ACCOUNTDISABLE,
        "erin.pg": NORMAL_ACCOUNT,
        "frank.nested": NORMAL_ACCOUNT,
        "svc-lm": NORMAL_ACCOUNT | NOT_DELEGATED,
        "svc-backup": NORMAL_ACCOUNT,
    }
    for sam, uac in named.items():
        objs.append(user(sam, ADMINS, uac, password))
    # Left protected groups long ago: adminCount stays 1, membership does not.
    objs.append(user("stale.admin", ADMINS, NORMAL_ACCOUNT, password, extra=[("adminCount", "1")]))

    def udn(sam):
        return f"CN={sam},{ADMINS}"

    objs.append(group("Tier0-L3", GROUPS, [udn("frank.nested")]))
    objs.append(group("Tier0-L2", GROUPS, [f"CN=Tier0-L3,{GROUPS}"]))
    objs.append(group("Tier0-L1", GROUPS, [f"CN=Tier0-L2,{GROUPS}"]))
    objs.append(group("BigGroup", GROUPS, [f"CN={u},{BULK}" for u in bulk_users]))
    write(outdir, "30-objects.ldif", "\n".join(objs))

    da_members = [udn(u) for u in ("alice.admin", "bob.admin", "carol.admin", "dave.disabled", "erin.pg")]
    da_members += [f"CN=Tier0-L1,{GROUPS}", f"CN=BigGroup,{GROUPS}"]
    mods = [attr("dn", DOMAIN_ADMINS), "changetype: modify", "add: member"]
    mods += [attr("member", m) for m in da_members]
    mods += ["-", "", attr("dn", PROTECTED_USERS), "changetype: modify", "add: member", attr("member", udn("carol.admin")), "-", ""]
    write(outdir, "40-memberships.ldif", "\n".join(mods))

    # AD requires membership of the new primary group first; the DC then moves erin from
    # Domain Admins' member list into primaryGroupID and makes Domain Users explicit.
    write(
        outdir,
        "50-primary-group.ldif",
        "\n".join([attr("dn", udn("erin.pg")), "changetype: modify", "replace: primaryGroupID", "primaryGroupID: 512", "-", ""]),
    )

    write(outdir, "delegation.tsv", "".join(f"{c}\t{a}\t{v}\n" for c, a, v in delegation_plan()))

    new_name = "Domänen-Admins"
    write(
        outdir,
        "90-rename.ldif",
        "\n".join(
            [
                attr("dn", DOMAIN_ADMINS),
                "changetype: modrdn",
                attr("newrdn", f"CN={new_name}"),
                "deleteoldrdn: 1",
                "",
                attr("dn", f"CN={new_name},{USERS}"),
                "changetype: modify",
                "replace: sAMAccountName",
                attr("sAMAccountName", new_name),
                "-",
                "",
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
