#!/usr/bin/env bash
# hvaudit benchmark: a 20,000-computer Samba AD DC on loopback, timed against the raw LDAP floor
# (one paged ldapsearch) and the peer tool (impacket's findDelegation.py), plus offline audits
# of generated 25k/50k/100k-computer snapshots. Not a test: nothing here runs in CI.
#
#   bench/run.sh [--work DIR] [--ip IP] [--runs N] [--computers N] [--big N] [--reuse]
#
#   --work DIR      scratch directory (default /tmp/hvaudit-bench); nothing is written to the repo
#   --ip IP         loopback address of the DC (default 127.0.0.40)
#   --runs N        timed runs of each tool (default 5), alternating between the tools
#   --computers N   computers in the DC (default 20000; a tenth are Hyper-V hosts)
#   --big N         computers in the largest generated snapshot (default 100000)
#   --reuse         reuse the DC already provisioned and loaded in DIR (skips ~5 minutes)
#
# Needs: samba, ldb-tools, ldap-utils, time (/usr/bin/time), python3 with venv, network access to
# PyPI for impacket (installed into a throwaway venv under DIR). Prints a table of medians and
# writes it to DIR/results.md. The DC is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK=/tmp/hvaudit-bench
IP=127.0.0.40
RUNS=5
COMPUTERS=20000
BIG=100000
REUSE=0
while (($#)); do
    case "$1" in
    --work) WORK="$2"; shift 2 ;;
    --ip) IP="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --computers) COMPUTERS="$2"; shift 2 ;;
    --big) BIG="$2"; shift 2 ;;
    --reuse) REUSE=1; shift ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

die() {
    echo "bench/run.sh: $*" >&2
    exit 1
}
say() { echo "== $*" >&2; }

for t in samba ldbadd ldapsearch python3 cargo; do
    command -v "$t" >/dev/null || die "missing $t (Samba, ldb-tools, ldap-utils, python3, cargo)"
done
[[ -x /usr/bin/time ]] || die "missing /usr/bin/time (apt-get install time)"

HARNESS="$ROOT/tests/harness/samba-dc.sh"
DC="$WORK/dc"
GEN="$WORK/gen"
OUT="$WORK/out"
RES="$WORK/times.tsv"
mkdir -p "$WORK" "$OUT"

stop_dc() { [[ -f "$DC/ip" ]] && "$HARNESS" stop "$DC" >/dev/null 2>&1 || true; }
trap stop_dc EXIT

say "building hvaudit (release)"
(cd "$ROOT" && cargo build --release --quiet)
HV="$ROOT/target/release/hvaudit"

# --- the directory ---------------------------------------------------------------------------
LOAD_NOTE="reused"
if ((REUSE)) && [[ -f "$DC/bench-loaded" ]]; then
    say "reusing the loaded DC in $DC"
else
    rm -rf "$DC" "$GEN"
    say "provisioning the DC at $IP"
    t0=$(date +%s.%N)
    "$HARNESS" provision "$DC" "$IP"
    t1=$(date +%s.%N)
    sid="$(ldbsearch -H "$DC/private/sam.ldb" -s base -b DC=lab,DC=test objectSid | sed -n 's/^objectSid: //p')"
    say "generating $COMPUTERS computers"
    python3 "$ROOT/bench/gen_bench_ldif.py" samba "$GEN" --computers "$COMPUTERS" --domain-sid "$sid"
    t1b=$(date +%s.%N)
    say "loading $(grep -c '^dn:' "$GEN/10-objects.ldif") entries offline"
    "$HARNESS" load "$DC" "$GEN/10-objects.ldif" "$GEN/20-memberships.ldif"
    t2=$(date +%s.%N)
    LOAD_NOTE="$(python3 -c "print(f'provisioned in {$t1-$t0:.0f} s (with the test fixtures), bulk load {$t2-$t1b:.0f} s')")"
    echo "$LOAD_NOTE" >"$DC/bench-loaded"
fi
[[ -f "$DC/bench-loaded" ]] && LOAD_NOTE="$(cat "$DC/bench-loaded")"
# shellcheck disable=SC1091
source "$DC/dc.env"
"$HARNESS" start "$DC"

# --- the peer ----------------------------------------------------------------------------------
VENV="$WORK/venv"
if [[ ! -x "$VENV/bin/findDelegation.py" ]]; then
    say "installing impacket into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet impacket
fi
IMPACKET_VERSION="$("$VENV/bin/pip" show impacket | sed -n 's/^Version: //p')"

# --- what hvaudit reads (src/collect/ldap.rs ACCOUNT_FILTER, ACCOUNT_ATTRS, and nTSecurityDescriptor
# with the SD flags control asking for the DACL only, for its read-access check) ----------------
FILTER='(|(objectClass=user)(objectClass=group)(objectClass=foreignSecurityPrincipal)(&(objectClass=serviceConnectionPoint)(cn=Microsoft Hyper-V)))'
ATTRS=(objectClass sAMAccountName dNSHostName objectSid userAccountControl operatingSystem
    operatingSystemVersion servicePrincipalName msDS-AllowedToDelegateTo
    msDS-AllowedToActOnBehalfOfOtherIdentity whenChanged replPropertyMetaData primaryGroupID
    adminCount 'member;range=0-1499')
export LDAPTLS_CACERT="$HVAUDIT_DC_CA"
export HVAUDIT_PASSWORD="$HVAUDIT_DC_PASSWORD"

# The timed commands, as argument lists: /usr/bin/time runs programs, not shell functions.
# The floor reads what hvaudit's main search reads: the same filter, attributes and DACL (SD
# flags control 1.2.840.113556.1.4.801 = 4, BER 30 03 02 01 04). FLOOR_NOSD leaves the
# security descriptors out, to show what hvaudit's read-access check costs.
FLOOR=(ldapsearch -x -LLL -H "$HVAUDIT_DC_URL" -D "$HVAUDIT_DC_USER" -y "$DC/admin.pw"
    -E pr=1000/noprompt -E 1.2.840.113556.1.4.801=::MAMCAQQ= -b "$HVAUDIT_DC_BASE" "$FILTER"
    "${ATTRS[@]}" nTSecurityDescriptor)
FLOOR_NOSD=(ldapsearch -x -LLL -H "$HVAUDIT_DC_URL" -D "$HVAUDIT_DC_USER" -y "$DC/admin.pw"
    -E pr=1000/noprompt -b "$HVAUDIT_DC_BASE" "$FILTER" "${ATTRS[@]}")
# Over LDAPS through bench/find_delegation_ldaps.py: impacket 0.13's signed LDAP hangs on large
# results (see that file). The password is on its command line: it is the tool's interface,
# and this DC is a throwaway on loopback.
PEER=(timeout 1800 "$VENV/bin/python" "$ROOT/bench/find_delegation_ldaps.py"
    "$VENV/bin/findDelegation.py" -dc-ip "$IP" "lab.test/administrator:$HVAUDIT_DC_PASSWORD")
SCAN=("$HV" scan --server "$HVAUDIT_DC_URL" --user "$HVAUDIT_DC_USER" --ca-file "$HVAUDIT_DC_CA"
    --config "$GEN/hvaudit.toml" --hosts "$GEN/hosts.csv" --out "$OUT/scan")
audit_cmd() { # SNAPSHOT CONFIG_DIR OUT_DIR
    AUDIT=("$HV" audit --snapshot "$1" --config "$2/hvaudit.toml" --hosts "$2/hosts.csv" --out "$3")
}

# timed NAME LABEL STDOUT CMD...: one run under /usr/bin/time -v, exit 0 or 1 accepted (1 =
# findings at or above --fail-on).
timed() {
    local name="$1" label="$2" stdout="$3" tv="$WORK/time.$1.txt" rc=0
    shift 3
    /usr/bin/time -v -o "$tv" "$@" >"$stdout" 2>"$WORK/stderr.$name.txt" || rc=$?
    ((rc <= 1)) || die "$name exited $rc: $(tail -n 5 "$WORK/stderr.$name.txt")"
    python3 - "$tv" "$name" "$label" >>"$RES" <<'PY'
import sys
wall = rss = None
for line in open(sys.argv[1]):
    k, _, v = line.strip().rpartition(": ")
    if k.startswith("Elapsed (wall clock)"):
        parts = [float(p) for p in v.split(":")]
        wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    elif k == "Maximum resident set size (kbytes)":
        rss = int(v)
print(f"{sys.argv[2]}\t{sys.argv[3]}\t{wall:.3f}\t{rss}")
PY
}

say "saving a snapshot for the offline audit; reading what the floor reads, to count"
"$HV" collect --server "$HVAUDIT_DC_URL" --user "$HVAUDIT_DC_USER" --ca-file "$HVAUDIT_DC_CA" \
    --out "$WORK/snapshot-dc.json" >/dev/null
"${FLOOR[@]}" >"$WORK/floor.ldif"
# Does this DC enforce a client's size limit? findDelegation.py asks for 999 entries, unpaged.
ldapsearch -x -LLL -H "$HVAUDIT_DC_URL" -D "$HVAUDIT_DC_USER" -y "$DC/admin.pw" -z 999 \
    -b "$HVAUDIT_DC_BASE" '(msDS-AllowedToDelegateTo=*)' dn 2>/dev/null | grep -c '^dn:' \
    >"$WORK/sizelimit.txt" || true

: >"$RES"
say "timing: $RUNS runs each of ldapsearch (2 forms), hvaudit scan (2 page sizes), findDelegation.py, hvaudit audit"
audit_cmd "$WORK/snapshot-dc.json" "$GEN" "$OUT/audit"
for ((i = 1; i <= RUNS; i++)); do
    say "run $i/$RUNS"
    timed floor "ldapsearch, hvaudit's read (floor)" /dev/null "${FLOOR[@]}"
    timed scan "hvaudit scan" /dev/null "${SCAN[@]}"
    timed floor_nosd "ldapsearch without nTSecurityDescriptor" /dev/null "${FLOOR_NOSD[@]}"
    timed scan1000 "hvaudit scan --page-size 1000" /dev/null "${SCAN[@]}" --page-size 1000
    timed peer "findDelegation.py" "$WORK/peer.txt" "${PEER[@]}"
    timed audit "hvaudit audit --snapshot" /dev/null "${AUDIT[@]}"
done
"$HARNESS" stop "$DC"

# --- generated snapshots, no DC ----------------------------------------------------------------
: >"$WORK/big.tsv"
for n in $((BIG / 4)) $((BIG / 2)) "$BIG"; do
    d="$WORK/big-$n"
    if [[ ! -f "$d/snapshot.json" ]]; then
        say "generating a $n-computer snapshot"
        python3 "$ROOT/bench/gen_bench_ldif.py" export "$d/export.ldif" --computers "$n"
        "$HV" collect --ldif "$d/export.ldif" --out "$d/snapshot.json" >/dev/null
        rm -f "$d/export.ldif"
    fi
    audit_cmd "$d/snapshot.json" "$d" "$d/out"
    for ((i = 1; i <= RUNS; i++)); do
        timed "big$n" "hvaudit audit, $n computers" /dev/null "${AUDIT[@]}"
    done
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(sys.argv[2], len(s["computers"]), len(s["accounts"]), sep="\t")' \
        "$d/snapshot.json" "$n" >>"$WORK/big.tsv"
done

# --- the table -------------------------------------------------------------------------------
python3 "$ROOT/bench/report.py" "$RES" "$WORK" "$LOAD_NOTE" "$IMPACKET_VERSION" | tee "$WORK/results.md"
