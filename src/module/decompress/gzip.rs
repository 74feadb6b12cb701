//! gzip (RFC 1952) members, inflated (RFC 1951) by modbox's own decoder:
//! under 4 KB of the shipping build where miniz_oxide cost 9.4 KB, because
//! modbox always has the whole input and the whole output in memory. The
//! output buffer is the window that back-references copy from, and no state
//! has to survive between calls.

use super::crc::crc32;
use super::{believable, grow_to, BOMB, CORRUPT};

/// Why a stream is refused: CORRUPT, or BOMB when the output would pass
/// MAX_OUTPUT. One byte, so that results come back in registers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fail {
    Corrupt,
    Bomb,
}
use Fail::Corrupt;

type Res<T> = Result<T, Fail>;

fn le32(d: &[u8]) -> Res<u32> {
    let x = d.first_chunk::<4>().ok_or(Corrupt)?;
    Ok(u32::from_le_bytes(*x))
}

/// The length of a gzip member header (RFC 1952 2.3: fixed part, then the
/// optional extra field, name, comment and header CRC).
fn gzip_header(d: &[u8]) -> Res<usize> {
    if d.len() < 10 || d[0] != 0x1f || d[1] != 0x8b || d[2] != 8 || d[3] & 0xe0 != 0 {
        return Err(Corrupt);
    }
    let flags = d[3];
    let mut p = 10;
    if flags & 4 != 0 {
        let x = d.get(p..p + 2).ok_or(Corrupt)?;
        p += 2 + u16::from_le_bytes([x[0], x[1]]) as usize;
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            p += d.get(p..).ok_or(Corrupt)?.iter().position(|&b| b == 0).ok_or(Corrupt)? + 1;
        }
    }
    if flags & 2 != 0 {
        // FHCRC: the low 16 bits of the CRC32 of the header before it,
        // which zlib (kmod's decoder) checks.
        let x = d.get(p..p + 2).ok_or(Corrupt)?;
        if u16::from_le_bytes([x[0], x[1]]) != crc32(&d[..p]) as u16 {
            return Err(Corrupt);
        }
        p += 2;
    }
    if p > d.len() {
        return Err(Corrupt);
    }
    Ok(p)
}

/// gzip: one or more members, each checked against its CRC32 and length.
pub(super) fn decode(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    members(data).map_err(|f| match f {
        Corrupt => CORRUPT,
        Fail::Bomb => BOMB,
    })
}

fn members(data: &[u8]) -> Res<Vec<u8>> {
    // The trailer's length (modulo 4 GiB) is a good first guess.
    let hint = data.len().checked_sub(4).map_or(0, |n| le32(&data[n..]).unwrap_or(0)) as usize;
    let mut out = Output { buf: vec![0u8; believable(hint, data.len(), 1032)], pos: 0, start: 0 };
    let mut input = data;
    loop {
        input = input.get(gzip_header(input)?..).ok_or(Corrupt)?;
        out.start = out.pos;
        let end = inflate(input, &mut out)?;
        let trailer = input.get(end..end + 8).ok_or(Corrupt)?;
        let member = out.buf.get(out.start..out.pos).ok_or(Corrupt)?;
        if le32(trailer)? != crc32(member) || le32(&trailer[4..])? != member.len() as u32 {
            return Err(Corrupt);
        }
        input = &input[end + 8..];
        // As zlib's gzread(), which kmod uses: what follows a member and is
        // not another one is ignored.
        if !input.starts_with(&[0x1f, 0x8b]) {
            break;
        }
    }
    out.buf.truncate(out.pos);
    Ok(out.buf)
}

/// A deflate stream (RFC 1951 3.2.3): blocks up to the one marked last.
/// Returns the offset of the byte after it, past `data` when the stream
/// was cut short.
fn inflate(data: &[u8], out: &mut Output) -> Res<usize> {
    let mut bits = Bits { data, pos: 0, buf: 0, cnt: 0 };
    let mut lit = Huffman::new();
    let mut dist = Huffman::new();
    loop {
        // BFINAL, then BTYPE.
        let header = bits.bits(3)?;
        if header >> 1 == 0 {
            stored(&mut bits, out)?;
        } else {
            // The literal/length code lengths, then the distance ones, as
            // many as there are and zeros (no code) up to 32.
            let mut lens = [0u8; 288 + 32];
            let nlit = match header >> 1 {
                1 => fixed(&mut lens),
                2 => dynamic(&mut bits, &mut lit, &mut lens)?,
                _ => return Err(Corrupt),
            };
            lit.build(&lens[..nlit])?;
            dist.build(&lens[nlit..nlit + 32])?;
            codes(&mut bits, out, &lit, &dist)?;
        }
        if header & 1 != 0 {
            return Ok(bits.next_byte());
        }
    }
}

/// The output so far: `buf` is zero-filled up to its length and written up
/// to `pos`; the current member's output starts at `start`.
struct Output {
    buf: Vec<u8>,
    pos: usize,
    start: usize,
}

impl Output {
    /// Makes room for `n` more bytes; grow_to() refuses only past
    /// MAX_OUTPUT.
    fn room(&mut self, n: usize) -> Res<()> {
        grow_to(&mut self.buf, self.pos + n).map_err(|_| Fail::Bomb)
    }

    #[inline(always)]
    fn literal(&mut self, b: u8) -> Res<()> {
        if self.pos >= self.buf.len() {
            self.room(1)?;
        }
        // room() made pos < len.
        self.buf[self.pos] = b;
        self.pos += 1;
        Ok(())
    }

    /// A back-reference (RFC 1951 3.2.3): `len` bytes from `dist` back,
    /// which may overlap what it writes. The window is this member's output
    /// alone, as zlib starts each member afresh.
    fn copy(&mut self, dist: usize, len: usize) -> Res<()> {
        if dist > self.pos - self.start {
            return Err(Corrupt);
        }
        self.room(len)?;
        let from = self.pos - dist;
        // Most copies are short: 8 bytes at a time, without a call, when
        // each 8 come from bytes already written (dist ≥ 8) and the buffer
        // has room for the last 8 (what they write past `len` is written
        // again later). Otherwise byte by byte, which repeats the last
        // `dist` bytes when the copy overlaps what it writes.
        if dist >= 8 && self.pos + len + 8 <= self.buf.len() {
            let mut i = 0;
            while i < len {
                let chunk = *self.buf[from + i..].first_chunk::<8>().ok_or(Corrupt)?;
                *self.buf[self.pos + i..].first_chunk_mut::<8>().ok_or(Corrupt)? = chunk;
                i += 8;
            }
        } else {
            // room() made pos + len ≤ the buffer's length.
            let w = &mut self.buf[from..self.pos + len];
            for i in 0..len {
                w[dist + i] = w[i];
            }
        }
        self.pos += len;
        Ok(())
    }
}

/// The input as a stream of bits, each byte's least significant bit first
/// (RFC 1951 3.1.1), taken from a 64-bit buffer.
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to load; past the end by the zero bytes loaded there.
    pos: usize,
    buf: u64,
    /// Bits in `buf`; `refill()` makes it at least 56.
    cnt: u32,
}

impl Bits<'_> {
    #[inline(always)]
    fn refill(&mut self) -> Res<()> {
        if let Some(w) = self.data.get(self.pos..).and_then(|s| s.first_chunk::<8>()) {
            // Loads 8 bytes but counts only the whole ones that fit: the
            // bits above `cnt` are then those of the next byte, which the
            // next refill ORs in again, unchanged.
            self.buf |= u64::from_le_bytes(*w) << self.cnt;
            self.pos += (63 - self.cnt as usize) / 8;
            self.cnt |= 56;
            Ok(())
        } else {
            self.fill()
        }
    }

    /// `refill()` byte by byte: near the end, where it goes on with zero
    /// bytes (the last codes may be shorter than the lookup), and for the
    /// headers, which are not worth the code of an inlined refill. Eight
    /// zero bytes fill the buffer, so needing a ninth means the decoder
    /// used one: the stream is truncated.
    #[inline(never)]
    fn fill(&mut self) -> Res<()> {
        while self.cnt <= 56 {
            if self.pos >= self.data.len() + 8 {
                return Err(Corrupt);
            }
            self.buf |= u64::from(self.data.get(self.pos).copied().unwrap_or(0)) << self.cnt;
            self.pos += 1;
            self.cnt += 8;
        }
        Ok(())
    }

    /// The next `n` (at most 15) bits, loaded first.
    fn bits(&mut self, n: u32) -> Res<u32> {
        self.fill()?;
        Ok(self.take(n))
    }

    #[inline(always)]
    fn skip(&mut self, n: u32) {
        self.buf >>= n;
        self.cnt -= n;
    }

    /// The next `n` (at most 15) bits, the first one lowest (RFC 1951 3.1.1).
    #[inline(always)]
    fn take(&mut self, n: u32) -> u32 {
        let v = self.buf as u32 & ((1 << n) - 1);
        self.skip(n);
        v
    }

    /// The offset of the first byte not yet read: the rest of a partly
    /// read byte is padding (RFC 1951 3.2.4, 3.2.3).
    fn next_byte(&self) -> usize {
        // The bytes in `buf` were all counted in `pos`.
        self.pos - (self.cnt / 8) as usize
    }
}

/// Bits of the first lookup; longer codes take `Huffman::slow()`. 10 bits
/// decode all but a few per cent of the symbols of real modules at once.
const FAST: u32 = 10;

/// A canonical Huffman code (RFC 1951 3.2.2) for decoding.
struct Huffman {
    /// By the next FAST bits of input: the symbol, with its code's length
    /// times 512; 0 where the code is longer (or there is none).
    fast: [u16; 1 << FAST],
    /// How many codes have each length (count[0] is not used).
    count: [u16; 16],
    /// The symbols in code order: by length, then by value.
    symbols: [u16; 288],
}

impl Huffman {
    fn new() -> Self {
        Huffman { fast: [0; 1 << FAST], count: [0; 16], symbols: [0; 288] }
    }

    /// The code of `lens` (each at most 15, the code length alphabet's
    /// range; at most 288 of them), checked as zlib's inflate_table()
    /// checks it: over-subscribed (more codes than the lengths allow) is
    /// refused, and so is incomplete (part of the code space unused) but
    /// for no code or a single 1-bit code: a block without back-references
    /// needs at most one distance code. zlib refuses those for the code
    /// length code too, but a block with one fails anyway: it starts with a
    /// repeat of nothing, or all its lengths are the same, which makes a
    /// literal/length code that is over-subscribed, incomplete or empty.
    fn build(&mut self, lens: &[u8]) -> Res<()> {
        self.count = [0; 16];
        for &l in lens {
            self.count[usize::from(l & 15)] += 1;
        }
        // left: the unused part of the code space, in units of 2^-len.
        let mut left = 1i32;
        let mut offs = [0u16; 17];
        for len in 1..16 {
            left = 2 * left - i32::from(self.count[len]);
            if left < 0 {
                return Err(Corrupt);
            }
            offs[len + 1] = offs[len] + self.count[len];
        }
        // offs[16] is the number of codes.
        if left > 0 && offs[16] != self.count[1] {
            return Err(Corrupt);
        }
        for (sym, &l) in lens.iter().enumerate() {
            if l != 0 {
                let o = &mut offs[usize::from(l & 15)];
                // o < the number of lengths that are not 0, ≤ 288.
                self.symbols[usize::from(*o)] = sym as u16;
                *o += 1;
            }
        }
        self.fill_fast();
        Ok(())
    }

    /// Codes of one length are consecutive numbers, following on from the
    /// shorter ones with a 0 bit appended (RFC 1951 3.2.2). A code is read
    /// from its most significant bit, so it is kept here bit-reversed, as
    /// its table index: appending a bit leaves that unchanged, and adding
    /// one carries from the top down. Every index whose low `len` bits are
    /// the code gets the entry.
    fn fill_fast(&mut self) {
        self.fast = [0; 1 << FAST];
        let (mut rev, mut i) = (0usize, 0usize);
        for len in 1..=FAST {
            for _ in 0..self.count[len as usize] {
                let entry = (len << 9) as u16 | self.symbols[i];
                let mut k = rev;
                while k < 1 << FAST {
                    self.fast[k] = entry;
                    k += 1 << len;
                }
                let mut carry = 1 << (len - 1);
                while rev & carry != 0 {
                    rev ^= carry;
                    carry >>= 1;
                }
                rev |= carry;
                i += 1;
            }
        }
    }

    /// The next symbol, loaded first (for the code length code).
    fn symbol(&self, bits: &mut Bits) -> Res<u32> {
        bits.fill()?;
        self.decode(bits)
    }

    /// The next symbol. Needs up to 15 bits in `bits`.
    #[inline(always)]
    fn decode(&self, bits: &mut Bits) -> Res<u32> {
        let e = self.fast[bits.buf as usize & ((1 << FAST) - 1)];
        if e == 0 {
            return self.slow(bits);
        }
        bits.skip(u32::from(e >> 9));
        Ok(u32::from(e & 511))
    }

    /// A code longer than FAST bits, or none: one bit after another, each
    /// length's codes following on from the shorter ones'.
    #[inline(never)]
    fn slow(&self, bits: &mut Bits) -> Res<u32> {
        // code ≥ first throughout: the code read so far is past the codes
        // of the lengths already tried.
        let (mut code, mut first, mut index) = (0u32, 0u32, 0u32);
        for len in 1..16 {
            code |= (bits.buf >> (len - 1)) as u32 & 1;
            let count = u32::from(self.count[len]);
            if code - first < count {
                bits.skip(len as u32);
                // index + count ≤ the number of codes, ≤ 288.
                return Ok(u32::from(self.symbols[(index + code - first) as usize]));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(Corrupt)
    }
}

/// The literals and back-references of a Huffman-coded block, up to its
/// end-of-block code. (Out of line: inlined into inflate() it is bigger.)
#[inline(never)]
fn codes(bits: &mut Bits, out: &mut Output, lit: &Huffman, dist: &Huffman) -> Res<()> {
    loop {
        // One refill covers a whole back-reference: a 15-bit length code
        // and 5 extra bits, a 15-bit distance code and 13 extra bits make
        // 48 ≤ 56.
        bits.refill()?;
        let sym = lit.decode(bits)?;
        if sym < 256 {
            out.literal(sym as u8)?;
        } else if sym == 256 {
            return Ok(());
        } else {
            let len = length(sym, bits)?;
            let d = distance(dist.decode(bits)?, bits)?;
            out.copy(d, len)?;
        }
    }
}

/// The match length of length symbol `sym` (257..=285) with its extra bits
/// (RFC 1951 3.2.5): groups of four codes whose base doubles, each group
/// with one more extra bit. 286 and 287 (only in the fixed code) are errors.
#[inline(always)]
fn length(sym: u32, bits: &mut Bits) -> Res<usize> {
    let i = sym - 257;
    let n = match i {
        0..8 => i + 3,
        8..28 => {
            let extra = i / 4 - 1;
            ((4 + (i & 3)) << extra) + 3 + bits.take(extra)
        }
        28 => 258,
        _ => return Err(Corrupt),
    };
    Ok(n as usize)
}

/// The distance of distance symbol `sym` with its extra bits (RFC 1951
/// 3.2.5): pairs of codes whose base doubles, each pair with one more
/// extra bit. 30 and 31 (only in the fixed code) are errors.
#[inline(always)]
fn distance(sym: u32, bits: &mut Bits) -> Res<usize> {
    let d = match sym {
        0..4 => sym + 1,
        4..30 => {
            let extra = sym / 2 - 1;
            ((2 + (sym & 1)) << extra) + 1 + bits.take(extra)
        }
        _ => return Err(Corrupt),
    };
    Ok(d as usize)
}

/// A stored block (RFC 1951 3.2.4): from the next byte boundary, LEN, its
/// ones' complement NLEN, and LEN bytes.
fn stored(bits: &mut Bits, out: &mut Output) -> Res<()> {
    let p = bits.next_byte();
    let d = bits.data;
    let h = d.get(p..p + 4).ok_or(Corrupt)?;
    let len = u16::from_le_bytes([h[0], h[1]]);
    if len != !u16::from_le_bytes([h[2], h[3]]) {
        return Err(Corrupt);
    }
    let end = p + 4 + usize::from(len);
    let src = d.get(p + 4..end).ok_or(Corrupt)?;
    out.room(src.len())?;
    out.buf[out.pos..out.pos + src.len()].copy_from_slice(src);
    out.pos += src.len();
    *bits = Bits { data: d, pos: end, buf: 0, cnt: 0 };
    Ok(())
}

/// The code lengths of the fixed codes (RFC 1951 3.2.6), with 286, 287, 30
/// and 31: they have codes, but using one is an error. Returns the number
/// of literal/length codes.
fn fixed(lens: &mut [u8; 288 + 32]) -> usize {
    for (i, l) in lens.iter_mut().enumerate() {
        *l = match i {
            0..144 | 280..288 => 8,
            144..256 => 9,
            256..280 => 7,
            _ => 5,
        };
    }
    288
}

/// The order in which a dynamic block gives the code length code's lengths
/// (RFC 1951 3.2.7).
const CL_ORDER: [u8; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// A dynamic block's header (RFC 1951 3.2.7): the code lengths of its two
/// codes, themselves coded with a code length code (built in `lit`).
/// Returns the number of literal/length codes.
fn dynamic(bits: &mut Bits, lit: &mut Huffman, lens: &mut [u8; 288 + 32]) -> Res<usize> {
    let counts = bits.bits(14)? as usize;
    let nlit = (counts & 31) + 257;
    let ndist = (counts >> 5 & 31) + 1;
    let ncl = (counts >> 10) + 4;
    // No code exists for literal/length symbols 286 and 287 or distances
    // 30 and 31; zlib refuses a block that counts them.
    if nlit > 286 || ndist > 30 {
        return Err(Corrupt);
    }
    let mut cl = [0u8; 19];
    for &i in &CL_ORDER[..ncl] {
        cl[usize::from(i)] = bits.bits(3)? as u8;
    }
    lit.build(&cl)?;
    let all = &mut lens[..nlit + ndist];
    let mut i = 0;
    while i < all.len() {
        // The code length code's codes are at most 7 bits long: the extra
        // bits are in the buffer still.
        let sym = lit.symbol(bits)?;
        let (len, n) = if sym < 16 {
            (sym as u8, 1)
        } else {
            // 16: the previous length 3 to 6 times (2 extra bits); 17: zero
            // 3 to 10 times (3 bits); 18: zero 11 to 138 times (7 bits).
            let k = sym - 16;
            let len = if k == 0 { *all.get(i.wrapping_sub(1)).ok_or(Corrupt)? } else { 0 };
            (len, if k == 2 { 11 } else { 3 } + bits.take(2 + k + k / 2 * 3))
        };
        // A repeat may run from the literal/length lengths into the
        // distance ones, but not past the last.
        all.get_mut(i..i + n as usize).ok_or(Corrupt)?.fill(len);
        i += n as usize;
    }
    // A code without end-of-block (which zlib refuses here) needs no
    // check: its block cannot end, so the stream fails where it does.
    Ok(nlit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deflate stream written by hand, bit by bit, each byte from its
    /// least significant bit (RFC 1951 3.1.1).
    #[derive(Default)]
    struct Writer {
        bytes: Vec<u8>,
        bits: usize,
    }

    impl Writer {
        /// `n` bits of `v`, the lowest first (header fields, extra bits).
        fn put(&mut self, v: u32, n: u32) -> &mut Self {
            for i in 0..n {
                if self.bits.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                *self.bytes.last_mut().unwrap() |= ((v >> i & 1) as u8) << (self.bits % 8);
                self.bits += 1;
            }
            self
        }

        /// A Huffman code, its most significant bit first.
        fn code(&mut self, c: Code) -> &mut Self {
            for i in (0..c.len).rev() {
                self.put(c.bits >> i, 1);
            }
            self
        }

        /// Whole bytes, from the next byte boundary (a stored block's).
        fn raw(&mut self, b: &[u8]) -> &mut Self {
            self.bits = self.bytes.len() * 8;
            self.bytes.extend_from_slice(b);
            self.bits += b.len() * 8;
            self
        }
    }

    /// A Huffman code: its bits, `len` of them.
    #[derive(Clone, Copy)]
    struct Code {
        bits: u32,
        len: u32,
    }

    /// The canonical codes of `lens` (RFC 1951 3.2.2), per symbol.
    fn canonical(lens: &[u8]) -> Vec<Code> {
        let mut count = [0u32; 16];
        for &l in lens {
            count[l as usize] += 1;
        }
        count[0] = 0;
        let mut next = [0u32; 16];
        for len in 1..16 {
            next[len] = (next[len - 1] + count[len - 1]) << 1;
        }
        lens.iter()
            .map(|&l| {
                let bits = next[l as usize];
                next[l as usize] += 1;
                Code { bits, len: u32::from(l) }
            })
            .collect()
    }

    /// The fixed codes (RFC 1951 3.2.6).
    struct Fixed {
        lit: Vec<Code>,
        dist: Vec<Code>,
    }

    fn fixed_codes() -> Fixed {
        let mut lens = [0u8; 320];
        let nlit = fixed(&mut lens);
        Fixed { lit: canonical(&lens[..nlit]), dist: canonical(&lens[nlit..]) }
    }

    /// A gzip member around `deflate`, with the trailer of `payload`.
    fn member(deflate: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut m = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        m.extend_from_slice(deflate);
        m.extend_from_slice(&crc32(payload).to_le_bytes());
        m.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        m
    }

    /// A final fixed block: `lits` literals, then a back-reference of
    /// `len` (3..=10: symbols 257..=264) at `dist` (1..=4: symbols 0..=3),
    /// then end-of-block.
    fn fixed_block(lits: &[u8], len: u32, dist: u32) -> Vec<u8> {
        let Fixed { lit, dist: d } = fixed_codes();
        let mut w = Writer::default();
        w.put(1, 1).put(1, 2);
        for &b in lits {
            w.code(lit[b as usize]);
        }
        w.code(lit[(254 + len) as usize]).code(d[(dist - 1) as usize]);
        w.code(lit[256]);
        w.bytes
    }

    fn gunzip(data: &[u8]) -> Result<Vec<u8>, &'static str> {
        decode(data)
    }

    #[test]
    fn stored_fixed_and_overlapping_copies() {
        // "ab" then 8 bytes from 2 back: the copy overlaps what it writes.
        let want = b"ababababab";
        assert_eq!(gunzip(&member(&fixed_block(b"ab", 8, 2), want)).as_deref(), Ok(&want[..]));
        // A stored block after a fixed one that ends mid-byte, then an
        // empty final stored block.
        let lit = fixed_codes().lit;
        let mut w = Writer::default();
        w.put(0, 1).put(1, 2).code(lit[b'x' as usize]).code(lit[256]);
        w.put(0, 1).put(0, 2).raw(&[5, 0, !5, 0xff]).raw(b"hello");
        w.put(1, 1).put(0, 2).raw(&[0, 0, 0xff, 0xff]);
        assert_eq!(gunzip(&member(&w.bytes, b"xhello")).as_deref(), Ok(&b"xhello"[..]));
        // 12 bytes from 10 back (length symbol 265 and 1 extra bit,
        // distance symbol 6 and 2): 8 at a time, the second 8 writing past
        // the copy, where "XYZ" then goes.
        let Fixed { lit, dist } = fixed_codes();
        let mut w = Writer::default();
        w.put(1, 1).put(1, 2);
        for &b in b"abcdefghij" {
            w.code(lit[b as usize]);
        }
        w.code(lit[265]).put(1, 1).code(dist[6]).put(1, 2);
        for &b in b"XYZ" {
            w.code(lit[b as usize]);
        }
        w.code(lit[256]);
        let want = b"abcdefghijabcdefghijabXYZ";
        assert_eq!(gunzip(&member(&w.bytes, want)).as_deref(), Ok(&want[..]));
        // 7 from 5 back (symbol 4 and 1 extra bit): too close for 8 at a
        // time.
        let mut w = Writer::default();
        w.put(1, 1).put(1, 2);
        for &b in b"abcde" {
            w.code(lit[b as usize]);
        }
        w.code(lit[261]).code(dist[4]).put(0, 1).code(lit[256]);
        assert_eq!(gunzip(&member(&w.bytes, b"abcdeabcdeab")).as_deref(), Ok(&b"abcdeabcdeab"[..]));
    }

    #[test]
    fn stored_length_must_match_its_complement() {
        let good = member(&Writer::default().put(1, 1).put(0, 2).raw(&[2, 0, !2, 0xff]).raw(b"hi").bytes, b"hi");
        assert_eq!(gunzip(&good).as_deref(), Ok(&b"hi"[..]));
        let bad = member(&Writer::default().put(1, 1).put(0, 2).raw(&[2, 0, !3, 0xff]).raw(b"hi").bytes, b"hi");
        assert_eq!(gunzip(&bad), Err(CORRUPT));
        // LEN past the end of the input.
        let long = member(&Writer::default().put(1, 1).put(0, 2).raw(&[200, 0, !200, 0xff]).raw(b"hi").bytes, b"hi");
        assert_eq!(gunzip(&long), Err(CORRUPT));
    }

    #[test]
    fn block_type_3_is_refused() {
        assert_eq!(gunzip(&member(&Writer::default().put(1, 1).put(3, 2).put(0, 13).bytes, b"")), Err(CORRUPT));
    }

    #[test]
    fn distance_reaches_back_only_into_its_member() {
        assert_eq!(gunzip(&member(&fixed_block(b"a", 3, 1), b"aaaa")).as_deref(), Ok(&b"aaaa"[..]));
        assert_eq!(gunzip(&member(&fixed_block(b"a", 3, 2), b"aaaa")), Err(CORRUPT));
        // The first member's output is not the second one's window.
        let first = member(&fixed_block(b"ab", 3, 1), b"abbbb");
        let second = member(&fixed_block(b"", 3, 2), b"bbb");
        assert_eq!(gunzip(&[&first[..], &first].concat()).as_deref(), Ok(&b"abbbbabbbb"[..]));
        assert_eq!(gunzip(&[&first[..], &second].concat()), Err(CORRUPT));
    }

    #[test]
    fn fixed_code_symbols_without_meaning_are_refused() {
        let Fixed { lit, dist } = fixed_codes();
        // Length symbol 285 (258 bytes) at distance 1, then 286, 287;
        // distance symbols 29 (at 24577 + extra) and 30, 31.
        let block = |sym: usize, dsym: usize, extra: u32| {
            let mut w = Writer::default();
            w.put(1, 1).put(1, 2).code(lit[b'z' as usize]).code(lit[sym]);
            w.code(dist[dsym]).put(0, extra).code(lit[256]);
            w.bytes
        };
        let run = vec![b'z'; 259];
        assert_eq!(gunzip(&member(&block(285, 0, 0), &run)).as_deref(), Ok(&run[..]));
        for sym in [286, 287] {
            assert_eq!(gunzip(&member(&block(sym, 0, 0), &run)), Err(CORRUPT), "symbol {sym}");
        }
        // Distance 29 is a sound code, only too far back here.
        assert_eq!(gunzip(&member(&block(285, 29, 13), &run)), Err(CORRUPT));
        for dsym in [30, 31] {
            assert_eq!(gunzip(&member(&block(285, dsym, 13), &run)), Err(CORRUPT), "distance {dsym}");
        }
    }

    /// The code length code used by `dynamic_block` unless a test gives
    /// its own: 13 codes of 4 bits and 6 of 5, complete.
    const CL: [u8; 19] = [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5];

    /// A final dynamic block (RFC 1951 3.2.7) with `nlit` and `ndist`
    /// lengths: `cl` the code length code's lengths; `lens` the code length
    /// symbols, each of 16, 17 and 18 followed by its extra bits' value;
    /// `body` the symbols of the literal/length code these give, each
    /// length symbol followed by its distance symbol (both without extra
    /// bits); then end-of-block.
    fn dynamic_block(nlit: u32, ndist: u32, cl: &[u8; 19], lens: &[u32], body: &[u32]) -> Vec<u8> {
        let mut w = Writer::default();
        w.put(1, 1).put(2, 2).put(nlit - 257, 5).put(ndist - 1, 5).put(15, 4);
        for i in CL_ORDER {
            w.put(u32::from(cl[i as usize]), 3);
        }
        let clc = canonical(cl);
        let mut all = Vec::new();
        let mut ops = lens.iter();
        while let Some(&sym) = ops.next() {
            w.code(clc[sym as usize]);
            if sym < 16 {
                all.push(sym as u8);
                continue;
            }
            let extra = *ops.next().unwrap();
            let (base, bits) = [(3, 2), (3, 3), (11, 7)][sym as usize - 16];
            w.put(extra, bits);
            let len = if sym == 16 { *all.last().unwrap_or(&0) } else { 0 };
            all.extend(std::iter::repeat_n(len, (base + extra) as usize));
        }
        all.resize((nlit + ndist) as usize, 0);
        let lit = canonical(&all[..nlit as usize]);
        let dist = canonical(&all[nlit as usize..]);
        let mut syms = body.iter();
        while let Some(&sym) = syms.next() {
            w.code(lit[sym as usize]);
            if sym > 256 {
                w.code(dist[*syms.next().unwrap() as usize]);
            }
        }
        w.code(lit[256]);
        w.bytes
    }

    /// Literal/length lengths: 97 zeros, 'a' and 'b' 2 bits, 157 zeros
    /// (138 + 19), end-of-block and symbol 257 (length 3) 2 bits.
    fn abc_lens() -> Vec<u32> {
        vec![18, 86, 2, 2, 18, 127, 18, 8, 2, 2]
    }

    #[test]
    fn dynamic_block_with_repeats_across_the_two_codes() {
        // Distance lengths: 16 (repeat 5) after 257's 2 gives distance
        // codes 0..=3 2 bits: the repeat crosses into the distance code.
        let mut lens = abc_lens();
        lens.pop();
        lens.extend([16, 2]);
        let body = [97, 98, 257, 1];
        let block = |lens: &[u32]| gunzip(&member(&dynamic_block(258, 4, &CL, lens, &body), b"ababa"));
        assert_eq!(block(&lens).as_deref(), Ok(&b"ababa"[..]));
        // A repeat before any length: in place of 3 of the first zeros.
        let mut first = lens.clone();
        first[1] = 83;
        assert_eq!(block(&[&[17, 0], &first[..]].concat()).as_deref(), Ok(&b"ababa"[..]));
        assert_eq!(block(&[&[16, 0], &first[..]].concat()), Err(CORRUPT));
        // A repeat past the last length, even of zeros.
        let ends = |zeros| {
            let lens = [&abc_lens()[..], &[1, 1, 17, zeros]].concat();
            gunzip(&member(&dynamic_block(258, 5, &CL, &lens, &[97, 98]), b"ab"))
        };
        assert_eq!(ends(0).as_deref(), Ok(&b"ab"[..]));
        assert_eq!(ends(1), Err(CORRUPT));
    }

    #[test]
    fn code_counts_past_the_alphabets_are_refused() {
        // 286 literal/length and 30 distance lengths: the most there are.
        let mut lens = abc_lens();
        lens.extend([18, 17, 1, 1, 18, 17]);
        let body = [97, 257, 0];
        let ok = dynamic_block(286, 30, &CL, &lens, &body);
        assert_eq!(gunzip(&member(&ok, b"aaaa")).as_deref(), Ok(&b"aaaa"[..]));
        lens.push(0);
        assert_eq!(gunzip(&member(&dynamic_block(287, 30, &CL, &lens, &body), b"aaaa")), Err(CORRUPT));
        assert_eq!(gunzip(&member(&dynamic_block(286, 31, &CL, &lens, &body), b"aaaa")), Err(CORRUPT));
    }

    #[test]
    fn over_subscribed_and_incomplete_codes_are_refused() {
        let block = |cl: &[u8; 19], ndist: u32, lens: &[u32], body: &[u32], want: &[u8]| {
            gunzip(&member(&dynamic_block(258, ndist, cl, lens, body), want))
        };
        let abc = abc_lens();
        // Distance code: one 1-bit code, as zlib accepts; two 1-bit codes
        // and a 2-bit one (over-subscribed); one 2-bit code (incomplete).
        assert_eq!(block(&CL, 2, &[&abc[..], &[1, 0]].concat(), &[97, 98], b"ab").as_deref(), Ok(&b"ab"[..]));
        assert_eq!(block(&CL, 3, &[&abc[..], &[1, 1, 2]].concat(), &[97, 98], b"ab"), Err(CORRUPT));
        assert_eq!(block(&CL, 2, &[&abc[..], &[2, 0]].concat(), &[97, 98], b"ab"), Err(CORRUPT));
        // Literal/length code: 'b' (at 3) made 1 bit (over-subscribed) or
        // gone (incomplete).
        let mut lens = [&abc[..], &[1, 1]].concat();
        assert_eq!(block(&CL, 2, &lens, &[97], b"a").as_deref(), Ok(&b"a"[..]));
        lens[3] = 1;
        assert_eq!(block(&CL, 2, &lens, &[97], b"a"), Err(CORRUPT));
        lens[3] = 0;
        assert_eq!(block(&CL, 2, &lens, &[97], b"a"), Err(CORRUPT));
        // The code length code must be complete: without its symbol 15,
        // which no length here uses, it is not.
        let mut cl = CL;
        cl[15] = 0;
        assert_eq!(block(&cl, 2, &[&abc[..], &[1, 1]].concat(), &[97, 98], b"ab"), Err(CORRUPT));
    }

    #[test]
    fn lone_codes_as_zlib_takes_them() {
        // No distance code at all: a block of literals; a back-reference
        // in it has no distance code to give.
        let lens = [&abc_lens()[..], &[0]].concat();
        assert_eq!(gunzip(&member(&dynamic_block(258, 1, &CL, &lens, &[97, 98]), b"ab")).as_deref(), Ok(&b"ab"[..]));
        assert_eq!(gunzip(&member(&dynamic_block(258, 1, &CL, &lens, &[97, 257, 0]), b"aaaa")), Err(CORRUPT));
        // A literal/length code of end-of-block alone, one bit long.
        let eob = [18, 127, 18, 107, 1, 0];
        assert_eq!(gunzip(&member(&dynamic_block(257, 1, &CL, &eob, &[]), b"")).as_deref(), Ok(&b""[..]));
        // Without end-of-block, a block cannot end.
        let none = [18, 127, 18, 107, 0, 1, 1];
        assert_eq!(gunzip(&member(&dynamic_block(258, 1, &CL, &none, &[]), b"")), Err(CORRUPT));
    }

    /// A member and what it decodes to.
    struct Sample {
        payload: Vec<u8>,
        member: Vec<u8>,
    }

    /// A member whose blocks are fixed (not final), stored (not final) and
    /// dynamic, with all the header fields.
    fn every_kind() -> Sample {
        let Fixed { lit, dist } = fixed_codes();
        let mut w = Writer::default();
        w.put(0, 1).put(1, 2).code(lit[b'a' as usize]).code(lit[258]).code(dist[0]).code(lit[256]);
        w.put(0, 1).put(0, 2).raw(&[3, 0, !3, 0xff]).raw(b"bab");
        let tail = dynamic_block(258, 4, &CL, &[&abc_lens()[..9], &[16, 2]].concat(), &[98, 257, 3]);
        let mut deflate = w.bytes;
        deflate.extend_from_slice(&tail);
        // "a" and 4 from 1 back; "bab"; "b" and 3 from 4 back.
        let payload = b"aaaaababbbab".to_vec();
        let mut m = vec![0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 1, 2, 3, 4, 0, 3, 3, 0, b'x', b'y', b'z'];
        m.extend_from_slice(b"name\0comment\0");
        let hcrc = crc32(&m) as u16;
        m.extend_from_slice(&hcrc.to_le_bytes());
        m.extend_from_slice(&deflate);
        m.extend_from_slice(&crc32(&payload).to_le_bytes());
        m.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        Sample { payload, member: m }
    }

    #[test]
    fn header_fields_and_header_crc() {
        let Sample { payload, member: m } = every_kind();
        assert_eq!(gunzip(&m).as_deref(), Ok(&payload[..]));
        // The header CRC covers every header byte before it.
        for at in [4, 10, 13, 20, 27, 28, 29] {
            let mut bad = m.clone();
            bad[at] ^= 1;
            assert_eq!(gunzip(&bad), Err(CORRUPT), "header byte {at}");
        }
        // Without FHCRC the same bytes are an extra field, a name and a
        // comment, and MTIME is not checked.
        let mut plain = [&m[..28], &m[30..]].concat();
        plain[3] = 4 | 8 | 16;
        plain[4] ^= 1;
        assert_eq!(gunzip(&plain).as_deref(), Ok(&payload[..]));
        // A reserved flag, another method, an extra field past the end.
        for (at, v) in [(3, 0x20), (3, 0x80), (2, 1), (10, 0xf0)] {
            let mut bad = plain.clone();
            bad[at] ^= v;
            assert_eq!(gunzip(&bad), Err(CORRUPT), "byte {at} ^ {v}");
        }
    }

    #[test]
    fn trailer_checks_crc_and_length() {
        let Sample { payload, member: m } = every_kind();
        let n = m.len();
        assert_eq!(gunzip(&m).as_deref(), Ok(&payload[..]));
        for at in [n - 8, n - 5, n - 4, n - 1] {
            let mut bad = m.clone();
            bad[at] ^= 0x10;
            assert_eq!(gunzip(&bad), Err(CORRUPT), "trailer byte {}", at + 8 - n);
        }
    }

    #[test]
    fn members_empty_several_and_what_follows() {
        let Sample { payload, member: m } = every_kind();
        // An empty member: one final fixed block of end-of-block alone.
        let empty = member(&[3, 0], b"");
        assert_eq!(gunzip(&empty).as_deref(), Ok(&b""[..]));
        let three = [&m[..], &empty, &m].concat();
        assert_eq!(gunzip(&three), Ok([&payload[..], &payload].concat()));
        // As zlib: what is not a member after one is ignored; what starts
        // like one must be one.
        assert_eq!(gunzip(&[&m[..], b"\0junk"].concat()).as_deref(), Ok(&payload[..]));
        assert_eq!(gunzip(&[&m[..], &[0x1f]].concat()).as_deref(), Ok(&payload[..]));
        assert_eq!(gunzip(&[&m[..], &[0x1f, 0x8b]].concat()), Err(CORRUPT));
        assert_eq!(gunzip(&[&m[..], &empty[..12]].concat()), Err(CORRUPT));
        assert_eq!(gunzip(b""), Err(CORRUPT));
    }

    #[test]
    fn every_cut_is_refused() {
        let m = every_kind().member;
        for cut in 0..m.len() {
            assert_eq!(gunzip(&m[..cut]), Err(CORRUPT), "cut at {cut} of {}", m.len());
        }
        // Also with the trailer whole but the stream short of its end: the
        // decoder must not take the trailer for the rest of the stream.
        let body = &m[30..m.len() - 8];
        for cut in 0..body.len() {
            let short = [&m[..30], &body[..cut], &m[m.len() - 8..]].concat();
            assert_eq!(gunzip(&short), Err(CORRUPT), "stream cut at {cut}");
        }
    }

    #[test]
    fn every_flipped_bit_is_refused_or_harmless() {
        // The header CRC covers MTIME, XFL and OS here: the only bits no
        // check covers are the padding before the stored block and after
        // the last block (RFC 1951 3.2.4, 3.2.3), 7 of each, and those
        // must leave the output as it was.
        let Sample { payload, member: m } = every_kind();
        let mut harmless = 0;
        for bit in 0..m.len() * 8 {
            let mut bad = m.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            if let Ok(out) = gunzip(&bad) {
                assert_eq!(out, payload, "bit {bit}");
                harmless += 1;
            }
        }
        assert_eq!(harmless, 14);
    }

    #[test]
    fn the_host_gzip_at_every_level() {
        // The host's gzip at each level, from text and from binary data.
        let mut data = Vec::new();
        for i in 0u32..20000 {
            data.extend_from_slice(format!("{} modbox {}\n", i % 97, i.wrapping_mul(2654435761) >> 20).as_bytes());
            data.push((i.wrapping_mul(40503) >> 7) as u8);
        }
        let dir = std::env::temp_dir().join(format!("modbox-gzip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("data");
        std::fs::write(&input, &data).unwrap();
        for level in 1..=9 {
            let out = std::process::Command::new("gzip").arg(format!("-{level}")).arg("-nc").arg(&input).output();
            let Ok(out) = out else {
                eprintln!("gzip is not installed: skipping");
                break;
            };
            assert!(out.status.success());
            assert_eq!(gunzip(&out.stdout), Ok(data.clone()), "gzip -{level}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn codes_as_zlib_checks_them() {
        let build = |lens: &[u8]| Huffman::new().build(lens);
        // Complete codes.
        for lens in [
            &[1, 1][..],
            &[1, 2, 2],
            &[2, 2, 2, 2],
            &[0, 3, 3, 2, 2, 2, 0],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15],
        ] {
            assert_eq!(build(lens), Ok(()), "{lens:?}");
        }
        // No code, or a single 1-bit one.
        for lens in [&[][..], &[0, 0, 0], &[0, 1, 0]] {
            assert_eq!(build(lens), Ok(()), "{lens:?}");
        }
        // Over-subscribed, then incomplete.
        for lens in
            [&[1, 1, 1][..], &[1, 2, 2, 3], &[2; 5], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15, 15]]
        {
            assert_eq!(build(lens), Err(Corrupt), "{lens:?}");
        }
        for lens in [&[2][..], &[1, 2], &[2, 2, 2], &[15, 15], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]] {
            assert_eq!(build(lens), Err(Corrupt), "{lens:?}");
        }
    }

    #[test]
    fn lengths_and_distances_of_rfc_1951_3_2_5() {
        // Each symbol's base and number of extra bits, the extra bits all
        // ones.
        let lengths = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
            227, 258,
        ];
        let len_extra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
        let dists = [
            1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
            4097, 6145, 8193, 12289, 16385, 24577,
        ];
        let all_ones = [0xffu8; 16];
        // The value of `sym`, and checks that it took `extra` bits.
        let value = |f: &dyn Fn(u32, &mut Bits) -> Res<usize>, sym: u32, extra: u32| {
            let mut b = Bits { data: &all_ones, pos: 0, buf: 0, cnt: 0 };
            b.refill().unwrap();
            let v = f(sym, &mut b);
            assert!(v.is_err() || b.cnt == 56 - extra, "symbol {sym}");
            v
        };
        for (i, (&base, &extra)) in lengths.iter().zip(&len_extra).enumerate() {
            assert_eq!(value(&length, 257 + i as u32, extra), Ok(base + (1 << extra) - 1), "length {}", 257 + i);
        }
        for (i, &base) in dists.iter().enumerate() {
            let extra = if i < 4 { 0 } else { i as u32 / 2 - 1 };
            assert_eq!(value(&distance, i as u32, extra), Ok(base + (1 << extra) - 1), "distance {i}");
        }
        for sym in [286, 287] {
            assert_eq!(value(&length, sym, 0), Err(Corrupt));
        }
        for sym in [30, 31] {
            assert_eq!(value(&distance, sym, 0), Err(Corrupt));
        }
    }

    #[test]
    fn zeros_past_the_end_are_not_input() {
        // 'a' has the code 0: the zero bits a decoder might make up past
        // the end would each be an 'a', up to 256 MiB. Cut after 'a' 'a'.
        let lens = [&abc_lens()[..], &[1, 1]].concat();
        let block = dynamic_block(258, 2, &CL, &lens, &[97, 97]);
        let whole = member(&block, b"aa");
        assert_eq!(gunzip(&whole).as_deref(), Ok(&b"aa"[..]));
        assert_eq!(gunzip(&whole[..whole.len() - 9]), Err(CORRUPT));
    }
}
