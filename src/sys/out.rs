//! The output writer: a byte buffer with the few printf conversions the
//! applets need (`%s`, `%-19s`, `%8ld`, `%d`), so that no applet pulls in
//! `core::fmt`. Output goes to a file descriptor, to syslog, or (in tests)
//! stays in the buffer.

use rustix::fd::BorrowedFd;

pub enum Sink {
    /// Keep everything in `buf` (tests).
    Buffer,
    /// Write to this descriptor, in chunks.
    Fd(i32),
    /// One syslog record a line, sent to /dev/log (rmmod -s, like kmod's
    /// `openlog(LOG_DAEMON)`), with stderr as the fallback when nobody listens.
    Syslog,
}

pub struct Out {
    pub buf: Vec<u8>,
    sink: Sink,
}

impl Out {
    pub fn new(sink: Sink) -> Out {
        Out { buf: Vec::new(), sink }
    }

    pub fn to_syslog(&mut self) {
        self.flush();
        self.sink = Sink::Syslog;
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Out {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= 4096 {
            self.flush();
        }
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Out {
        self.bytes(s.as_bytes())
    }

    pub fn byte(&mut self, b: u8) -> &mut Out {
        self.bytes(&[b])
    }

    /// `%d` / `%ld`.
    pub fn num(&mut self, n: i64) -> &mut Out {
        self.num_pad(n, 0)
    }

    /// `%Nld`: right-aligned in `width` columns.
    pub fn num_pad(&mut self, n: i64, width: usize) -> &mut Out {
        let mut digits = [0u8; 24];
        let mut i = digits.len();
        let mut v = n.unsigned_abs();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            i -= 1;
            digits[i] = b'-';
        }
        let len = digits.len() - i;
        for _ in len..width {
            self.byte(b' ');
        }
        self.bytes(&digits[i..])
    }

    /// `%-Ns`: left-aligned, padded with spaces to `width` columns, never cut.
    pub fn pad(&mut self, s: &[u8], width: usize) -> &mut Out {
        self.bytes(s);
        for _ in s.len()..width {
            self.byte(b' ');
        }
        self
    }

    pub fn flush(&mut self) {
        let fd = match self.sink {
            Sink::Buffer => return,
            Sink::Fd(fd) => fd,
            Sink::Syslog => {
                if crate::sys::syslog::send(&self.buf) {
                    self.buf.clear();
                    return;
                }
                2
            }
        };
        // SAFETY: the descriptor is one of the standard streams, open for the
        // whole life of the process.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let mut rest = &self.buf[..];
        while !rest.is_empty() {
            match rustix::io::write(fd, rest) {
                Ok(0) => break,
                Ok(n) => rest = &rest[n..],
                Err(rustix::io::Errno::INTR) => {}
                // A closed pipe or a full disk: nothing sensible is left to
                // tell, and the exit code already says how the work went.
                Err(_) => break,
            }
        }
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_conversions() {
        let mut o = Out::new(Sink::Buffer);
        o.pad(b"dummy", 19).byte(b' ').num_pad(16384, 8).str("  ").num(0);
        assert_eq!(o.buf, b"dummy                  16384  0");
        let mut o = Out::new(Sink::Buffer);
        o.pad(b"a_name_longer_than_nineteen", 19).num_pad(-2, 8).num(i64::MIN);
        assert_eq!(o.buf, b"a_name_longer_than_nineteen      -2-9223372036854775808");
    }
}
