//! The literals section (RFC 8878 §3.1.1.3.1) and its Huffman coding (§4.2).

use super::super::CORRUPT;
use super::bits::{le64, Rev};
use super::fse::{Kind, Table};

/// The longest Huffman code libzstd takes: 12 bits (HUF_TABLELOG_MAX; the
/// RFC says 11, and encoders keep to it).
const MAX_BITS: u32 = 12;

/// A Huffman decoding table: indexed by the next `log` bits of a stream,
/// the symbol in the low byte and its code's length above. It lives as long
/// as a frame, for treeless literals blocks; `log` 0 means none yet.
pub(super) struct Huffman {
    pub(super) log: u32,
    table: [u16; 1 << MAX_BITS],
}

/// The largest literals section and block content (§3.1.1.2).
pub(super) const BLOCK_MAX: usize = 128 << 10;

impl Huffman {
    pub(super) fn new() -> Self {
        Huffman { log: 0, table: [0; 1 << MAX_BITS] }
    }

    /// Builds the table from a tree description (§4.2.1) at the start of
    /// `src`; returns the bytes it took.
    fn read_tree(&mut self, src: &[u8]) -> Result<usize, &'static str> {
        let mut w = [0u8; 256];
        let head = *src.first().ok_or(CORRUPT)? as usize;
        let (n, used) = if head >= 128 {
            // Weights in 4-bit fields, two to a byte, high one first.
            let n = head - 127;
            let bytes = src.get(1..1 + n.div_ceil(2)).ok_or(CORRUPT)?;
            for (pair, &b) in w.chunks_exact_mut(2).zip(bytes) {
                pair[0] = b >> 4;
                pair[1] = b & 15;
            }
            (n, 1 + bytes.len())
        } else {
            (fse_weights(src.get(1..1 + head).ok_or(CORRUPT)?, &mut w)?, 1 + head)
        };
        self.build(&mut w, n)?;
        Ok(used)
    }

    /// Fills the table from the weights `w[..n]` and the one they imply for
    /// symbol `n` (§4.2.1.3): a weight-w symbol has a code of log + 1 - w
    /// bits; codes go out by weight, then by symbol, from the lowest.
    fn build(&mut self, w: &mut [u8; 256], n: usize) -> Result<(), &'static str> {
        let mut total = 0u32;
        for &x in w.iter().take(n) {
            if x > MAX_BITS as u8 {
                return Err(CORRUPT);
            }
            total += (1 << x) >> 1;
        }
        let log = 32 - total.leading_zeros();
        let rest = (1u32 << log).wrapping_sub(total);
        if total == 0 || log > MAX_BITS || !rest.is_power_of_two() {
            return Err(CORRUPT);
        }
        *w.get_mut(n).ok_or(CORRUPT)? = rest.trailing_zeros() as u8 + 1;
        let w = &w[..=n];
        // A full prefix code has its longest codes in pairs, as libzstd checks.
        if w.iter().filter(|&&x| x == 1).count() < 2 {
            return Err(CORRUPT);
        }
        let mut at = 0;
        for weight in 1..=log {
            for (s, _) in w.iter().enumerate().filter(|&(_, &x)| u32::from(x) == weight) {
                let len = 1 << (weight - 1);
                let entry = s as u16 | ((log + 1 - weight) as u16) << 8;
                self.table.iter_mut().skip(at).take(len).for_each(|e| *e = entry);
                at += len;
            }
        }
        self.log = log;
        Ok(())
    }

    /// Decodes one stream, `src[..len]`, into all of `out`; the stream must
    /// end exactly there (§4.2.2).
    fn stream(&self, src: &[u8], len: usize, out: &mut [u8]) -> Result<(), &'static str> {
        let mut r = Rev::new(src, len)?;
        for o in out {
            let e = self.table[r.peek(self.log) as usize & ((1 << MAX_BITS) - 1)];
            *o = e as u8;
            r.pos -= (e >> 8) as isize;
        }
        if r.pos != 0 {
            return Err(CORRUPT);
        }
        Ok(())
    }

    /// Reads the literals section at the start of `src[..size]` (a block);
    /// returns the literals, in the block or decoded into `buf`, and the
    /// section's size.
    pub(super) fn literals<'a>(
        &mut self,
        src: &'a [u8],
        size: usize,
        buf: &'a mut Vec<u8>,
    ) -> Result<(&'a [u8], usize), &'static str> {
        let v = le64(src, 0);
        let (kind, format) = (v & 3, (v >> 2 & 3) as usize);
        if kind < 2 {
            // Raw or RLE: a 5, 12 or 20-bit size in a header of 1 to 3 bytes.
            let head = [1, 2, 1, 3][format];
            let n = ((v & ((1 << (8 * head)) - 1)) >> (3 + (format & 1))) as usize;
            if kind == 0 {
                return Ok((src.get(head..head + n).filter(|_| head + n <= size).ok_or(CORRUPT)?, head + n));
            }
            let b = *src.get(head).filter(|_| head < size && n <= BLOCK_MAX).ok_or(CORRUPT)?;
            buf.clear();
            buf.resize(n, b);
            return Ok((buf, head + 1));
        }
        // Huffman: regenerated and compressed sizes of 10, 14 or 18 bits in a
        // header of 3 to 5 bytes; 4 streams but in the first format.
        let head = 2 + format.max(1);
        let bits = 4 * head - 2;
        let regen = (v >> 4 & ((1 << bits) - 1)) as usize;
        let end = head + (v >> (4 + bits) & ((1 << bits) - 1)) as usize;
        if end > size || regen > BLOCK_MAX || (format > 0 && regen < 6) {
            return Err(CORRUPT);
        }
        let mut at = head;
        if kind == 2 {
            at += self.read_tree(src.get(at..end).ok_or(CORRUPT)?)?;
        } else if self.log == 0 {
            return Err(CORRUPT); // treeless, with no tree before it in the frame
        }
        // Every byte is decoded over: no need to clear what was there.
        buf.resize(regen, 0);
        if format == 0 {
            self.stream(src.get(at..).ok_or(CORRUPT)?, end - at, buf)?;
            return Ok((buf, end));
        }
        self.four_streams(src, at, end, buf)?;
        Ok((buf, end))
    }

    /// Four streams from `src[at..end]`, after a table of the sizes of the
    /// first three (§3.1.1.3.1.6), each decoding a quarter of `out`
    /// (rounded up; the last has the rest).
    fn four_streams(&self, src: &[u8], at: usize, end: usize, out: &mut [u8]) -> Result<(), &'static str> {
        let sizes = le64(src, at);
        let mut from = at + 6;
        let quarter = out.len().div_ceil(4);
        for k in 0..4 {
            let len =
                if k < 3 { (sizes >> (16 * k) & 0xffff) as usize } else { end.checked_sub(from).ok_or(CORRUPT)? };
            let (lo, hi) = ((k * quarter).min(out.len()), ((k + 1) * quarter).min(out.len()));
            self.stream(src.get(from..).ok_or(CORRUPT)?, len, &mut out[lo..hi])?;
            from += len;
        }
        Ok(())
    }
}

/// Huffman weights compressed with FSE (§4.2.1.2): a table description,
/// then one stream read by two states in turn until it runs out. Returns
/// how many weights (at most 255) went into `w`.
fn fse_weights(src: &[u8], w: &mut [u8; 256]) -> Result<usize, &'static str> {
    let mut t = Table::new();
    let used = Kind::Weight.read(&mut t, src)?;
    let mut r = Rev::new(src.get(used..).ok_or(CORRUPT)?, src.len() - used)?;
    let log = t.log.into();
    let mut state = [r.read(log), r.read(log)];
    let mut n = 0;
    let mut k = 0;
    loop {
        // libzstd refuses a 255th weight from the loop (the last may be 255th).
        if n >= 254 {
            return Err(CORRUPT);
        }
        let c = t.cell(state[k]);
        w[n] = c.base as u8;
        n += 1;
        state[k] = u32::from(c.next) + r.read(c.bits.into());
        k ^= 1;
        if r.pos < 0 {
            // Out of bits: the other state gives the last weight.
            w[n] = t.cell(state[k]).base as u8;
            return Ok(n + 1);
        }
    }
}
