//! FSE decoding tables (RFC 8878 §4.1): read from a table description, the
//! predefined distributions (§3.1.1.3.2.2) or a single RLE symbol.

use super::super::CORRUPT;
use super::bits::Fwd;

/// One state of a decoding table: its symbol, already turned into the
/// baseline and the count of extra bits of the code it stands for
/// (§3.1.1.3.2.1.1), and how to reach the next state (§4.1.1).
#[derive(Clone, Copy, Default)]
pub(super) struct Cell {
    pub(super) base: u32,
    pub(super) extra: u8,
    pub(super) bits: u8,
    pub(super) next: u16,
}

/// The largest table: an accuracy log of 9 (literal and match lengths).
const MAX_CELLS: usize = 512;

pub(super) struct Table {
    pub(super) log: u8,
    pub(super) cells: [Cell; MAX_CELLS],
}

impl Table {
    pub(super) fn new() -> Self {
        Table { log: 0, cells: [Cell::default(); MAX_CELLS] }
    }

    /// The cell of state `s`. States stay below the table's size (a next
    /// state is at most `(x + 1) << bits` minus the size, which the build
    /// keeps below twice the size), itself at most MAX_CELLS: the mask
    /// only shows the compiler so.
    #[inline(always)]
    pub(super) fn cell(&self, s: u32) -> Cell {
        self.cells[s as usize & (MAX_CELLS - 1)]
    }
}

/// One value of a table description (§4.1.1), at most `remaining`: in the
/// bits that can hold that, one fewer for the smallest values.
fn value(r: &mut Fwd, threshold: i32, remaining: i32) -> i32 {
    let bits = threshold.trailing_zeros() + 1;
    let v = r.peek(bits) as i32;
    let small = 2 * threshold - 1 - remaining;
    if v & (threshold - 1) < small {
        r.bit += bits as usize - 1;
        return v & (threshold - 1);
    }
    r.bit += bits as usize;
    let v = v & (2 * threshold - 1);
    if v >= threshold {
        v - small
    } else {
        v
    }
}

/// What a table's symbols stand for.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// Huffman weights (§4.2.1.2): the symbol itself.
    Weight,
    LitLen,
    Offset,
    MatchLen,
}

/// Extra bits of the literal length codes from 16 and of the match length
/// codes from 32 (§3.1.1.3.2.1.1); the baselines follow from them.
const LL_BITS: [u8; 20] = [1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const ML_BITS: [u8; 21] = [1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/// The predefined distributions (§3.1.1.3.2.2), with their accuracy logs.
const LL_DEFAULT: [i8; 36] =
    [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1];
const ML_DEFAULT: [i8; 53] = [
    1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1,
];
const OF_DEFAULT: [i8; 29] =
    [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1];

impl Kind {
    /// The largest symbol and accuracy log a description may have: 255 and
    /// 6 for weights (§4.2.1.2); 35, 31 (the largest offset code libzstd
    /// takes) and 52 for the codes, with logs 9, 8 and 9 (§3.1.1.3.2.1).
    fn limits(self) -> (usize, u32) {
        match self {
            Kind::Weight => (255, 6),
            Kind::LitLen => (35, 9),
            Kind::Offset => (31, 8),
            Kind::MatchLen => (52, 9),
        }
    }

    /// The baseline and extra bits of symbol `s` (at most the largest).
    fn code(self, s: usize) -> (u32, u8) {
        let (first, add, bits): (usize, u32, &[u8]) = match self {
            Kind::Weight => return (s as u32, 0),
            Kind::Offset => return (1 << s, s as u8),
            Kind::LitLen => (16, 0, &LL_BITS),
            Kind::MatchLen => (32, 3, &ML_BITS),
        };
        let above = s.saturating_sub(first);
        let base = bits.iter().take(above).fold(s.min(first) as u32 + add, |b, &n| b + (1 << n));
        let extra = if s < first { 0 } else { bits.get(above).copied().unwrap_or(0) };
        (base, extra)
    }

    /// A table of one symbol, read with no bits (RLE mode, §3.1.1.3.2.1).
    pub(super) fn rle(self, t: &mut Table, s: u8) -> Result<(), &'static str> {
        if s as usize > self.limits().0 {
            return Err(CORRUPT);
        }
        let (base, extra) = self.code(s as usize);
        t.log = 0;
        t.cells[0] = Cell { base, extra, bits: 0, next: 0 };
        Ok(())
    }

    /// The table of the predefined distribution (LitLen, Offset, MatchLen).
    pub(super) fn predefined(self, t: &mut Table) {
        let (dist, log): (&[i8], u32) = match self {
            Kind::LitLen => (&LL_DEFAULT, 6),
            Kind::MatchLen => (&ML_DEFAULT, 6),
            _ => (&OF_DEFAULT, 5),
        };
        let mut norm = [0i16; 256];
        norm.iter_mut().zip(dist).for_each(|(n, &d)| *n = d.into());
        self.build(t, log, &norm, dist.len());
    }

    /// Reads a table description (§4.1.1) from the start of `src` and builds
    /// its table; returns the bytes it took.
    pub(super) fn read(self, t: &mut Table, src: &[u8]) -> Result<usize, &'static str> {
        let (max, max_log) = self.limits();
        let mut r = Fwd::new(src);
        let log = r.read(4) + 5;
        if log > max_log {
            return Err(CORRUPT);
        }
        let mut norm = [0i16; 256];
        // Probability points left, plus one, and the power of two that
        // tells how many bits a value takes.
        let mut remaining = (1i32 << log) + 1;
        let mut threshold = 1i32 << log;
        let mut s = 0;
        loop {
            // The value is the probability plus one: 0 means "less than 1",
            // which takes one point.
            let p = value(&mut r, threshold, remaining) - 1;
            remaining -= p.abs();
            norm[s & 255] = p as i16; // s <= max < 256, checked below
            s += 1;
            if remaining <= 1 {
                break;
            }
            while remaining < threshold {
                threshold >>= 1;
            }
            if p == 0 {
                // Zeros repeat in 2-bit flags, a 3 meaning another flag.
                loop {
                    let n = r.read(2) as usize;
                    s += n;
                    if n < 3 {
                        break;
                    }
                }
            }
            if s > max {
                return Err(CORRUPT);
            }
        }
        let used = r.bit.div_ceil(8);
        if used > src.len() {
            return Err(CORRUPT);
        }
        self.build(t, log, &norm, s);
        Ok(used)
    }

    /// Builds the table of the distribution `norm[..n]`, whose points add
    /// up to `1 << log` (§4.1.1).
    fn build(self, t: &mut Table, log: u32, norm: &[i16; 256], n: usize) {
        let size = 1usize << log;
        // size <= MAX_CELLS: the mask only shows the compiler so.
        let mask = MAX_CELLS - 1;
        // Per symbol, the next of its states in state order, from its count.
        let mut next = [0u16; 256];
        // "Less than 1" symbols take one cell each from the end.
        let mut high = size;
        for (s, &p) in norm.iter().enumerate().take(n) {
            next[s] = p.unsigned_abs();
            if p < 0 {
                high -= 1;
                t.cells[high & mask].base = s as u32;
            }
        }
        // The others are spread over the rest with a step coprime with the
        // size, so that their counts, adding up to `high`, fill it exactly.
        let step = (size >> 1) + (size >> 3) + 3;
        let mut at = 0;
        for (s, &p) in norm.iter().enumerate().take(n) {
            for _ in 0..p.max(0) {
                t.cells[at & mask].base = s as u32;
                at = (at + step) & (size - 1);
                while at >= high {
                    at = (at + step) & (size - 1);
                }
            }
        }
        for c in t.cells.iter_mut().take(size) {
            let s = c.base as usize & 255;
            let x = next[s];
            next[s] += 1;
            // x runs from the symbol's count to twice it, less one: its
            // states split the table in ranges of 1 << bits.
            let bits = log - (15 - x.leading_zeros());
            *c = Cell { bits: bits as u8, next: ((x as usize) << bits).wrapping_sub(size) as u16, ..*c };
            (c.base, c.extra) = self.code(s);
        }
        t.log = log as u8;
    }
}
