//! gzip (RFC 1952) members, inflated (RFC 1951) by modbox's own decoder:
//! under 4 KB of the shipping build where miniz_oxide cost 9.4 KB, because
//! modbox always has the whole input and the whole output in memory. The
//! output buffer is the window that back-references copy from, and no state
//! has to survive between calls.

use super::crc::crc32;
use super::{believable, grow, BOMB, CORRUPT};

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
    /// Makes room for `n` more bytes; grow() refuses only past MAX_OUTPUT.
    fn room(&mut self, n: usize) -> Res<()> {
        while self.buf.len() - self.pos < n {
            grow(&mut self.buf).map_err(|_| Fail::Bomb)?;
        }
        Ok(())
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
        let w = &mut self.buf[self.pos - dist..self.pos + len];
        if dist >= len {
            w.copy_within(..len, dist);
        } else {
            // Byte by byte: the copy overlaps what it writes and repeats
            // the last `dist` bytes.
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
/// end-of-block code.
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

