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
cd "$here"
node --test report.test.mjs schema.test.mjs
