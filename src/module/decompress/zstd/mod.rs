//! zstd frames (RFC 8878), decoded by modbox's own decoder, without
//! dictionaries, straight into the output buffer: the frame's output so far
//! is the window that matches copy from.
//!
//! Where the RFC leaves a choice it does as libzstd (kmod's decoder): a
//! frame naming a dictionary, or whose window is larger than libzstd's
//! default limit for streaming (kmod 30 streams), is refused; Huffman codes
//! of 12 bits and offset codes up to 31 are taken; the reserved bits of the
//! sequence modes byte are not looked at. Where libzstd 1.5.4 lets damage
//! through, it does not: a Huffman or sequence stream must end exactly with
//! its last symbol (libzstd's fast paths do not check), its last byte must
//! hold the end mark, and an offset of 0 is refused (libzstd makes it 1).

mod bits;
mod fse;
mod huffman;
mod sequences;
#[cfg(test)]
mod tests;
mod xxhash;

use super::{believable, grow_to, BOMB, CORRUPT, MAX_OUTPUT};
use bits::field;
use huffman::{Huffman, BLOCK_MAX};
use sequences::{Ready, Sequences, Window};

const MAGIC: u64 = 0xFD2F_B528;
/// Skippable frames: magic 0x184D2A50 to 0x184D2A5F, then a 32-bit length.
const SKIPPABLE: u64 = 0x184D_2A50;
/// libzstd's ZSTD_WINDOWLOG_LIMIT_DEFAULT: a streaming decoder refuses a
/// window larger than 1 << 27 bytes (plus one, ZSTD_MAXWINDOWSIZE_DEFAULT).
const WINDOW_MAX: u64 = (1 << 27) + 1;

/// What outlives a block within a frame: the Huffman table (for treeless
/// literals), the sequence tables and repeat offsets, the literals buffer.
struct State {
    huffman: Huffman,
    sequences: Sequences,
    literals: Vec<u8>,
}

/// zstd: frames, and skippable frames, one after the other until the input
/// ends, as libzstd decodes them.
pub(super) fn decode(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut st = Box::new(State { huffman: Huffman::new(), sequences: Sequences::new(), literals: Vec::new() });
    let mut out = Output { buf: Vec::new(), pos: 0 };
    let mut at = 0;
    while at < data.len() {
        let magic = field(data, at, 4)?;
        if magic & !15 == SKIPPABLE {
            at = (at + 8).saturating_add(field(data, at + 4, 4)? as usize);
            if at > data.len() {
                return Err(CORRUPT);
            }
            continue;
        }
        if magic != MAGIC {
            return Err(CORRUPT);
        }
        at = frame(&mut st, data, at + 4, &mut out)?;
    }
    out.buf.truncate(out.pos);
    Ok(out.buf)
}

/// A frame header (§3.1.1.1).
struct Header {
    descriptor: u8,
    /// Window_Size: the largest block is the smaller of it and 128 KiB.
    window: u64,
    content_size: Option<u64>,
    len: usize,
}

impl Header {
    fn read(data: &[u8], at: usize) -> Result<Header, &'static str> {
        let d = *data.get(at).ok_or(CORRUPT)?;
        let single_segment = d & 0x20 != 0;
        let mut p = at + 1;
        let window = if single_segment {
            0
        } else {
            let w = field(data, p, 1)?;
            p += 1;
            let base = 1u64 << (10 + (w >> 3));
            base + (base >> 3) * (w & 7)
        };
        // A dictionary ID of 0 names none; libzstd refuses any other without
        // a dictionary (ZSTD_decodeFrameHeader).
        let id_len = (1 << (d & 3)) >> 1;
        let fcs_len = if d >> 6 == 0 { usize::from(single_segment) } else { 1 << (d >> 6) };
        if d & 8 != 0 || field(data, p, id_len)? != 0 {
            return Err(CORRUPT); // the reserved bit is set, or a dictionary is needed
        }
        p += id_len;
        let content_size = match fcs_len {
            0 => None,
            2 => Some(field(data, p, 2)? + 256),
            n => Some(field(data, p, n)?),
        };
        let window = if single_segment { content_size.unwrap_or(0) } else { window };
        if window > WINDOW_MAX {
            return Err(CORRUPT);
        }
        Ok(Header { descriptor: d, window, content_size, len: p + fcs_len - at })
    }
}

/// The output of all frames so far: `buf[..pos]`, and room after it.
struct Output {
    buf: Vec<u8>,
    pos: usize,
}

/// Decodes the frame whose header starts at `data[at]`; returns where the
/// input goes on.
fn frame(st: &mut State, data: &[u8], at: usize, out: &mut Output) -> Result<usize, &'static str> {
    let h = Header::read(data, at)?;
    let block_max = h.window.min(BLOCK_MAX as u64) as usize;
    if out.buf.is_empty() {
        // The content size is a good first guess, and without it the most
        // the blocks can make: the output seldom has to grow.
        let hint = h.content_size.map_or_else(|| most(data, at + h.len, block_max), |n| n as usize);
        out.buf = vec![0u8; believable(hint, data.len(), 32 << 10)];
    }
    st.huffman.log = 0;
    st.sequences.ready = Ready::No;
    st.sequences.repeat = [1, 4, 8];
    let start = out.pos;
    let mut at = at + h.len;
    loop {
        let b = field(data, at, 3)? as usize;
        at = block(st, data, at + 3, b, out, start, block_max)?;
        if b & 1 != 0 {
            break; // the last block
        }
    }
    let made = &out.buf[start..out.pos];
    if h.content_size.is_some_and(|n| n != made.len() as u64) {
        return Err(CORRUPT);
    }
    if h.descriptor & 4 != 0 {
        // Content_Checksum: the low 32 bits of the XXH64 of the frame's output.
        if field(data, at, 4)? != xxhash::xxh64(made) & 0xffff_ffff {
            return Err(CORRUPT);
        }
        at += 4;
    }
    Ok(at)
}

/// The most the blocks from `data[at]` on can make, from their headers:
/// RLE and raw blocks their size, compressed ones the largest.
fn most(data: &[u8], mut at: usize, block_max: usize) -> usize {
    let mut n = 0usize;
    while let Ok(b) = field(data, at, 3) {
        let (kind, size) = (b >> 1 & 3, (b >> 3) as usize);
        n = n.saturating_add(if kind == 2 { block_max } else { size });
        at += 3 + if kind == 1 { 1 } else { size };
        if b & 1 != 0 {
            break;
        }
    }
    n
}

/// Decodes the block at `data[at]` whose header is `b` (§3.1.1.2), in the
/// frame whose output starts at `start`; returns where the next begins.
fn block(
    st: &mut State,
    data: &[u8],
    at: usize,
    b: usize,
    out: &mut Output,
    start: usize,
    block_max: usize,
) -> Result<usize, &'static str> {
    // Block_Size: the content's size, or the output's for RLE (whose
    // content is one byte); either way at most the frame's largest block.
    let size = b >> 3;
    let kind = b >> 1 & 3;
    let content = if kind == 1 { 1 } else { size };
    let src = data.get(at..at + content).ok_or(CORRUPT)?;
    if size > block_max {
        return Err(CORRUPT);
    }
    let end = out.pos + size;
    match kind {
        0 | 1 => {
            grow_to(&mut out.buf, end)?;
            let dst = out.buf.get_mut(out.pos..end).ok_or(CORRUPT)?;
            if kind == 0 {
                dst.copy_from_slice(src);
            } else {
                dst.fill(src[0]);
            }
            out.pos = end;
            Ok(at + content)
        }
        2 => {
            // Room for the largest output a block may have, but not past
            // MAX_OUTPUT: a block that fails where that cut its room short
            // is taken for a bomb.
            let end = out.pos + block_max;
            let limit = end.min(MAX_OUTPUT);
            grow_to(&mut out.buf, limit)?;
            let src = &data[at..];
            let (lits, used) = st.huffman.literals(src, size, &mut st.literals)?;
            let mut w = Window { out: out.buf.get_mut(..limit).ok_or(CORRUPT)?, pos: out.pos, start };
            st.sequences.run(src, used, size, lits, &mut w).map_err(|e| if limit < end { BOMB } else { e })?;
            out.pos = w.pos;
            Ok(at + size)
        }
        _ => Err(CORRUPT),
    }
}
