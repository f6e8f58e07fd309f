#!/usr/bin/env bash
# Runs every test: unit, integration (against a real Samba AD DC that the harness provisions
# on loopback), the Kerberos bind (feature `kerberos`), and the headless-browser test of the
# HTML report. Installs what the tests need when it is missing (Debian, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

.ci/install-deps.sh

cargo test --all-targets --locked
# The Kerberos bind is a cargo feature (it links the system's libgssapi_krb5): its tests run in
# a second build, against their own Samba DC.
cargo test --locked --features kerberos --test samba --test kerberos_cli -- kerberos
if [ -x tests/browser/run.sh ]; then
    tests/browser/run.sh
fi
