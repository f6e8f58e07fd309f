#!/usr/bin/env bash
# Installs what hvaudit's tests need on Debian 12: Samba AD DC (tests/harness/samba-dc.sh), LDAP
# and Kerberos client tools, openssl, chromium (HTML report checks), GNU time, and what the
# `kerberos` cargo feature builds against (MIT Kerberos headers; clang for bindgen), Node.js and
# npm (the browser test of the HTML report; a fresh Debian has neither), iproute2 (`ip netns`
# for the DNS locator test).
# Idempotent: installs only what dpkg does not already report installed. Run as root.
set -euo pipefail

PACKAGES=(
    samba samba-dsdb-modules samba-vfs-modules samba-ad-provision python3-samba
    ldap-utils ldb-tools krb5-user openssl chromium time
    libkrb5-dev clang libclang-dev
    nodejs npm iproute2
)

missing=()
for p in "${PACKAGES[@]}"; do
    # Node.js installed another way (nvm, NodeSource's nodejs that bundles npm) counts too.
    if [[ "$p" == nodejs || "$p" == npm ]] && command -v "${p/nodejs/node}" >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing ${missing[*]}; run this script as root" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# krb5-user asks for a default realm; the tests bring their own krb5.conf.
apt-get install -y --no-install-recommends "${missing[@]}"
