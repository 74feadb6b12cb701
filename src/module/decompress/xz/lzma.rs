//! LZMA2 (xz format, section 5.3.1) and the LZMA decoder under it.
//!
//! The whole output is in memory, so the output is the dictionary: matches
//! copy from what was decoded before, straight into the output buffer,
//! with no circular buffer and no second copy. The facts of the format
//! (chunk headers, the probability model, the range coder) are those of
//! the LZMA SDK's specification and of liblzma, the decoder kmod uses,
//! whose verdicts this decoder follows.

use super::super::{grow_to, CORRUPT};

// The probabilities, 11-bit, all in one array; the offsets of each group.
// `state` is one of 12 (what the last symbols were), `pos_state` the low
// `pb` bits of the position (at most 16 values).
const IS_MATCH: usize = 0; // [state][pos_state]
const IS_REP: usize = IS_MATCH + 12 * 16; // [state]
const IS_REP0: usize = IS_REP + 12;
const IS_REP1: usize = IS_REP0 + 12;
const IS_REP2: usize = IS_REP1 + 12;
const IS_REP0_LONG: usize = IS_REP2 + 12; // [state][pos_state]
const SLOT: usize = IS_REP0_LONG + 12 * 16; // [min(len, 3)][64]: distance slots
const SPECIAL: usize = SLOT + 4 * 64; // the low bits of distances of slots 4..13
const ALIGN: usize = SPECIAL + 114; // the 4 low bits of distances of slots 14..
const MATCH_LEN: usize = ALIGN + 16;
const REP_LEN: usize = MATCH_LEN + LEN;
const LITERAL: usize = REP_LEN + LEN; // [16][0x300]: lc + lp <= 4
const TOTAL: usize = LITERAL + 16 * 0x300;
// A length coder: two choice bits, then 3 bits (per pos_state) for lengths
// 2..9 and 10..17, or 8 bits for 18..273.
const LOW: usize = 2;
const MID: usize = LOW + 16 * 8;
const HIGH: usize = MID + 16 * 8;
const LEN: usize = HIGH + 256;

/// The range decoder over one LZMA chunk.
struct Rc<'a> {
    input: &'a [u8],
    next: usize,
    range: u32,
    code: u32,
}

impl<'a> Rc<'a> {
    /// A chunk starts with a zero byte and the 32-bit code, big-endian.
    fn new(input: &'a [u8]) -> Result<Rc<'a>, &'static str> {
        match input {
            [0, a, b, c, d, ..] => Ok(Rc { input, next: 5, range: !0, code: u32::from_be_bytes([*a, *b, *c, *d]) }),
            _ => Err(CORRUPT),
        }
    }

    /// Normalised after every bit, so the end of the chunk needs no extra
    /// step (liblzma normalises before each bit and once at the end: the
    /// same bytes are read). Past the chunk's end it reads zeros; `done`
    /// then fails, and the chunk's output is bounded, so that is harmless.
    #[inline(always)]
    fn normalize(&mut self) {
        if self.range < 1 << 24 {
            self.range <<= 8;
            self.code = (self.code << 8) | self.input.get(self.next).map_or(0, |&b| b as u32);
            self.next += 1;
        }
    }

    /// One bit with probability `p` (of a 0, in 2048ths), which adapts.
    #[inline(always)]
    fn bit(&mut self, p: &mut u16) -> usize {
        let bound = (self.range >> 11) * *p as u32;
        let b = if self.code < bound {
            self.range = bound;
            *p += (2048 - *p) >> 5;
            0
        } else {
            self.range -= bound;
            self.code -= bound;
            *p -= *p >> 5;
            1
        };
        self.normalize();
        b
    }

    /// One bit as `bit` does, without a branch on its value: for the bits
    /// of a literal, a length or a distance, where the next step does not
    /// depend on the bit and a branch would be mispredicted half the time.
    #[inline(always)]
    fn bit_data(&mut self, p: &mut u16) -> usize {
        let prob = *p as u32;
        let bound = (self.range >> 11) * prob;
        let one = ((self.code >= bound) as u32).wrapping_neg();
        self.code -= bound & one;
        self.range = (bound & !one) | ((self.range - bound) & one);
        *p = (((prob + ((2048 - prob) >> 5)) & !one) | ((prob - (prob >> 5)) & one)) as u16;
        self.normalize();
        (one & 1) as usize
    }

    /// A literal's 8 bits, most significant first, through the tree at
    /// `p[at + 1..at + 256]`. Both children of a node are loaded while its
    /// bit is decoded: the load no longer waits for the bit. (The last
    /// bit's "children" are other probabilities of the literal coder, at
    /// most `p[at + 511]`, loaded for nothing.)
    #[inline(always)]
    fn byte(&mut self, p: &mut [u16; TOTAL], at: usize) -> u8 {
        let mut m = 1;
        let mut prob = p[at + 1];
        while m < 0x100 {
            let (zero, one) = (p[at + 2 * m], p[at + 2 * m + 1]);
            let mut q = prob;
            let b = self.bit_data(&mut q);
            p[at + m] = q;
            prob = if b != 0 { one } else { zero };
            m = (m << 1) | b;
        }
        m as u8
    }

    /// `n` bits, most significant first, through a tree of probabilities
    /// at `p[at + 1..at + 2^n]`.
    #[inline(always)]
    fn tree(&mut self, p: &mut [u16; TOTAL], at: usize, n: u32) -> usize {
        let mut m = 1;
        for _ in 0..n {
            m = (m << 1) | self.bit_data(&mut p[at + m]);
        }
        m - (1 << n)
    }

    /// `n` bits, least significant first, through a tree of probabilities
    /// at `p[at + 1..at + 2^n]`.
    #[inline(always)]
    fn reverse(&mut self, p: &mut [u16; TOTAL], at: usize, n: usize) -> usize {
        let (mut m, mut v) = (1, 0);
        for i in 0..n {
            let b = self.bit_data(&mut p[at + m]);
            m = (m << 1) | b;
            v |= b << i;
        }
        v
    }

    /// `n` bits of even probability.
    #[inline(always)]
    fn direct(&mut self, n: usize) -> usize {
        let mut v = 0;
        for _ in 0..n {
            self.range >>= 1;
            let b = self.code >= self.range;
            if b {
                self.code -= self.range;
            }
            v = (v << 1) | b as usize;
            self.normalize();
        }
        v
    }

    /// A chunk ends with the whole chunk read and the code at 0
    /// (liblzma's rc_is_finished).
    fn done(&self) -> bool {
        self.code == 0 && self.next == self.input.len()
    }
}

/// The LZMA state that lives from chunk to chunk of a block.
pub(super) struct Lzma {
    p: Box<[u16; TOTAL]>,
    state: usize,
    reps: [usize; 4],
    lc: usize,
    lp_mask: usize,
    pb_mask: usize,
}

/// Where the current dictionary starts in the output, and how far back a
/// match may reach.
#[derive(Clone, Copy)]
struct Dict {
    start: usize,
    size: usize,
}

impl Lzma {
    /// The probabilities are set by the first chunk's properties, which
    /// every block must have.
    pub(super) fn new() -> Result<Lzma, &'static str> {
        // Made on the heap: Box::new would build the 28 KB on the stack
        // first. The conversion cannot fail: the length is TOTAL.
        let p = vec![0; TOTAL].into_boxed_slice().try_into().map_err(|_| CORRUPT)?;
        Ok(Lzma { p, state: 0, reps: [0; 4], lc: 0, lp_mask: 0, pb_mask: 0 })
    }

    /// A state reset: probabilities at one half, no history.
    fn reset(&mut self) {
        self.p.fill(1024);
        self.state = 0;
        self.reps = [0; 4];
    }

    /// The properties byte: (pb * 5 + lp) * 9 + lc, with lc + lp <= 4 in
    /// LZMA2. New properties reset the state.
    fn props(&mut self, b: u8) -> Result<(), &'static str> {
        let b = b as usize;
        let (lc, lp, pb) = (b % 9, b / 9 % 5, b / 45);
        if pb > 4 || lc + lp > 4 {
            return Err(CORRUPT);
        }
        (self.lc, self.lp_mask, self.pb_mask) = (lc, (1 << lp) - 1, (1 << pb) - 1);
        self.reset();
        Ok(())
    }
}

/// The output so far: `buf` is zeroed room, grown as needed, whose first
/// `len` bytes are decoded.
pub(super) struct Output {
    pub(super) buf: Vec<u8>,
    pub(super) len: usize,
}

impl Output {
    /// Makes room for `n` more bytes; returns where they end.
    fn room(&mut self, n: usize) -> Result<usize, &'static str> {
        let end = self.len + n;
        grow_to(&mut self.buf, end)?;
        Ok(end)
    }
}

/// Decodes the LZMA2 data of one block, which starts at `input[0]`, onto
/// `out`, with a dictionary of `dict_size` bytes. Returns the length of the
/// LZMA2 data.
///
/// Chunks (section 5.3.1 and liblzma's lzma2_decoder.c): control byte 0
/// ends the data; 1 and 2 are uncompressed chunks, with and without a
/// dictionary reset; from 0x80 on, an LZMA chunk whose bits 5-6 say what
/// it resets: nothing, the state, the state and properties, or all that and
/// the dictionary. The first chunk must reset the dictionary, and after a
/// dictionary reset the first LZMA chunk must set properties.
pub(super) fn lzma2(lz: &mut Lzma, input: &[u8], out: &mut Output, dict_size: usize) -> Result<usize, &'static str> {
    let mut at = 0;
    let mut dict = None;
    let mut need_props = true;
    loop {
        let control = *input.get(at).ok_or(CORRUPT)? as usize;
        at += 1;
        if control == 0 {
            return Ok(at);
        }
        if control >= 0xE0 || control == 1 {
            dict = Some(Dict { start: out.len, size: dict_size });
            need_props = true;
        }
        let dict = dict.ok_or(CORRUPT)?;
        let size_field = |at: usize| input.get(at..at + 2).map(|s| (s[0] as usize) << 8 | s[1] as usize);
        if control < 0x80 {
            let n = size_field(at).filter(|_| control <= 2).ok_or(CORRUPT)? + 1;
            let data = input.get(at + 2..at + 2 + n).ok_or(CORRUPT)?;
            let end = out.room(n)?;
            out.buf[out.len..end].copy_from_slice(data);
            (at, out.len) = (at + 2 + n, end);
            continue;
        }
        let unpacked = ((control & 0x1F) << 16) + size_field(at).ok_or(CORRUPT)? + 1;
        let packed = size_field(at + 2).ok_or(CORRUPT)? + 1;
        at += 4;
        if control >= 0xC0 {
            lz.props(*input.get(at).ok_or(CORRUPT)?)?;
            at += 1;
            need_props = false;
        } else if need_props {
            return Err(CORRUPT);
        } else if control >= 0xA0 {
            lz.reset();
        }
        let end = out.room(unpacked)?;
        lz.chunk(input.get(at..at + packed).ok_or(CORRUPT)?, &mut out.buf[..end], out.len, dict)?;
        (at, out.len) = (at + packed, end);
    }
}

impl Lzma {
    /// One LZMA chunk: `input` is its compressed data, `buf[pos..]` the
    /// bytes it decodes to, `buf[dict.start..pos]` the dictionary. This is
    /// the hot loop of every .ko.xz: the coder's state stays in locals.
    ///
    /// Every distance is checked against what the dictionary holds, as
    /// liblzma does (dict_is_distance_valid): not before the last
    /// dictionary reset, and not beyond the dictionary size the block
    /// header declared (liblzma's buffer holds no more, so kmod refuses
    /// such a stream; liblzma rounds the size up to a multiple of 16, at
    /// least 4 KiB, and so does `dict_size`). A match may not run past the
    /// end of the chunk (liblzma: LZMA_DATA_ERROR).
    ///
    /// One long function on purpose: split into calls, the range coder's
    /// state would live in memory instead of registers.
    fn chunk(&mut self, input: &[u8], buf: &mut [u8], mut pos: usize, dict: Dict) -> Result<(), &'static str> {
        let mut rc = Rc::new(input)?;
        let p = &mut *self.p;
        let (lc, lp_mask, pb_mask) = (self.lc, self.lp_mask, self.pb_mask);
        let mut state = self.state;
        let mut reps = self.reps;
        while pos < buf.len() {
            let at = pos - dict.start;
            let pos_state = at & pb_mask;
            if rc.bit(&mut p[IS_MATCH + state * 16 + pos_state]) == 0 {
                // A literal, coded in the context of the byte before it.
                let prev = if at > 0 { buf[pos - 1] as usize } else { 0 };
                let lit = LITERAL + 0x300 * (((at & lp_mask) << lc) + (prev >> (8 - lc)));
                buf[pos] = if state < 7 {
                    rc.byte(p, lit)
                } else {
                    // After a match: coded against the byte at rep0.
                    matched(&mut rc, p, lit, buf[pos - reps[0] - 1] as usize)
                };
                pos += 1;
                state = if state < 4 {
                    0
                } else if state < 10 {
                    state - 3
                } else {
                    state - 6
                };
                continue;
            }
            // A match: with a new distance, or with one of the last four
            // (rep0..rep3: each was checked when it was decoded, or is 0
            // after a reset, so the dictionary must not be empty).
            let new = rc.bit(&mut p[IS_REP + state]) == 0;
            if !new {
                if at == 0 {
                    return Err(CORRUPT);
                }
                // is_rep0, is_rep1, is_rep2: the first 0 picks rep i, three
                // 1s pick rep3; rep0 may be one byte (is_rep0_long 0).
                let mut i = 0;
                while i < 3 && rc.bit(&mut p[IS_REP0 + 12 * i + state]) == 1 {
                    i += 1;
                }
                if i == 0 && rc.bit(&mut p[IS_REP0_LONG + state * 16 + pos_state]) == 0 {
                    state = if state < 7 { 9 } else { 11 };
                    buf[pos] = buf[pos - reps[0] - 1];
                    pos += 1;
                    continue;
                }
                // The distance used moves to the front.
                let d = reps[i];
                while i > 0 {
                    reps[i] = reps[i - 1];
                    i -= 1;
                }
                reps[0] = d;
            }
            let len = length(&mut rc, p, if new { MATCH_LEN } else { REP_LEN }, pos_state);
            if new {
                state = if state < 7 { 7 } else { 10 };
                let d = distance(&mut rc, p, len);
                if d >= at || d >= dict.size {
                    return Err(CORRUPT);
                }
                reps = [d, reps[0], reps[1], reps[2]];
            } else {
                state = if state < 7 { 8 } else { 11 };
            }
            let n = len + 2;
            if n > buf.len() - pos {
                return Err(CORRUPT);
            }
            copy(buf, pos, reps[0] + 1, n);
            pos += n;
        }
        if !rc.done() {
            return Err(CORRUPT);
        }
        self.state = state;
        self.reps = reps;
        Ok(())
    }
}

/// A literal after a match, coded against `m`, the byte at rep0: while its
/// bits agree with m's, each bit has probabilities of its own.
#[inline(always)]
fn matched(rc: &mut Rc, p: &mut [u16; TOTAL], at: usize, mut m: usize) -> u8 {
    let (mut v, mut offs) = (1, 0x100);
    while v < 0x100 {
        m <<= 1;
        let mbit = m & offs;
        let b = rc.bit_data(&mut p[at + offs + mbit + v]);
        v = (v << 1) | b;
        offs &= if b != 0 { mbit } else { !mbit };
    }
    v as u8
}

/// A match length less 2 (0..271): two choice bits, then 3 bits (per
/// pos_state) for 0..7 and 8..15, or 8 bits for 16..271.
#[inline(always)]
fn length(rc: &mut Rc, p: &mut [u16; TOTAL], at: usize, pos_state: usize) -> usize {
    let mut c = 0;
    while c < 2 && rc.bit(&mut p[at + c]) == 1 {
        c += 1;
    }
    let (tree, n) = if c < 2 { (LOW + 128 * c + pos_state * 8, 3) } else { (HIGH, 8) };
    8 * c + rc.tree(p, at + tree, n)
}

/// A match distance less 1: a 6-bit slot, then for slots 4 and up the low
/// bits: with probabilities of their own (slots below 14), or direct bits
/// and 4 bits with probabilities.
#[inline(always)]
fn distance(rc: &mut Rc, p: &mut [u16; TOTAL], len: usize) -> usize {
    let slot = rc.tree(p, SLOT + 64 * len.min(3), 6);
    if slot < 4 {
        return slot;
    }
    let mut n = (slot >> 1) - 1;
    let mut dist = (2 | (slot & 1)) << n;
    let at = if slot < 14 {
        SPECIAL + dist - slot - 1
    } else {
        dist += rc.direct(n - 4) << 4;
        n = 4;
        ALIGN
    };
    dist + rc.reverse(p, at, n)
}

/// Copies `n` bytes from `dist` bytes back to `buf[pos..]`, byte by byte,
/// forwards: they overlap when `dist < n` (a run), and most matches are
/// short, where a call to memmove costs more than the copy. A run of one
/// byte (zeros, mostly) is a fill.
#[inline(always)]
fn copy(buf: &mut [u8], pos: usize, dist: usize, n: usize) {
    let w = &mut buf[pos - dist..pos + n];
    if dist == 1 {
        let (b, run) = w.split_at_mut(1);
        run.fill(b[0]);
        return;
    }
    for i in dist..w.len() {
        w[i] = w[i - dist];
    }
}

#[cfg(test)]
mod tests;
