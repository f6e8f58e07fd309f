//! A recording LDAPS proxy: it terminates TLS with the DC's own certificate (issued for the DC's
//! IP, on which the proxy listens), decodes each LDAP request's protocolOp tag, and re-encrypts
//! to the DC. A write request (add, modify, delete, modDN) is recorded as a violation and is
//! NOT forwarded: the connection is closed instead, so the DC never sees it.
//!
//! It relays half-duplex: one request, then the server's responses up to the final one. The
//! sync ldap3 client that hvaudit uses never has two operations in flight; a client that did
//! would stall here and fail the test through its watchdog, which is worth knowing too.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConnection, ServerConnection, StreamOwned};

use super::samba_dc::TestDc;

/// LDAPMessage protocolOp tags (RFC 4511, APPLICATION class).
pub const BIND: u8 = 0x60;
pub const UNBIND: u8 = 0x42;
pub const SEARCH: u8 = 0x63;
pub const MODIFY: u8 = 0x66;
pub const ADD: u8 = 0x68;
pub const DELETE: u8 = 0x4a;
pub const MOD_DN: u8 = 0x6c;
pub const COMPARE: u8 = 0x6e;
pub const ABANDON: u8 = 0x50;
pub const EXTENDED: u8 = 0x77;
const SEARCH_ENTRY: u8 = 0x64;
const SEARCH_REFERENCE: u8 = 0x73;
const INTERMEDIATE: u8 = 0x79;

pub fn op_name(tag: u8) -> &'static str {
    match tag {
        BIND => "bind",
        UNBIND => "unbind",
        SEARCH => "search",
        MODIFY => "modify",
        ADD => "add",
        DELETE => "delete",
        MOD_DN => "modDN",
        COMPARE => "compare",
        ABANDON => "abandon",
        EXTENDED => "extended",
        _ => "unknown",
    }
}

#[derive(Default)]
struct Log {
    /// Every request's protocolOp tag, in order, over all connections.
    ops: Vec<u8>,
    /// Write requests refused, and framing errors.
    violations: Vec<String>,
}

pub struct Recorder {
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    listener_thread: Option<JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Recorder {
    pub fn start(dc: &TestDc) -> Recorder {
        let tls_dir = dc.dir.join("tls-lab");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(tls_dir.join("server.pem"))
                .expect("DC certificate")
                .map(|c| c.expect("PEM certificate"))
                .collect();
        let key = PrivateKeyDer::from_pem_file(tls_dir.join("server.key")).expect("DC key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_cfg = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("server TLS config"),
        );
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&dc.ca_file).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let client_cfg = Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        let upstream: SocketAddr = format!("{}:636", dc.ip).parse().unwrap();
        let server_name = ServerName::IpAddress(dc.ip.parse::<std::net::IpAddr>().unwrap().into());

        let listener = TcpListener::bind((dc.ip.as_str(), 0)).expect("bind recorder");
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (l, s) = (log.clone(), stop.clone());
        let listener_thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (l, sc, cc, sn) = (
                    l.clone(),
                    server_cfg.clone(),
                    client_cfg.clone(),
                    server_name.clone(),
                );
                std::thread::spawn(move || {
                    if let Err(e) = relay(conn, upstream, sc, cc, sn, &l) {
                        l.lock().unwrap().violations.push(format!("relay: {e}"));
                    }
                });
            }
        });
        Recorder {
            addr,
            log,
            listener_thread: Some(listener_thread),
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("ldaps://{}", self.addr)
    }

    pub fn ops(&self) -> Vec<u8> {
        self.log.lock().unwrap().ops.clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.log.lock().unwrap().violations.clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.listener_thread.take() {
            let _ = t.join();
        }
    }
}

fn is_write(tag: u8) -> bool {
    matches!(tag, ADD | MODIFY | DELETE | MOD_DN)
}

fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    server_cfg: Arc<rustls::ServerConfig>,
    client_cfg: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    log: &Mutex<Log>,
) -> std::io::Result<()> {
    let timeout = Some(Duration::from_secs(60));
    client.set_read_timeout(timeout)?;
    let tls = ServerConnection::new(server_cfg).map_err(std::io::Error::other)?;
    let mut client = StreamOwned::new(tls, client);
    let server = TcpStream::connect(upstream)?;
    server.set_read_timeout(timeout)?;
    let tls = ClientConnection::new(client_cfg, name).map_err(std::io::Error::other)?;
    let mut server = StreamOwned::new(tls, server);
    loop {
        // End of the client's stream (after unbind, or a dropped connection) ends the relay.
        let Ok(Some(req)) = read_message(&mut client) else {
            return Ok(());
        };
        let tag = match protocol_op(&req) {
            Some(t) => t,
            None => {
                log.lock().unwrap().violations.push(format!(
                    "undecodable request: {:02x?}",
                    &req[..req.len().min(32)]
                ));
                return Ok(());
            }
        };
        {
            let mut l = log.lock().unwrap();
            l.ops.push(tag);
            if is_write(tag) {
                l.violations.push(format!(
                    "{} request (protocolOp {tag:#04x}) refused, not forwarded",
                    op_name(tag)
                ));
                return Ok(());
            }
        }
        server.write_all(&req)?;
        server.flush()?;
        if matches!(tag, UNBIND | ABANDON) {
            continue; // no response
        }
        loop {
            let Some(resp) = read_message(&mut server)? else {
                return Ok(());
            };
            client.write_all(&resp)?;
            client.flush()?;
            match protocol_op(&resp) {
                Some(SEARCH_ENTRY | SEARCH_REFERENCE | INTERMEDIATE) => continue,
                // Notice of disconnection (message ID 0) or a final response.
                _ => break,
            }
        }
    }
}

/// Reads one BER-framed LDAPMessage (SEQUENCE, definite length); `None` at a clean end.
fn read_message<R: Read>(r: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut tag = [0u8; 1];
    match r.read(&mut tag)? {
        0 => return Ok(None),
        _ if tag[0] != 0x30 => {
            return Err(std::io::Error::other(format!(
                "LDAPMessage tag {:#04x} is not SEQUENCE",
                tag[0]
            )));
        }
        _ => {}
    }
    let mut msg = vec![tag[0]];
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    msg.push(b[0]);
    let len = if b[0] < 0x80 {
        b[0] as usize
    } else {
        let n = (b[0] & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(std::io::Error::other("unsupported BER length"));
        }
        let mut l = vec![0u8; n];
        r.read_exact(&mut l)?;
        msg.extend_from_slice(&l);
        l.iter().fold(0usize, |a, &x| (a << 8) | x as usize)
    };
    let start = msg.len();
    msg.resize(start + len, 0);
    r.read_exact(&mut msg[start..])?;
    Ok(Some(msg))
}

/// The protocolOp tag: the element after the messageID INTEGER.
pub fn protocol_op(msg: &[u8]) -> Option<u8> {
    let mut i = 1;
    let first = *msg.get(i)?;
    i += 1 + if first < 0x80 {
        0
    } else {
        (first & 0x7f) as usize
    };
    if *msg.get(i)? != 0x02 {
        return None;
    }
    let id_len = *msg.get(i + 1)? as usize;
    msg.get(i + 2 + id_len).copied()
}
