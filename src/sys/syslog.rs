//! Minimal syslog(3) client for `rmmod -s`: one datagram a record to the
//! /dev/log socket, facility daemon, priority err, as kmod's tools do with
//! `openlog(name, LOG_CONS, LOG_DAEMON)`.

use rustix::net::{sendto, socket, AddressFamily, SendFlags, SocketAddrUnix, SocketType};

/// Sends each line of `text` as one record. Returns false when no syslog
/// daemon listens, so that the caller can fall back to stderr (LOG_CONS).
pub fn send(text: &[u8]) -> bool {
    let Ok(addr) = SocketAddrUnix::new("/dev/log") else { return false };
    let Ok(sock) = socket(AddressFamily::UNIX, SocketType::DGRAM, None) else { return false };
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        // <27> = LOG_DAEMON (3 << 3) | LOG_ERR (3).
        let mut rec = Vec::with_capacity(line.len() + 4);
        rec.extend_from_slice(b"<27>");
        rec.extend_from_slice(line);
        if sendto(&sock, &rec, SendFlags::empty(), &addr).is_err() {
            return false;
        }
    }
    true
}
