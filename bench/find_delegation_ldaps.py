#!/usr/bin/env python3
"""Run impacket's findDelegation.py over LDAPS: its logic unchanged, only the transport.

    find_delegation_ldaps.py PATH/TO/findDelegation.py [its arguments...]

findDelegation.py binds with NTLM on ldap://389 and, since impacket 0.13, signs and seals the
session. Its receive loop (impacket/ldap/ldap.py recv_raw) expects exactly one sealed frame per
read; Samba sends a frame per search entry, so with more than a few entries the loop waits
forever (seen with impacket 0.13.1 against Samba 4.17: no output after 15 minutes, while the
same query for one account answers in under a second). ldapsearch and hvaudit use LDAPS; this
wrapper points findDelegation.py at ldaps:// too, where impacket neither signs nor seals.
"""

import runpy
import sys

from impacket.ldap import ldap

_init = ldap.LDAPConnection.__init__


def _ldaps_init(self, url, *args, **kwargs):
    if url.lower().startswith("ldap://"):
        url = "ldaps://" + url[len("ldap://") :]
    _init(self, url, *args, **kwargs)


ldap.LDAPConnection.__init__ = _ldaps_init

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: find_delegation_ldaps.py PATH/TO/findDelegation.py [ARGS...]")
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
