//! An ordinary domain user creates a computer account, gives it Hyper-V SPNs through the
//! validated write on servicePrincipalName, and the DC records the user as its creator
//! (mS-DS-CreatorSID) the way a ms-DS-MachineAccountQuota add does. hvaudit must report it as
//! a candidate created by that user (HV020, high), keep it out of every migration group and
//! readiness, and its remediation script must grant it nothing and list it as left out.
//!
//! Samba 4.17 does not implement ms-DS-MachineAccountQuota: an LDAP add of a computer checks
//! only CreateChild on the parent (dsdb acl module, `acl_add`), the SAMR CreateUser2 path has
//! no SeMachineAccountPrivilege branch either, and nothing in the DC ever writes
//! mS-DS-CreatorSID. So an ordinary user's add in CN=Computers is refused ("acl: unable to get
//! access"), however the user was made; the test asserts that refusal, so it notices the day
//! Samba implements the quota. It then plays the DC's part of the quota and nothing more:
//! the user gets CreateChild for computer objects in a dedicated OU (the right the quota
//! stands for), performs the add and the SPN write over LDAPS itself, and the DC's bookkeeping
//! of a quota add is written locally as system: mS-DS-CreatorSID = the user, owner = Domain
//! Admins (https://learn.microsoft.com/en-us/windows/win32/adschema/a-ms-ds-creatorsid,
//! [MS-ADTS] 6.1.1.4 via [MS-ADA2] 2.62). The OU, the computer and the user are removed
//! afterwards so the other tests' expected findings do not change.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::collect::hvaudit;
use super::faults::{create_user, ldap_modify, test_password};
use super::samba_dc::TestDc;

const OU: &str = "OU=MaqJoin,DC=lab,DC=test";
const COMPUTER: &str = "CN=EVILHV,OU=MaqJoin,DC=lab,DC=test";
const USER: &str = "CN=maq.user,CN=Users,DC=lab,DC=test";
/// schemaIDGUID of the computer class ([MS-ADSC] 2.21).
const COMPUTER_CLASS: &str = "bf967a86-0de6-11d0-a285-00aa003049e2";

/// `ldapmodify` over LDAPS bound as `user` (password from a 0600 file, never in argv).
fn ldap_modify_as(dc: &TestDc, user: &str, password: &str, ldif: &str) -> Output {
    let pw_file = dc.dir.join("maq-user.pw");
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&pw_file)
            .unwrap();
        f.write_all(password.as_bytes()).unwrap();
    }
    let mut child = Command::new("ldapmodify")
        .env("LDAPTLS_CACERT", &dc.ca_file)
        .args(["-x", "-H", &dc.url, "-D", user, "-y"])
        .arg(&pw_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running ldapmodify (install ldap-utils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ldif.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn assert_ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Samba's own Python (the interpreter in samba-tool's shebang, as the harness uses), run
/// on the DC's sam.ldb as system.
fn samba_python(dc: &TestDc, script: &str, args: &[&str]) {
    let tool = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v samba-tool"])
            .output()
            .expect("looking up samba-tool")
            .stdout,
    )
    .unwrap();
    let first = std::fs::read_to_string(tool.trim()).expect("reading samba-tool");
    let shebang: Vec<&str> = first
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .expect("samba-tool has a shebang")
        .split_whitespace()
        .collect();
    let mut child = Command::new(shebang[0])
        .args(&shebang[1..])
        .arg("-")
        .arg(dc.dir.join("private/sam.ldb"))
        .arg(dc.dir.join("etc/smb.conf"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running samba's python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_ok(&o, "samba python");
}

/// What a DC records for a computer added under ms-DS-MachineAccountQuota: the requester in
/// mS-DS-CreatorSID (system-only, hence written locally as system) and Domain Admins as owner.
const QUOTA_BOOKKEEPING: &str = r#"
import sys
import ldb
import samba.param
from samba.samdb import SamDB
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_pack, ndr_unpack
sam, conf, dn, creator = sys.argv[1:5]
lp = samba.param.LoadParm()
lp.load(conf)
db = SamDB(url=sam, session_info=system_session(), lp=lp)
m = ldb.Message()
m.dn = ldb.Dn(db, dn)
m["mS-DS-CreatorSID"] = ldb.MessageElement(
    ndr_pack(security.dom_sid(creator)), ldb.FLAG_MOD_REPLACE, "mS-DS-CreatorSID")
db.modify(m)
res = db.search(dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"],
                controls=["sd_flags:1:1"])
sd = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
sd.owner_sid = security.dom_sid(f"{db.get_domain_sid()}-512")
m = ldb.Message()
m.dn = ldb.Dn(db, dn)
m["nTSecurityDescriptor"] = ldb.MessageElement(
    ndr_pack(sd), ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor")
db.modify(m, controls=["sd_flags:1:1"])
"#;

/// Allows `trustee` to create computer objects in `dn` (samba-tool writing sam.ldb locally).
fn allow_create_computers(dc: &TestDc, dn: &str, trustee: &str) {
    let o = Command::new("samba-tool")
        .args(["dsacl", "set", "-H"])
        .arg(dc.dir.join("private/sam.ldb"))
        .arg("-s")
        .arg(dc.dir.join("etc/smb.conf"))
        .arg(format!("--objectdn={dn}"))
        .arg("--action=allow")
        .arg(format!("--sddl=(OA;;CC;{COMPUTER_CLASS};;{trustee})"))
        .output()
        .expect("running samba-tool");
    assert_ok(&o, "samba-tool dsacl set");
}

fn computer_ldif(dn: &str) -> String {
    use base64::Engine as _;
    let pwd: Vec<u8> = format!("\"{}\"", test_password("evil"))
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    // What the DC demands of a computer add: sAMAccountName, a workstation
    // userAccountControl, dNSHostName and a password; the SPNs name the account itself, as
    // the validated write requires.
    format!(
        "dn: {dn}\nchangetype: add\nobjectClass: computer\n\
         sAMAccountName: EVILHV$\nuserAccountControl: 4096\ndNSHostName: evilhv.lab.test\n\
         servicePrincipalName: Microsoft Virtual System Migration Service/EVILHV\n\
         servicePrincipalName: Microsoft Virtual System Migration Service/evilhv.lab.test\n\
         unicodePwd:: {}\n",
        base64::engine::general_purpose::STANDARD.encode(pwd)
    )
}

pub fn maq_computer_claiming_hyperv_is_excluded(dc: &TestDc) {
    let pw = test_password("maq");
    let cleanup = || {
        for dn in [COMPUTER, OU, USER] {
            // Best effort: an object is missing when the test failed before creating it.
            let _ = std::panic::catch_unwind(|| {
                ldap_modify(dc, &format!("dn: {dn}\nchangetype: delete\n"));
            });
        }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(dc, &pw)));
    cleanup();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

fn run(dc: &TestDc, pw: &str) {
    let user = create_user(dc, "maq.user", pw, 512);
    let user_sid = hvaudit::model::Sid::from_bytes(
        &dc.read(USER, &["objectSid"]).get_bin("objectSid").remove(0),
    )
    .unwrap()
    .to_string();

    // Samba has no quota: the ordinary user's add where the quota would apply is refused.
    let o = ldap_modify_as(
        dc,
        &user,
        pw,
        &computer_ldif("CN=EVILHV,CN=Computers,DC=lab,DC=test"),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("Insufficient access"),
        "Samba accepted an ordinary user's computer add in CN=Computers (it implements \
         ms-DS-MachineAccountQuota now?): drop the emulation below. {err}"
    );

    ldap_modify(
        dc,
        &format!("dn: {OU}\nchangetype: add\nobjectClass: organizationalUnit\n"),
    );
    allow_create_computers(dc, OU, &user_sid);
    // The user's own LDAP add, then a later SPN write as `setspn` would do it.
    assert_ok(
        &ldap_modify_as(dc, &user, pw, &computer_ldif(COMPUTER)),
        "the user's computer add",
    );
    assert_ok(
        &ldap_modify_as(
            dc,
            &user,
            pw,
            &format!(
                "dn: {COMPUTER}\nchangetype: modify\nadd: servicePrincipalName\n\
                 servicePrincipalName: Microsoft Virtual Console Service/EVILHV\n"
            ),
        ),
        "the user's SPN write",
    );
    samba_python(dc, QUOTA_BOOKKEEPING, &[COMPUTER, &user_sid]);
    let creator = dc
        .read(COMPUTER, &["mS-DS-CreatorSID"])
        .get_bin("mS-DS-CreatorSID");
    assert_eq!(
        creator
            .iter()
            .map(|b| hvaudit::model::Sid::from_bytes(b).unwrap().to_string())
            .collect::<Vec<_>>(),
        vec![user_sid.clone()]
    );

    // The scan, with no configuration and no inventory: EVILHV would otherwise join the
    // default group with the real hosts.
    let out = dc.dir.join("maq-scan");
    let o = hvaudit(
        dc,
        &[
            "scan",
            "--server",
            &dc.url,
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        out.join("findings.json").exists(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let hv020: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule_id"] == "HV020")
        .collect();
    assert_eq!(hv020.len(), 1, "{hv020:?}");
    let f = hv020[0];
    assert_eq!(f["object"], "EVILHV");
    assert_eq!(f["severity"], "high");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains(&format!("maq.user ({user_sid})")), "{msg}");
    // The owner comes from the security descriptor read with the SD-flags control.
    assert!(
        f["evidence"]["owner"]
            .as_str()
            .is_some_and(|o| !o.is_empty()),
        "{f}"
    );
    // Unconfirmed too, but HV020 says it all: no HV021 beside it, no pair finding, no
    // readiness cell names it.
    assert!(
        !findings.iter().any(
            |f| f["rule_id"] != "HV020" && (f["object"] == "EVILHV" || f["target"] == "EVILHV")
        ),
        "EVILHV in another finding"
    );
    for g in v["readiness"].as_array().unwrap() {
        assert!(!g["hosts"].as_array().unwrap().iter().any(|h| h == "EVILHV"));
    }

    // The remediation script grants it nothing and says why it left it out.
    let script = dc.dir.join("maq-fix.ps1");
    let o = hvaudit(
        dc,
        &[
            "remediate",
            "--server",
            &dc.url,
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            script.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&script).unwrap();
    let left_out: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "#region Hyper-V host candidates left out")
        .take_while(|l| *l != "#endregion Hyper-V host candidates left out")
        .filter(|l| l.starts_with("#   EVILHV:"))
        .collect();
    assert_eq!(left_out.len(), 1, "{text}");
    assert!(left_out[0].contains("maq.user"), "{}", left_out[0]);
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(
        !code.iter().any(|l| l.to_lowercase().contains("evilhv")),
        "EVILHV in the script's code: {code:?}"
    );
}
