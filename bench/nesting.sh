#!/usr/bin/env bash
# Group-nesting benchmark (issue 12, bounded work): `hvaudit audit --ldif` of a nesting chain into
# Domain Admins 10,000 and 100,000 groups deep (the field case deep-group-nesting and its big
# neighbour), and of a 10,000-deep chain with a privileged user at every level. Wall time and
# peak RSS from /usr/bin/time -v, median of RUNS runs. Not a test: nothing here runs in CI.
#
#   bench/nesting.sh [--work DIR] [--runs N]
#
#   --work DIR   scratch directory (default /tmp/hvaudit-bench-nesting); nothing is written to the repo
#   --runs N     timed runs of each input (default 5)
#
# Needs: python3, cargo, /usr/bin/time (apt-get install time). Prints a Markdown table.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK=/tmp/hvaudit-bench-nesting
RUNS=5
while (($#)); do
    case "$1" in
    --work) WORK="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/nesting.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -x /usr/bin/time ]] || { echo "bench/nesting.sh: missing /usr/bin/time" >&2; exit 1; }
mkdir -p "$WORK"

(cd "$ROOT" && cargo build --release --locked --quiet)
HV="$ROOT/target/release/hvaudit"

python3 "$ROOT/bench/gen_nesting_ldif.py" 10000 >"$WORK/chain-10000.ldif"
python3 "$ROOT/bench/gen_nesting_ldif.py" 100000 >"$WORK/chain-100000.ldif"
python3 "$ROOT/bench/gen_nesting_ldif.py" 10000 --every-level >"$WORK/every-10000.ldif"

echo "| input | wall (median of $RUNS) | peak RSS | report bytes |"
echo "|---|---:|---:|---:|"
for name in chain-10000 chain-100000 every-10000; do
    walls=() rsss=()
    for ((r = 0; r < RUNS; r++)); do
        rm -rf "$WORK/out-$name"
        rc=0
        /usr/bin/time -v -o "$WORK/time.txt" "$HV" audit --ldif "$WORK/$name.ldif" \
            --out "$WORK/out-$name" >/dev/null 2>"$WORK/stderr.txt" || rc=$?
        # 1 = findings at or above --fail-on (the chain's users are unprotected admins).
        ((rc <= 1)) || { echo "$name exited $rc: $(tail -n 5 "$WORK/stderr.txt")" >&2; exit 1; }
        walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$WORK/time.txt")")
        rsss+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")")
    done
    wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
    rss=$(printf '%s\n' "${rsss[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
    bytes=$(du -sb "$WORK/out-$name" | cut -f1)
    printf '| %s | %.2f s | %d MB | %s |\n' "$name" "$wall" "$((rss / 1024))" "$bytes"
done
