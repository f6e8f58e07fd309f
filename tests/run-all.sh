#!/usr/bin/env bash
# Runs every test: unit, integration (against a real Samba AD DC that the harness provisions
# on loopback), and the headless-browser test of the HTML report. Installs what the tests need
# when it is missing (Debian, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

.ci/install-deps.sh

cargo test --all-targets --locked
if [ -x tests/browser/run.sh ]; then
    tests/browser/run.sh
fi
