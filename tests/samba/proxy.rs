//! Loopback TCP proxies between hvaudit and the Samba DC, for fault injection.
//!
//! [`FaultProxy`] forwards bytes untouched (TLS passes through end to end) and can cut, stall or
//! reset the connection. It listens on the DC's own IP with an ephemeral port by default, so the
//! DC's certificate (whose SAN is that IP) still matches the URL hvaudit is given.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Forward everything.
    Pass,
    /// Forward this many bytes from the server, then close both sides (FIN to the client).
    CutAfter(u64),
    /// Forward this many bytes from the server, then forward nothing more but keep both
    /// connections open until the proxy is dropped.
    StallAfter(u64),
    /// Read the client's first flight (the TLS ClientHello) and answer with a TCP reset.
    ResetAfterClientHello,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    server_bytes: Arc<AtomicU64>,
    accepted: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on `listen_ip`:ephemeral and forwards each connection to `upstream`.
    pub fn start(listen_ip: &str, upstream: SocketAddr, fault: Fault) -> FaultProxy {
        let listener = TcpListener::bind((listen_ip, 0)).expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let server_bytes = Arc::new(AtomicU64::new(0));
        let accepted = Arc::new(AtomicU64::new(0));
        let (s, b, a) = (stop.clone(), server_bytes.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let (s, b) = (s.clone(), b.clone());
                std::thread::spawn(move || handle(client, upstream, fault, &s, &b));
            }
        });
        FaultProxy {
            addr,
            stop,
            server_bytes,
            accepted,
            thread: Some(thread),
        }
    }

    /// `scheme://ip:port` of the proxy.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// Bytes received from the server over every connection so far.
    pub fn server_bytes(&self) -> u64 {
        self.server_bytes.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(
    client: TcpStream,
    upstream: SocketAddr,
    fault: Fault,
    stop: &AtomicBool,
    bytes: &AtomicU64,
) {
    if stop.load(Ordering::SeqCst) {
        return;
    }
    if let Fault::ResetAfterClientHello = fault {
        let mut c = client;
        let mut buf = [0u8; 4096];
        // A TLS record header is 5 bytes; the ClientHello fits in the first flight.
        let _ = c.read(&mut buf);
        // SO_LINGER 0: close() sends RST instead of FIN.
        let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
        drop(c);
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let limit = match fault {
        Fault::CutAfter(n) | Fault::StallAfter(n) => n,
        _ => u64::MAX,
    };
    let (mut s_read, mut c_write) = (server.try_clone().unwrap(), client.try_clone().unwrap());
    let mut sent = 0u64;
    let mut buf = [0u8; 16384];
    loop {
        let want = (limit - sent).min(buf.len() as u64) as usize;
        if want == 0 {
            break;
        }
        match s_read.read(&mut buf[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                bytes.fetch_add(n as u64, Ordering::SeqCst);
                if c_write.write_all(&buf[..n]).is_err() {
                    break;
                }
                sent += n as u64;
            }
        }
    }
    if let Fault::StallAfter(_) = fault
        && sent == limit
    {
        // Hold both connections open, silent, until the test drops the proxy.
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    let _ = up.join();
}
