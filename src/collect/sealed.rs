//! LDAP on port 389 protected by the Kerberos confidentiality ("sealing") security layer, as
//! Windows tools use it on domain controllers that hold no certificate (no LDAPS, no StartTLS).
//!
//! The SASL GSSAPI bind and its security-layer negotiation follow RFC 4752 section 3.1; the
//! protected stream is a sequence of buffers, each a 4-octet big-endian length and a GSS-API
//! wrap token (RFC 4422 section 3.7). hvaudit does the bind and the wrapping itself and hands
//! ldap3 a local socket (`ldapi://` over a socket pair) that carries the unwrapped LDAP
//! messages: ldap3 0.12's own GSSAPI layer drops messages when one SASL buffer holds several
//! (a paged search of 30 or more entries hangs, see `/docs` in the README), and it neither
//! insists on the confidentiality layer nor bounds the buffer length the server announces.
//!
//! The BER helpers below are compiled always (and unit-tested); the GSS-API part only with the
//! `kerberos` feature.

/// Largest protected buffer accepted from the DC, in octets: the receive size announced to the
/// DC in the security-layer reply (RFC 4752 section 3.1: three octets, so at most 2^24 - 1),
/// plus room for the wrap token's header and trailer. A longer length prefix is refused before
/// anything is allocated: it is attacker-controlled.
pub const MAX_RECV: u32 = 0x00FF_FFFF;
const WRAP_OVERHEAD: u32 = 1024;

/// SASL GSSAPI security-layer bits (RFC 4752 section 3.3).
pub const LAYER_NONE: u8 = 1;
pub const LAYER_INTEGRITY: u8 = 2;
pub const LAYER_CONFIDENTIALITY: u8 = 4;

/// The length of the first complete BER element (tag, length, contents) at the start of `buf`:
/// `Ok(None)` while more octets are needed, an error for what is not BER (RFC 4511 section
/// 5.1 allows only the definite form; lengths over 2^32 - 1 are refused).
pub fn ber_element_len(buf: &[u8]) -> Result<Option<usize>, String> {
    // Low-tag-number form only: LDAP messages never use tag numbers over 30.
    let Some(&tag) = buf.first() else {
        return Ok(None);
    };
    if tag & 0x1f == 0x1f {
        return Err(format!("BER tag 0x{tag:02x} in high-tag-number form"));
    }
    let Some(&first) = buf.get(1) else {
        return Ok(None);
    };
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 {
            return Err("BER indefinite length (not allowed in LDAP)".into());
        }
        if n > 4 {
            return Err(format!("BER length of {n} octets"));
        }
        let Some(bytes) = buf.get(2..2 + n) else {
            return Ok(None);
        };
        let len = bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        (
            usize::try_from(len).map_err(|_| "BER length too large".to_string())?,
            2 + n,
        )
    };
    let total = header
        .checked_add(len)
        .ok_or_else(|| "BER length too large".to_string())?;
    Ok((buf.len() >= total).then_some(total))
}

/// One BER element read from a complete buffer: (tag, contents, rest).
fn tlv(buf: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let total = ber_element_len(buf)?.ok_or("truncated BER element")?;
    let header = if buf[1] < 0x80 {
        2
    } else {
        2 + usize::from(buf[1] & 0x7f)
    };
    Ok((buf[0], &buf[header..total], &buf[total..]))
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn push_tlv(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    push_len(out, contents.len());
    out.extend_from_slice(contents);
}

/// A BindRequest (RFC 4511 section 4.2) for SASL mechanism GSSAPI with `creds`, as message
/// `id`. The name is empty: the identity comes from the Kerberos ticket.
pub fn sasl_bind_request(id: u8, creds: &[u8]) -> Vec<u8> {
    let mut sasl = Vec::new();
    push_tlv(&mut sasl, 0x04, b"GSSAPI");
    push_tlv(&mut sasl, 0x04, creds);
    let mut bind = Vec::new();
    push_tlv(&mut bind, 0x02, &[3]); // version 3
    push_tlv(&mut bind, 0x04, b""); // name
    push_tlv(&mut bind, 0xa3, &sasl); // [3] SaslCredentials
    let mut msg = Vec::new();
    push_tlv(&mut msg, 0x02, &[id]);
    push_tlv(&mut msg, 0x60, &bind); // [APPLICATION 0] BindRequest
    let mut out = Vec::new();
    push_tlv(&mut out, 0x30, &msg);
    out
}

/// What a BindResponse (RFC 4511 section 4.2.2) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindResponse {
    pub id: u64,
    pub rc: u32,
    pub text: String,
    /// serverSaslCreds, when present.
    pub creds: Option<Vec<u8>>,
}

/// Parses one complete LDAPMessage holding a BindResponse; anything else is an error naming
/// what was found (the DC's bytes are not trusted to be well-formed).
pub fn parse_bind_response(msg: &[u8]) -> Result<BindResponse, String> {
    let (tag, body, _) = tlv(msg)?;
    if tag != 0x30 {
        return Err(format!("expected an LDAP message, got tag 0x{tag:02x}"));
    }
    let (tag, id, rest) = tlv(body)?;
    if tag != 0x02 || id.is_empty() || id.len() > 4 {
        return Err("bad message id".into());
    }
    let id = id.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
    let (tag, op, _controls) = tlv(rest)?;
    if tag == 0x78 {
        return Err("the DC sent an extended response instead (notice of disconnection?)".into());
    }
    if tag != 0x61 {
        return Err(format!("expected a BindResponse, got tag 0x{tag:02x}"));
    }
    let (tag, rc, rest) = tlv(op)?;
    if tag != 0x0a || rc.is_empty() || rc.len() > 4 {
        return Err("bad resultCode".into());
    }
    let rc = rc.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
    let (_, _matched, rest) = tlv(rest)?;
    let (_, text, mut rest) = tlv(rest)?;
    let mut creds = None;
    while !rest.is_empty() {
        let (tag, value, more) = tlv(rest)?;
        if tag == 0x87 {
            creds = Some(value.to_vec());
        }
        rest = more;
    }
    Ok(BindResponse {
        id,
        rc,
        text: String::from_utf8_lossy(text).into_owned(),
        creds,
    })
}

/// Checks the DC's security-layer offer (the unwrapped last challenge, RFC 4752 section 3.1:
/// one octet of layer bits, three of maximum buffer size) and returns the largest buffer the
/// DC accepts (0: no limit stated).
pub fn check_offer(offer: &[u8]) -> Result<u32, String> {
    let [layers, a, b, c] = offer else {
        return Err(format!(
            "the DC's security-layer offer is {} octets, not 4",
            offer.len()
        ));
    };
    if layers & LAYER_CONFIDENTIALITY == 0 {
        return Err(format!(
            "the DC does not offer the Kerberos confidentiality (sealing) layer (offered: {})",
            layer_names(*layers)
        ));
    }
    Ok(u32::from_be_bytes([0, *a, *b, *c]))
}

/// The reply to the offer, before wrapping: confidentiality chosen, our receive size, no
/// authorization identity.
pub fn layer_reply() -> [u8; 4] {
    let [_, a, b, c] = MAX_RECV.to_be_bytes();
    [LAYER_CONFIDENTIALITY, a, b, c]
}

fn layer_names(bits: u8) -> String {
    let mut v = Vec::new();
    if bits & LAYER_NONE != 0 {
        v.push("none");
    }
    if bits & LAYER_INTEGRITY != 0 {
        v.push("integrity");
    }
    if bits & LAYER_CONFIDENTIALITY != 0 {
        v.push("confidentiality");
    }
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join(", ")
    }
}

/// Whether a buffer length announced by the DC is acceptable (see [`MAX_RECV`]).
pub fn recv_len_ok(len: u32) -> bool {
    len > 0 && len <= MAX_RECV + WRAP_OVERHEAD
}

#[cfg(feature = "kerberos")]
mod gss {
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
    use std::os::unix::net::UnixStream;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
    use libgssapi::name::Name;
    use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_KRB5_PRINCIPAL};

    use super::*;
    use crate::collect::kerberos::{Credential, KerberosBind};

    /// Why a sealed connection could not be made: `Connect` before the DC answered LDAP,
    /// `Refused` when the DC answered the bind with a result code, `Failed` for a GSS-API or
    /// protocol failure.
    #[derive(Debug)]
    pub enum SealError {
        Connect(String),
        Refused { rc: u32, text: String },
        Failed(String),
    }

    fn gss_err(what: &str, e: impl std::fmt::Display) -> SealError {
        SealError::Failed(format!("{what}: {e}"))
    }

    /// Connects to `host:port`, binds with SASL GSSAPI for `ldap/<spn host>` and the
    /// confidentiality layer, and returns the local end of a socket pair that carries plain
    /// LDAP (for ldap3's `ldapi://` with `StdStream::Unix`). A relay thread per direction
    /// wraps and unwraps; they end when either side closes. `timeout` bounds the TCP connect
    /// and each read and write of the bind.
    pub fn connect(
        host: &str,
        port: u16,
        how: &KerberosBind,
        cred: Credential,
        timeout: Duration,
    ) -> Result<UnixStream, SealError> {
        let mut tcp = tcp_connect(host, port, timeout)?;
        let io = |e: std::io::Error| SealError::Connect(e.to_string());
        tcp.set_read_timeout(Some(timeout)).map_err(io)?;
        tcp.set_write_timeout(Some(timeout)).map_err(io)?;
        tcp.set_nodelay(true).map_err(io)?;

        let spn = format!("ldap/{}", how.spn_host);
        let target = Name::new(spn.as_bytes(), Some(&GSS_NT_KRB5_PRINCIPAL))
            .and_then(|n| n.canonicalize(Some(&GSS_MECH_KRB5)))
            .map_err(|e| gss_err("service name", e))?;
        // Confidentiality and integrity are asked for explicitly (Windows honours only what
        // the client's authenticator requests); mutual authentication proves the DC holds
        // the service key, which is what stands in for the certificate check here.
        let flags = CtxFlags::GSS_C_MUTUAL_FLAG
            | CtxFlags::GSS_C_CONF_FLAG
            | CtxFlags::GSS_C_INTEG_FLAG
            | CtxFlags::GSS_C_SEQUENCE_FLAG
            | CtxFlags::GSS_C_REPLAY_FLAG;
        let mut ctx = ClientCtx::new(Some(cred.into_cred()), target, flags, Some(&GSS_MECH_KRB5));

        let mut id = 0u8;
        let mut input: Option<Vec<u8>> = None;
        // Kerberos needs one or two legs; more means something is wrong.
        let offer = loop {
            if id > 8 {
                return Err(SealError::Failed(
                    "the GSSAPI exchange did not finish".into(),
                ));
            }
            let out = ctx
                .step(input.as_deref(), None)
                .map_err(|e| gss_err("GSSAPI", e))?;
            let complete = ctx.is_complete();
            if out.is_none() && !complete {
                return Err(SealError::Failed("GSSAPI produced no token".into()));
            }
            id += 1;
            let token = out.as_deref().unwrap_or(&[]).to_vec();
            let resp = exchange(&mut tcp, id, &token)?;
            // 14 saslBindInProgress: the DC wants another leg. Anything else before the layer
            // is agreed (success included) leaves the connection unprotected: refused.
            if resp.rc != 14 {
                return Err(if resp.rc == 0 {
                    SealError::Failed(
                        "the DC completed the bind without negotiating a security layer".into(),
                    )
                } else {
                    SealError::Refused {
                        rc: resp.rc,
                        text: resp.text,
                    }
                });
            }
            if complete {
                break resp.creds.unwrap_or_default();
            }
            input = Some(resp.creds.unwrap_or_default());
        };
        let offer = ctx
            .unwrap(&offer)
            .map_err(|e| gss_err("unwrapping the DC's security-layer offer", e))?;
        let send_max = check_offer(&offer).map_err(SealError::Failed)?;
        let granted = ctx.flags().map_err(|e| gss_err("GSSAPI flags", e))?;
        if !granted.contains(CtxFlags::GSS_C_CONF_FLAG) {
            return Err(SealError::Failed(
                "the Kerberos context offers no confidentiality".into(),
            ));
        }
        let reply = ctx
            .wrap(false, &layer_reply())
            .map_err(|e| gss_err("wrapping the security-layer reply", e))?;
        id += 1;
        let resp = exchange(&mut tcp, id, &reply)?;
        if resp.rc != 0 {
            return Err(SealError::Refused {
                rc: resp.rc,
                text: resp.text,
            });
        }
        // From here on every message is sealed. Waits are bounded by ldap3's per-operation
        // timeout on the other end of the pair.
        tcp.set_read_timeout(None).map_err(io)?;
        let (ours, theirs) = UnixStream::pair().map_err(io)?;
        let ctx = Arc::new(Mutex::new(ctx));
        let (tcp_r, ours_w) = (tcp.try_clone().map_err(io)?, ours.try_clone().map_err(io)?);
        let ctx_r = Arc::clone(&ctx);
        std::thread::Builder::new()
            .name("ldap-unseal".into())
            .spawn(move || downlink(tcp_r, ours_w, &ctx_r))
            .map_err(io)?;
        std::thread::Builder::new()
            .name("ldap-seal".into())
            .spawn(move || uplink(ours, tcp, &ctx, send_max))
            .map_err(io)?;
        Ok(theirs)
    }

    fn tcp_connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, SealError> {
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| SealError::Connect(format!("failed to lookup address information: {e}")))?
            .collect();
        let mut last = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, timeout) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(SealError::Connect(match last {
            Some(e) => e.to_string(),
            None => "failed to lookup address information: no address".into(),
        }))
    }

    /// Sends one bind request and reads its response (clear text: the bind legs carry only
    /// Kerberos tokens, which are protected by themselves).
    fn exchange(tcp: &mut TcpStream, id: u8, token: &[u8]) -> Result<BindResponse, SealError> {
        let conn = |e: std::io::Error| SealError::Connect(e.to_string());
        tcp.write_all(&sasl_bind_request(id, token)).map_err(conn)?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let len = loop {
            if let Some(n) = ber_element_len(&buf)
                .map_err(|e| SealError::Failed(format!("bind response: {e}")))?
            {
                break n;
            }
            // A bind response is small; a DC sending megabytes is not answering the bind.
            if buf.len() > 1 << 20 {
                return Err(SealError::Failed("bind response over 1 MiB".into()));
            }
            let n = tcp.read(&mut chunk).map_err(conn)?;
            if n == 0 {
                return Err(SealError::Connect("the DC closed the connection".into()));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let resp = parse_bind_response(&buf[..len])
            .map_err(|e| SealError::Failed(format!("bind response: {e}")))?;
        if resp.id != u64::from(id) {
            return Err(SealError::Failed(format!(
                "bind response for message {} while {id} was asked",
                resp.id
            )));
        }
        Ok(resp)
    }

    /// ldap3's requests -> sealed buffers to the DC, one LDAP message per buffer (split only
    /// when the DC's maximum requires it).
    fn uplink(mut local: UnixStream, mut tcp: TcpStream, ctx: &Mutex<ClientCtx>, max: u32) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        // The DC's limit applies to the wrapped token; leave room for its overhead.
        let max = if max == 0 {
            usize::MAX
        } else {
            (max as usize)
                .saturating_sub(WRAP_OVERHEAD as usize)
                .max(1024)
        };
        'outer: loop {
            match local.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            loop {
                let len = match ber_element_len(&buf) {
                    Ok(Some(n)) => n,
                    Ok(None) => break,
                    Err(_) => break 'outer,
                };
                let msg: Vec<u8> = buf.drain(..len).collect();
                for part in msg.chunks(max) {
                    let token = match ctx.lock() {
                        Ok(mut c) => c.wrap(true, part),
                        Err(_) => break 'outer,
                    };
                    let Ok(token) = token else { break 'outer };
                    let Ok(len) = u32::try_from(token.len()) else {
                        break 'outer;
                    };
                    if tcp.write_all(&len.to_be_bytes()).is_err() || tcp.write_all(&token).is_err()
                    {
                        break 'outer;
                    }
                }
            }
        }
        let _ = tcp.shutdown(Shutdown::Write);
        let _ = local.shutdown(Shutdown::Both);
    }

    /// Sealed buffers from the DC -> plain LDAP for ldap3. A length out of bounds or a token
    /// that does not unwrap (tampered, or not from this session) ends the connection, which
    /// ldap3 reports as cut.
    fn downlink(mut tcp: TcpStream, mut local: UnixStream, ctx: &Mutex<ClientCtx>) {
        loop {
            let mut len = [0u8; 4];
            if tcp.read_exact(&mut len).is_err() {
                break;
            }
            let len = u32::from_be_bytes(len);
            if !recv_len_ok(len) {
                break;
            }
            let mut token = vec![0u8; len as usize];
            if tcp.read_exact(&mut token).is_err() {
                break;
            }
            let plain = match ctx.lock() {
                Ok(mut c) => c.unwrap(&token),
                Err(_) => break,
            };
            let Ok(plain) = plain else { break };
            if local.write_all(&plain).is_err() {
                break;
            }
        }
        let _ = local.shutdown(Shutdown::Both);
        let _ = tcp.shutdown(Shutdown::Both);
    }
}

#[cfg(feature = "kerberos")]
pub use gss::{SealError, connect};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ber_lengths() {
        assert_eq!(ber_element_len(&[]), Ok(None));
        assert_eq!(ber_element_len(&[0x30]), Ok(None));
        assert_eq!(ber_element_len(&[0x30, 0x00]), Ok(Some(2)));
        assert_eq!(ber_element_len(&[0x30, 0x02, 1]), Ok(None));
        assert_eq!(ber_element_len(&[0x30, 0x02, 1, 2, 3]), Ok(Some(4)));
        assert_eq!(ber_element_len(&[0x30, 0x82, 0x01]), Ok(None));
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.resize(4 + 256, 0);
        assert_eq!(ber_element_len(&long), Ok(Some(260)));
        assert!(ber_element_len(&[0x30, 0x80]).is_err(), "indefinite");
        assert!(ber_element_len(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(ber_element_len(&[0x3f, 0x00]).is_err());
        // 4 GiB - 1 announced: fine to report, the caller decides whether to wait for it.
        assert_eq!(
            ber_element_len(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            Ok(None)
        );
    }

    #[test]
    fn bind_request_round_trips_through_ldap3s_parser() {
        let req = sasl_bind_request(7, &[0xde, 0xad]);
        assert_eq!(ber_element_len(&req), Ok(Some(req.len())));
        let (_, tag) = ldap3::asn1::parse_tag(&req).expect("BER");
        let seq = tag.expect_constructed().expect("sequence");
        assert_eq!(seq.len(), 2);
        // Long credentials take the long length form.
        let big = sasl_bind_request(1, &vec![0u8; 70_000]);
        assert_eq!(ber_element_len(&big), Ok(Some(big.len())));
        assert!(ldap3::asn1::parse_tag(&big).is_ok());
    }

    fn response(id: u8, rc: u8, text: &str, creds: Option<&[u8]>) -> Vec<u8> {
        let mut op = Vec::new();
        push_tlv(&mut op, 0x0a, &[rc]);
        push_tlv(&mut op, 0x04, b"");
        push_tlv(&mut op, 0x04, text.as_bytes());
        if let Some(c) = creds {
            push_tlv(&mut op, 0x87, c);
        }
        let mut msg = Vec::new();
        push_tlv(&mut msg, 0x02, &[id]);
        push_tlv(&mut msg, 0x61, &op);
        let mut out = Vec::new();
        push_tlv(&mut out, 0x30, &msg);
        out
    }

    #[test]
    fn bind_responses_parse_and_hostile_ones_are_errors() {
        let r = parse_bind_response(&response(2, 14, "", Some(&[1, 2, 3]))).unwrap();
        assert_eq!(
            r,
            BindResponse {
                id: 2,
                rc: 14,
                text: String::new(),
                creds: Some(vec![1, 2, 3])
            }
        );
        let r = parse_bind_response(&response(3, 49, "80090308: bad ticket", None)).unwrap();
        assert_eq!(
            (r.rc, r.text.as_str(), r.creds),
            (49, "80090308: bad ticket", None)
        );
        let good = response(2, 0, "", None);
        for cut in 0..good.len() {
            assert!(parse_bind_response(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_bind_response(&[0x04, 0x00]).is_err());
        let mut wrong_op = good.clone();
        wrong_op[5] = 0x64; // a search entry
        assert!(parse_bind_response(&wrong_op).is_err());
    }

    #[test]
    fn security_layer_offers() {
        assert_eq!(check_offer(&[7, 0x00, 0xff, 0xff]), Ok(0xffff));
        assert_eq!(check_offer(&[4, 0, 0, 0]), Ok(0));
        let e = check_offer(&[3, 0, 0x10, 0]).unwrap_err();
        assert!(
            e.contains("does not offer") && e.contains("none, integrity"),
            "{e}"
        );
        assert!(check_offer(&[]).is_err());
        assert!(check_offer(&[4, 0, 0, 0, 0]).is_err());
        assert_eq!(layer_reply(), [4, 0xff, 0xff, 0xff]);
        assert!(recv_len_ok(1) && recv_len_ok(MAX_RECV));
        assert!(!recv_len_ok(0) && !recv_len_ok(u32::MAX));
    }
}
