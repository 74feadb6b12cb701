//! Bit readers. FSE and Huffman streams are read backwards from their last
//! bit (RFC 8878 §4.1, §4.2.2); table descriptions forwards (§4.1.1).

use super::super::CORRUPT;

/// Eight bytes of `s` from `i`, little-endian, with zeros past its end.
#[inline(always)]
pub(super) fn le64(s: &[u8], i: usize) -> u64 {
    match s.get(i..).and_then(<[u8]>::first_chunk) {
        Some(x) => u64::from_le_bytes(*x),
        None => le64_tail(s, i),
    }
}

/// le64 near the end of `s`: out of line, as it is rare.
#[cold]
#[inline(never)]
fn le64_tail(s: &[u8], i: usize) -> u64 {
    s.get(i..).unwrap_or_default().iter().rev().fold(0, |v, &b| v << 8 | u64::from(b))
}

/// The `n`-byte little-endian field of `s` at `i` (n <= 8); CORRUPT when
/// the input ends first.
pub(super) fn field(s: &[u8], i: usize, n: usize) -> Result<u64, &'static str> {
    if i.saturating_add(n) > s.len() {
        return Err(CORRUPT);
    }
    Ok(le64(s, i) & !u64::MAX.checked_shl(8 * n as u32).unwrap_or(0))
}

/// A stream read from its end towards its start. The last byte holds a 1
/// above the final padding (§4.1); bits before the start read as zeros, as
/// the RFC has it for the Huffman weights (§4.2.1.2), and `pos` going below
/// zero tells that the stream ran out.
pub(super) struct Rev<'a> {
    src: &'a [u8],
    /// How many bits are left to read.
    pub(super) pos: isize,
}

impl<'a> Rev<'a> {
    /// The stream `src[..len]`. The bytes after it are loaded with it (one
    /// load per read) but masked off.
    pub(super) fn new(src: &'a [u8], len: usize) -> Result<Self, &'static str> {
        let last = *src.get(len.wrapping_sub(1)).ok_or(CORRUPT)?;
        if last == 0 {
            return Err(CORRUPT);
        }
        Ok(Rev { src, pos: (len as isize - 1) * 8 + 7 - last.leading_zeros() as isize })
    }

    /// The `n` bits (n <= 32) from bit `q` up, the first one read being the
    /// highest.
    #[inline(always)]
    fn at(&self, q: isize, n: u32) -> u32 {
        let v = if q >= 0 { le64(self.src, (q >> 3) as usize) >> (q & 7) } else { self.before_start(q) };
        (v & ((1u64 << n) - 1)) as u32
    }

    /// The bits from `q` < 0 on: zeros, then the stream's first ones.
    #[cold]
    #[inline(never)]
    fn before_start(&self, q: isize) -> u64 {
        le64(self.src, 0).checked_shl(q.unsigned_abs() as u32).unwrap_or(0)
    }

    /// The next `n` bits without taking them.
    #[inline(always)]
    pub(super) fn peek(&self, n: u32) -> u32 {
        self.at(self.pos - n as isize, n)
    }

    /// Takes the next `n` bits (n <= 32), inline: for the hot loops.
    #[inline(always)]
    pub(super) fn take(&mut self, n: u32) -> u32 {
        self.pos -= n as isize;
        self.at(self.pos, n)
    }

    /// take() out of line, for the rest.
    pub(super) fn read(&mut self, n: u32) -> u32 {
        self.take(n)
    }
}

/// A stream read from its first bit, with zeros past its end; `bit` is how
/// many bits were taken.
pub(super) struct Fwd<'a> {
    src: &'a [u8],
    pub(super) bit: usize,
}

impl<'a> Fwd<'a> {
    pub(super) fn new(src: &'a [u8]) -> Self {
        Fwd { src, bit: 0 }
    }

    /// The next `n` bits (n <= 32) without taking them.
    pub(super) fn peek(&self, n: u32) -> u32 {
        (le64(self.src, self.bit >> 3) >> (self.bit & 7) & ((1u64 << n) - 1)) as u32
    }

    pub(super) fn read(&mut self, n: u32) -> u32 {
        let v = self.peek(n);
        self.bit += n as usize;
        v
    }
}
