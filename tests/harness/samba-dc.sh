#!/usr/bin/env bash
# A throwaway Samba AD DC (realm LAB.TEST) for hvaudit's integration tests.
#
#   samba-dc.sh provision DIR IP   provision into DIR, load the fixtures offline, write DIR/dc.env
#   samba-dc.sh start DIR          start samba on the IP given at provisioning, wait for LDAPS
#   samba-dc.sh stop DIR           stop it and wait until every samba process has exited
#   samba-dc.sh start-netns DIR NS start it inside network namespace NS (see netns-up) with its
#                                  DNS server on and `ldap server require strong auth = yes`
#   samba-dc.sh netns-up NS IP     create namespace NS (loopback only) whose resolv.conf names
#                                  the DC's DNS server at IP; netns-down NS removes it
#   samba-dc.sh load DIR LDIF...   apply more LDIF offline (samba must be stopped), in order,
#                                  500 records per ldb transaction; records with a changetype
#                                  go through ldbmodify, the others through ldbadd
#
# Everything lives under DIR (no systemd, no /etc, no /var); the DC listens only on IP, which
# should be a loopback address (127.0.0.0/8) so that nothing leaves the machine. While the DC
# runs, its processes hold an exclusive flock on /tmp/hvaudit-samba-IP.lock, so two copies can
# never fight over one address. Errors are loud and exit non-zero: tests must fail, not skip,
# when Samba is missing.
set -euo pipefail

REALM=LAB.TEST
DOMAIN=LAB
DNS_DOMAIN=lab.test
HOST=dc1
BASE_DN="DC=lab,DC=test"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
    echo "samba-dc.sh: $*" >&2
    exit 1
}

need_tools() {
    local missing=()
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if ((${#missing[@]})); then
        die "missing ${missing[*]}: install Samba and its tools (run .ci/install-deps.sh as root)"
    fi
}

lock_file() { echo "/tmp/hvaudit-samba-$1.lock"; }

# The commands below read smb.conf from here; KRB5_CONFIG keeps Kerberos off DNS.
use_dir() {
    DIR="$(cd "$1" && pwd)"
    CONF="$DIR/etc/smb.conf"
    SAM="$DIR/private/sam.ldb"
    [[ -f "$DIR/ip" ]] || die "$DIR is not provisioned (no $DIR/ip)"
    IP="$(cat "$DIR/ip")"
    export SMB_CONF_PATH="$CONF"
    export KRB5_CONFIG="$DIR/krb5.conf"
}

make_certs() {
    local d="$DIR/tls-lab"
    mkdir -p "$d"
    # Called from an `||` list, where set -e does not apply: hence the explicit returns.
    # EC keys: fast to generate; rustls/webpki want a v3 CA and SANs on the server cert.
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$d/ca.key" -out "$DIR/ca.pem" -days 30 -subj "/CN=hvaudit test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" || return 1
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=$HOST.$DNS_DOMAIN" || return 1
    cat >"$d/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$HOST.$DNS_DOMAIN,DNS:$HOST,IP:$IP
EOF
    openssl x509 -req -in "$d/server.csr" -CA "$DIR/ca.pem" -CAkey "$d/ca.key" \
        -CAcreateserial -days 30 -extfile "$d/server.ext" -out "$d/server.pem" || return 1
    # Samba refuses a key file readable by others.
    chmod 600 "$d/server.key" "$d/ca.key"
}

write_krb5_conf() {
    cat >"$DIR/krb5.conf" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false

[realms]
    $REALM = {
        kdc = $IP
        admin_server = $IP
    }

[domain_realm]
    .$DNS_DOMAIN = $REALM
    $DNS_DOMAIN = $REALM
EOF
}

# KEY='value' lines: bash can source the file, and the Rust harness parses the same form.
env_line() {
    [[ "$2" != *"'"* && "$2" != *$'\n'* ]] || die "value for $1 contains a quote or newline"
    printf "%s='%s'\n" "$1" "$2"
}

cmd_provision() {
    [[ $# -eq 2 ]] || die "usage: samba-dc.sh provision DIR IP"
    need_tools samba samba-tool samba_spnupdate ldbadd ldbmodify openssl python3 flock iconv base64
    local dir="$1" ip="$2"
    [[ "$ip" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "IP must be a loopback address, got '$ip'"
    mkdir -p "$dir"
    [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty"
    chmod 700 "$dir"
    echo "$ip" >"$dir/ip"
    use_dir "$dir"
    mkdir -p "$DIR/run" "$DIR/log"
    write_krb5_conf

    # Random per provisioning. It reaches samba only through files in DIR (mode 0700), never
    # argv: provision makes up its own admin password, which is replaced offline below.
    local password
    password="Hv-$(openssl rand -hex 12)-Aa1!"

    local t0=$SECONDS
    env -u SMB_CONF_PATH samba-tool domain provision --targetdir="$DIR" --realm="$REALM" --domain="$DOMAIN" \
        --host-name="$HOST" --host-ip="$IP" --server-role=dc --dns-backend=SAMBA_INTERNAL \
        --option="interfaces = $IP/8" --option="bind interfaces only = yes" \
        --option="server services = ldap cldap kdc" \
        --option="pid directory = $DIR/run" --option="ncalrpc dir = $DIR/run/ncalrpc" \
        --option="winbindd socket directory = $DIR/run/winbindd" \
        --option="ntp signd socket directory = $DIR/run/ntp_signd" \
        --option="logging = file" --option="log file = $DIR/log/samba.log" \
        --option="tls enabled = yes" \
        --option="tls keyfile = $DIR/tls-lab/server.key" \
        --option="tls certfile = $DIR/tls-lab/server.pem" \
        --option="tls cafile = $DIR/ca.pem" \
        --option="ldap server require strong auth = allow_sasl_over_tls" \
        --option="prefork children = 2" \
        >"$DIR/log/provision.log" 2>&1 ||
        die "samba-tool domain provision failed; see $DIR/log/provision.log:
$(tail -n 20 "$DIR/log/provision.log")"
    local t_prov=$((SECONDS - t0))
    make_certs >"$DIR/log/certs.log" 2>&1 || die "making certificates failed: $(tail -n 5 "$DIR/log/certs.log")"

    # Fixtures, offline against sam.ldb while samba is stopped (fast, and writes as system).
    HVAUDIT_FIXTURE_PASSWORD="$password" python3 "$HERE/gen_fixtures.py" "$DIR/fixtures"
    local f
    for f in "$DIR"/fixtures/[0-3]*.ldif; do
        ldbadd -o batch_mode:1 -H "$SAM" "$f" >>"$DIR/log/fixtures.log" 2>&1 ||
            die "ldbadd $f failed: $(tail -n 5 "$DIR/log/fixtures.log")"
    done
    # The administrator's password, as an admin would set it (and never on a command line).
    local pwd_b64
    pwd_b64="$(printf '"%s"' "$password" | iconv -f UTF-8 -t UTF-16LE | base64 -w0)"
    printf 'dn: CN=Administrator,CN=Users,%s\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: %s\n-\n' \
        "$BASE_DN" "$pwd_b64" >"$DIR/fixtures/45-admin-password.ldif"
    for f in "$DIR"/fixtures/4*.ldif "$DIR"/fixtures/5*.ldif; do
        ldbmodify -H "$SAM" "$f" >>"$DIR/log/fixtures.log" 2>&1 ||
            die "ldbmodify $f failed: $(tail -n 5 "$DIR/log/fixtures.log")"
    done

    local t_fix=$((SECONDS - t0))
    # Delegation the way an admin sets it, with samba-tool's own commands writing locally as
    # system (Samba 4.17 lets only system write msDS-AllowedToActOnBehalfOfOtherIdentity).
    # One interpreter runs every call: a samba-tool process per call costs 3x as long.
    # samba-tool's own interpreter (its shebang), which has the samba modules.
    local samba_py
    read -r -a samba_py <<<"$(sed -n '1s/^#! *//p' "$(command -v samba-tool)")"
    "${samba_py[@]}" - "$SAM" "$CONF" "$DIR/fixtures/delegation.tsv" >>"$DIR/log/fixtures.log" 2>&1 <<'PY' ||
import sys
from samba.netcmd.main import cmd_sambatool

sam, conf, plan = sys.argv[1:4]
with open(plan, encoding="utf-8") as f:
    for line in f:
        verb, account, arg = line.rstrip("\n").split("\t")
        try:
            rc = cmd_sambatool()._run("samba-tool", "delegation", verb, account, arg, "-H", sam, "-s", conf)
        except SystemExit as e:
            rc = e.code
        if rc:
            sys.exit(f"samba-tool delegation {verb} {account} '{arg}' failed ({rc})")
PY
        die "delegation fixtures failed: $(tail -n 5 "$DIR/log/fixtures.log")"

    local t_deleg=$((SECONDS - t0))
    # The dnsupdate service is off, so the DC's own SPNs (ldap/, GC/, ...) are written here.
    samba_spnupdate -s "$CONF" >>"$DIR/log/fixtures.log" 2>&1 ||
        die "samba_spnupdate failed: $(tail -n 5 "$DIR/log/fixtures.log")"

    # DNS for the locator test (start-netns): a DC that is down listed first, with priority 0,
    # the real one at priority 10; under site Lab-Site, only the dead one.
    "${samba_py[@]}" - "$SAM" "$CONF" "$DNS_DOMAIN" "$HOST" "$IP" >>"$DIR/log/fixtures.log" 2>&1 <<'PY' ||
import sys
import samba.param
from samba.samdb import SamDB
from samba.auth import system_session
from samba.dcerpc import dnsp

sam, conf, dom, host, ip = sys.argv[1:6]
lp = samba.param.LoadParm()
lp.load(conf)
db = SamDB(url=sam, session_info=system_session(), lp=lp)


def rec(kind, data):
    r = dnsp.DnssrvRpcRecord()
    r.wType = kind
    r.rank = dnsp.DNS_RANK_ZONE
    r.dwSerial = 1
    r.dwTtlSeconds = 900
    r.data = data
    return r


def srv(target, port, priority):
    s = dnsp.srv()
    s.wPriority, s.wWeight, s.wPort, s.nameTarget = priority, 100, port, target
    return rec(dnsp.DNS_TYPE_SRV, s)


head, last = ip.rsplit(".", 1)
dead_ip = f"{head}.{(int(last) + 1) % 256}"
from samba.ndr import ndr_pack
import ldb
base = db.domain_dn()
for dn, records in [
    (f"DC=dcdown,DC={dom},CN=MicrosoftDNS,DC=DomainDnsZones,{base}", [rec(dnsp.DNS_TYPE_A, dead_ip)]),
    (f"DC=_ldap._tcp.Lab-Site._sites.dc,DC=_msdcs.{dom},CN=MicrosoftDNS,DC=ForestDnsZones,{base}",
     [srv(f"dcdown.{dom}", 389, 0)]),
]:
    db.add({"dn": dn, "objectClass": ["top", "dnsNode"],
            "dnsRecord": [ndr_pack(r) for r in records]})
db.dns_replace(f"_ldap._tcp.dc._msdcs.{dom}",
               [srv(f"dcdown.{dom}", 389, 0), srv(f"{host}.{dom}", 389, 10)])
PY
        die "DNS fixtures failed: $(tail -n 5 "$DIR/log/fixtures.log")"

    # Last: rename Domain Admins, so tests prove groups are found by SID, not by name.
    ldbmodify -H "$SAM" "$DIR/fixtures/90-rename.ldif" >>"$DIR/log/fixtures.log" 2>&1 ||
        die "rename of Domain Admins failed: $(tail -n 5 "$DIR/log/fixtures.log")"
    local t_all=$((SECONDS - t0))

    {
        env_line HVAUDIT_DC_URL "ldaps://$IP"
        env_line HVAUDIT_DC_STARTTLS_URL "ldap://$IP"
        env_line HVAUDIT_DC_CA "$DIR/ca.pem"
        env_line HVAUDIT_DC_USER "administrator@$DNS_DOMAIN"
        env_line HVAUDIT_DC_PASSWORD "$password"
        env_line HVAUDIT_DC_BASE "$BASE_DN"
        env_line HVAUDIT_DC_REALM "$REALM"
        env_line HVAUDIT_DC_IP "$IP"
        env_line KRB5_CONFIG "$DIR/krb5.conf"
    } >"$DIR/dc.env"
    # For tools that read a password file (ldapsearch -y, kinit < file).
    printf '%s' "$password" >"$DIR/admin.pw"
    chmod 600 "$DIR/dc.env" "$DIR/admin.pw"
    echo "samba-dc.sh: provisioned $DIR for $IP in ${t_all}s (cumulative: samba-tool provision ${t_prov}s, fixtures ${t_fix}s, delegation ${t_deleg}s)" >&2
}

samba_pid() {
    local f="$DIR/run/samba.pid"
    [[ -f "$f" ]] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$f")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

cmd_start() {
    [[ $# -eq 1 || $# -eq 2 ]] || die "usage: samba-dc.sh start DIR | start-netns DIR NS"
    need_tools samba ldapsearch flock
    use_dir "$1"
    # In a namespace: the DC's DNS server on, and sealing (or TLS) required for every bind.
    local in_ns=() opts=()
    if [[ $# -eq 2 ]]; then
        in_ns=(ip netns exec "$2")
        opts=(--option="server services = ldap cldap kdc dns"
            --option="ldap server require strong auth = yes")
    fi
    ! samba_pid >/dev/null || die "samba for $DIR is already running (pid $(samba_pid))"
    local lock wait_s="${HVAUDIT_TEST_DC_LOCK_WAIT:-300}"
    lock="$(lock_file "$IP")"
    exec 9>>"$lock"
    if ! flock -n 9; then
        echo "samba-dc.sh: $IP is in use ($(cat "$lock" 2>/dev/null)); waiting up to ${wait_s}s" >&2
        flock -w "$wait_s" 9 ||
            die "$IP is still held by the test DC in $(cat "$lock" 2>/dev/null); set HVAUDIT_TEST_DC_IP to another 127.x address, or stop that DC with: $0 stop $(cat "$lock" 2>/dev/null)"
    fi
    echo "$DIR" >"$lock"
    rm -f "$DIR/run/samba.pid"
    # samba and its workers inherit fd 9: the lock lives exactly as long as they do.
    "${in_ns[@]}" samba -s "$CONF" -D "${opts[@]}" >>"$DIR/log/start.log" 2>&1 ||
        die "samba failed to start: $(tail -n 20 "$DIR/log/start.log" "$DIR/log/samba.log" 2>/dev/null)"
    exec 9>&-

    local i
    for ((i = 0; i < 150; i++)); do
        if LDAPTLS_CACERT="$DIR/ca.pem" "${in_ns[@]}" ldapsearch -x -LLL -o nettimeout=2 -H "ldaps://$IP" \
            -s base -b "" defaultNamingContext >/dev/null 2>&1; then
            echo "samba-dc.sh: DC up at ldaps://$IP (pid $(samba_pid || echo '?'))" >&2
            return 0
        fi
        if ((i > 10)) && ! samba_pid >/dev/null; then
            break
        fi
        sleep 0.2
    done
    local log
    log="$(tail -n 30 "$DIR/log/samba.log" 2>/dev/null || true)"
    cmd_stop "$DIR" >/dev/null 2>&1 || true
    die "samba did not answer LDAPS on $IP within 30s. Log tail:
$log"
}

cmd_stop() {
    [[ $# -eq 1 ]] || die "usage: samba-dc.sh stop DIR"
    use_dir "$1"
    local pid
    if pid="$(samba_pid)"; then
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "samba-dc.sh: samba $pid ignored SIGTERM for 10s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Workers hold the lock too: once it is free, no samba process of this DC is left.
    local lock
    lock="$(lock_file "$IP")"
    if [[ -f "$lock" && "$(cat "$lock" 2>/dev/null)" == "$DIR" ]]; then
        exec 9>>"$lock"
        flock -w 20 9 || die "samba workers for $DIR still hold $lock after stop"
        : >"$lock"
        exec 9>&-
    fi
    rm -f "$DIR/run/samba.pid"
}

# Bulk loading for large test directories (bench/run.sh): offline writes skip the LDAP server,
# and batch_mode commits 500 records per transaction instead of one.
cmd_load() {
    [[ $# -ge 2 ]] || die "usage: samba-dc.sh load DIR LDIF..."
    need_tools ldbadd ldbmodify awk
    use_dir "$1"
    shift
    ! samba_pid >/dev/null || die "samba for $DIR is running: stop it first ($0 stop $DIR)"
    local chunks="$DIR/load-chunks" f c n=0 t0=$SECONDS
    for f in "$@"; do
        [[ -f "$f" ]] || die "no such LDIF file: $f"
        rm -rf "$chunks"
        mkdir -p "$chunks"
        # Paragraph mode: records are separated by blank lines (folded lines never are).
        awk -v dir="$chunks" 'BEGIN { RS = ""; ORS = "\n\n" }
            { out = sprintf("%s/%06d.ldif", dir, int((NR - 1) / 500)); print > out }
            NR % 500 == 0 { close(out) }' "$f"
        for c in "$chunks"/*.ldif; do
            [[ -e "$c" ]] || continue
            local tool=ldbadd out rc=0
            grep -qi '^changetype:' "$c" && tool=ldbmodify
            out="$("$tool" -o batch_mode:1 -H "$SAM" "$c" 2>&1)" || rc=$?
            printf '%s\n' "$out" >>"$DIR/log/load.log"
            # ldbadd reports a rejected record on stderr and may still exit 0: check both.
            if ((rc)) || grep -q '^ERR' <<<"$out"; then
                die "$tool of records $((10#$(basename "$c" .ldif) * 500 + 1))-$((10#$(basename "$c" .ldif) * 500 + 500)) of $f failed: $(grep -m 3 '^ERR' <<<"$out" || tail -n 3 <<<"$out")"
            fi
            n=$((n + 1))
        done
    done
    rm -rf "$chunks"
    echo "samba-dc.sh: loaded $# file(s) in $n chunk(s) into $DIR in $((SECONDS - t0))s" >&2
}

cmd_netns_up() {
    [[ $# -eq 2 ]] || die "usage: samba-dc.sh netns-up NS IP"
    [[ "$2" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "IP must be a loopback address, got '$2'"
    need_tools ip
    ip netns add "$1" || die "cannot create network namespace $1 (needs root)"
    ip netns exec "$1" ip link set lo up
    # `ip netns exec` bind-mounts this over /etc/resolv.conf for everything run in NS.
    mkdir -p "/etc/netns/$1"
    printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$2" >"/etc/netns/$1/resolv.conf"
}

cmd_netns_down() {
    [[ $# -eq 1 ]] || die "usage: samba-dc.sh netns-down NS"
    ip netns del "$1" 2>/dev/null || true
    rm -rf "/etc/netns/$1"
}

case "${1:-}" in
start-netns)
    shift
    [[ $# -eq 2 ]] || die "usage: samba-dc.sh start-netns DIR NS"
    cmd_start "$@"
    ;;
netns-up)
    shift
    cmd_netns_up "$@"
    ;;
netns-down)
    shift
    cmd_netns_down "$@"
    ;;
load)
    shift
    cmd_load "$@"
    ;;
provision)
    shift
    cmd_provision "$@"
    ;;
start)
    shift
    cmd_start "$@"
    ;;
stop)
    shift
    cmd_stop "$@"
    ;;
*) die "usage: samba-dc.sh provision DIR IP | start DIR | stop DIR | load DIR LDIF..." ;;
esac
