//! The sequences section (RFC 8878 §3.1.1.3.2) and its execution (§3.1.1.4)
//! straight into the output, which is the window.

use super::super::CORRUPT;
use super::bits::{le64, Rev};
use super::fse::{Kind, Table};

/// What lives from block to block of a frame: the three decoding tables (in
/// the order of the modes byte: literal lengths, offsets, match lengths),
/// whether they were set yet, for Repeat mode, and the repeat offsets.
pub(super) struct Sequences {
    tables: [Table; 3],
    pub(super) ready: Ready,
    pub(super) repeat: [u32; 3],
}

/// Whether a block of the frame has set the tables Repeat mode reuses.
#[derive(PartialEq)]
pub(super) enum Ready {
    No,
    Yes,
}

const KINDS: [Kind; 3] = [Kind::LitLen, Kind::Offset, Kind::MatchLen];

/// Where a block's output goes: `out[start..pos]` is the frame's output so
/// far, all that matches may copy from, and the block may fill `out` up to
/// its end.
pub(super) struct Window<'a> {
    pub(super) out: &'a mut [u8],
    pub(super) pos: usize,
    pub(super) start: usize,
}

/// Copies `src` to `dst`, of the same length (the callers' slices always
/// are; testing it shows the compiler the bounds): short ones in at most
/// two overlapping words, as musl's memcpy is slow to start.
fn copy(dst: &mut [u8], src: &[u8]) {
    let n = dst.len();
    if n > 16 || src.len() != n {
        dst.copy_from_slice(src);
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

impl Window<'_> {
    /// Appends `lits`.
    fn literals(&mut self, lits: &[u8]) -> Result<(), &'static str> {
        let end = self.pos + lits.len();
        copy(self.out.get_mut(self.pos..end).ok_or(CORRUPT)?, lits);
        self.pos = end;
        Ok(())
    }

    /// Appends `len` bytes copied from `offset` back, which must lie in
    /// this frame's output. When they overlap the copy repeats them: each
    /// round copies all that lies between the source and the end.
    fn copy(&mut self, offset: usize, len: usize) -> Result<(), &'static str> {
        let from = self.pos.checked_sub(offset).filter(|&f| f >= self.start && offset > 0).ok_or(CORRUPT)?;
        let end = self.pos + len;
        if end > self.out.len() {
            return Err(CORRUPT);
        }
        while self.pos < end {
            let n = (self.pos - from).min(end - self.pos);
            // from + n <= pos and pos + n <= end <= out.len(): in bounds.
            let (done, rest) = self.out.split_at_mut(self.pos);
            copy(&mut rest[..n], &done[from..from + n]);
            self.pos += n;
        }
        Ok(())
    }
}

impl Sequences {
    pub(super) fn new() -> Self {
        Sequences { tables: [Table::new(), Table::new(), Table::new()], ready: Ready::No, repeat: [1, 4, 8] }
    }

    /// Reads the sequences section `src[at..size]` and executes it with the
    /// block's literals `lits` into `w`.
    pub(super) fn run(
        &mut self,
        src: &[u8],
        at: usize,
        size: usize,
        lits: &[u8],
        w: &mut Window,
    ) -> Result<(), &'static str> {
        let v = le64(src, at);
        let b0 = v as usize & 255;
        let (count, head) = match b0 {
            0 => (0, 1),
            1..=127 => (b0, 1),
            128..=254 => (((b0 - 128) << 8) + (v >> 8 & 255) as usize, 2),
            _ => ((v >> 8 & 0xffff) as usize + 0x7f00, 3),
        };
        if count == 0 {
            // No sequences: the section is that byte alone, as libzstd checks.
            if at + 1 != size {
                return Err(CORRUPT);
            }
            return w.literals(lits);
        }
        let mut at = at + head + 1;
        // The modes byte's two reserved bits are not looked at, as libzstd
        // does not (ZSTD_decodeSeqHeaders).
        let modes = src.get(at - 1).filter(|_| at <= size).ok_or(CORRUPT)?;
        for (k, (t, kind)) in self.tables.iter_mut().zip(KINDS).enumerate() {
            let rest = src.get(at..size).ok_or(CORRUPT)?;
            match modes >> (6 - 2 * k) & 3 {
                0 => kind.predefined(t),
                1 => {
                    kind.rle(t, *rest.first().ok_or(CORRUPT)?)?;
                    at += 1;
                }
                2 => at += kind.read(t, rest)?,
                _ if self.ready == Ready::No => return Err(CORRUPT),
                _ => {}
            }
        }
        self.ready = Ready::Yes;
        let mut r = Rev::new(src.get(at..).ok_or(CORRUPT)?, size.checked_sub(at).ok_or(CORRUPT)?)?;
        let lits = self.execute(&mut r, count, lits, w)?;
        // The stream must end exactly with the last sequence (§3.1.1.3.2).
        if r.pos != 0 {
            return Err(CORRUPT);
        }
        w.literals(lits)
    }

    /// Decodes and executes `count` sequences from `r`; returns the
    /// literals left over.
    fn execute<'a>(
        &mut self,
        r: &mut Rev,
        count: usize,
        mut lits: &'a [u8],
        w: &mut Window,
    ) -> Result<&'a [u8], &'static str> {
        let [ll, of, ml] = &self.tables;
        let mut state = fields(r, [ll.log, of.log, ml.log]);
        for i in 0..count {
            let (l, o, m) = (ll.cell(state[0]), of.cell(state[1]), ml.cell(state[2]));
            // Extra bits come in the order offset, match length, literal length.
            let offset_value = o.base + r.read(o.extra.into());
            let [_, more_match, more_lit] = fields(r, [0, m.extra, l.extra]);
            let (match_len, lit_len) = (m.base + more_match, (l.base + more_lit) as usize);
            let offset = offset(&mut self.repeat, offset_value, lit_len);
            // States move on after every sequence but the last, in the order
            // literal length, match length, offset.
            if i + 1 < count {
                let [dl, dm, d_o] = fields(r, [l.bits, m.bits, o.bits]);
                state = [u32::from(l.next) + dl, u32::from(o.next) + d_o, u32::from(m.next) + dm];
            }
            if lit_len > lits.len() {
                return Err(CORRUPT);
            }
            let (now, rest) = lits.split_at(lit_len);
            w.literals(now)?;
            lits = rest;
            w.copy(offset as usize, match_len as usize)?;
        }
        Ok(lits)
    }
}

/// Three fields of `n` bits (together at most 32) read in one go, the first
/// read being the highest: as the three reads in a row, in a third of the
/// time.
fn fields(r: &mut Rev, [a, b, c]: [u8; 3]) -> [u32; 3] {
    let (b, c) = (u32::from(b), u32::from(c));
    let v = u64::from(r.take(u32::from(a) + b + c));
    [(v >> (b + c)) as u32, (v >> c) as u32 & ((1 << b) - 1), v as u32 & ((1 << c) - 1)]
}

/// The offset of a sequence from its Offset_Value, keeping the three repeat
/// offsets up to date (§3.1.1.5). Values 1 to 3 name a repeat offset, shifted
/// by one when the literal length is 0 (the fourth being the first less 1);
/// larger ones are an offset plus 3.
fn offset(repeat: &mut [u32; 3], value: u32, lit_len: usize) -> u32 {
    let [r0, r1, r2] = *repeat;
    if value > 3 {
        *repeat = [value - 3, r0, r1];
        return value - 3;
    }
    match value + u32::from(lit_len == 0) {
        1 => r0,
        2 => {
            *repeat = [r1, r0, r2];
            r1
        }
        3 => {
            *repeat = [r2, r0, r1];
            r2
        }
        _ => {
            // r0 - 1 may be 0, which the copy refuses.
            *repeat = [r0.wrapping_sub(1), r0, r1];
            r0.wrapping_sub(1)
        }
    }
}
