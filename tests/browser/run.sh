#!/bin/sh
# Browser test of the HTML report: builds the fixture reports with the Rust example and drives
# them in headless Chromium (/usr/bin/chromium, or $CHROMIUM) with playwright-core.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
[ -d node_modules ] || npm ci --no-audit --no-fund
mkdir -p out
cd ../..
cargo run -q --example render_fixture_report -- "$here/out/report-50.html" 50
cargo run -q --example render_fixture_report -- "$here/out/report-10000.html" 10000
# The benchmark's domain (20,000 computers, 2,000 Hyper-V hosts in 125 groups) for
# scale.test.mjs; --fail-on none: its findings are the point, only a failed run stops here.
mkdir -p "$here/out/bench"
python3 bench/gen_bench_ldif.py export "$here/out/bench/bench.ldif" >/dev/null
cargo run -q -- audit --ldif "$here/out/bench/bench.ldif" --hosts "$here/out/bench/hosts.csv" \
    --config "$here/out/bench/hvaudit.toml" --out "$here/out/bench/report" --format html \
    --fail-on none >/dev/null
cd "$here"
node --test report.test.mjs schema.test.mjs scale.test.mjs
