#!/usr/bin/python3
"""Apply sample data to a local (stopped) Samba AD sam.ldb in one process.

Used by samba.sh while building the cached domain template: one Python
process with Samba's own bindings is ~20x faster than one samba-tool call per
user, and it runs against the local database, so no server is needed.

Usage:
  ad-apply.py SMB_CONF LDIF_FILE [--delegate OBJECT_DN TRUSTEE_DN ACES]...

LDIF_FILE holds records with "changetype: add" or "changetype: modify"; all
are applied in one transaction, in order. Each --delegate adds the SDDL ACEs
ACES (the token {SID} is replaced by the objectSid of TRUSTEE_DN) to the
security descriptor of OBJECT_DN, the same way `samba-tool dsacl set` does.

Must run with the system interpreter (/usr/bin/python3): the Samba bindings
are a Debian package (python3-samba), not a pip module.
"""
import re
import sys

import ldb
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_pack, ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB


def main(argv):
    if len(argv) < 3 or (len(argv) - 3) % 4 != 0:
        sys.stderr.write(__doc__)
        return 2
    smb_conf, ldif_file = argv[1], argv[2]
    delegations = []
    for i in range(3, len(argv), 4):
        if argv[i] != "--delegate":
            sys.stderr.write(__doc__)
            return 2
        delegations.append(argv[i + 1:i + 4])

    lp = LoadParm()
    lp.load(smb_conf)
    db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    with open(ldif_file, encoding="utf-8") as f:
        ldif = f.read()

    db.transaction_start()
    try:
        for changetype, msg in db.parse_ldif(ldif):
            try:
                if changetype == ldb.CHANGETYPE_MODIFY:
                    db.modify(msg)
                elif changetype in (ldb.CHANGETYPE_ADD, ldb.CHANGETYPE_NONE):
                    db.add(msg)
                else:
                    raise RuntimeError("unsupported changetype %d" % changetype)
            except ldb.LdbError as e:
                raise RuntimeError("%s: %s" % (msg.dn, e.args[1] if len(e.args) > 1 else e))

        domain_sid = security.dom_sid(db.get_domain_sid())
        for object_dn, trustee_dn, aces in delegations:
            res = db.search(base=trustee_dn, scope=ldb.SCOPE_BASE, attrs=["objectSid"])
            sid = str(ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))
            aces = aces.replace("{SID}", sid)
            res = db.search(base=object_dn, scope=ldb.SCOPE_BASE,
                            attrs=["nTSecurityDescriptor"])
            desc = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
            sddl = desc.as_sddl(domain_sid)
            # Like samba-tool dsacl: drop inherited ACEs (Samba recomputes
            # them) and put the new explicit ACEs first in the DACL.
            for ace in re.findall(r"\(.*?\)", sddl):
                if "ID" in ace.split(";")[1]:
                    sddl = sddl.replace(ace, "")
            dacl_start = sddl.index("D:")
            first = sddl.find("(", dacl_start)
            sacl = sddl.find("S:", dacl_start)
            if first < 0 or (0 <= sacl < first):
                first = sacl if sacl >= 0 else len(sddl)
            sddl = sddl[:first] + aces + sddl[first:]
            new_desc = security.descriptor.from_sddl(sddl, domain_sid)
            m = ldb.Message()
            m.dn = ldb.Dn(db, object_dn)
            m["nTSecurityDescriptor"] = ldb.MessageElement(
                ndr_pack(new_desc), ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor")
            db.modify(m)
    except Exception:
        db.transaction_cancel()
        raise
    db.transaction_commit()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # one readable line for the calling shell script
        sys.stderr.write("ad-apply.py: ERROR: %s\n" % e)
        sys.exit(1)
