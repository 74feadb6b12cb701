//! xz streams (the .xz file format 1.0.4), decoded by modbox's own decoder.
//! Section numbers below are the format specification's.
//!
//! Each Block must have exactly one filter, LZMA2: BCJ and delta filters,
//! which liblzma (and so kmod) would also take, are refused, as no kernel
//! build makes them. Every check of the format is verified: header, block
//! header, index and footer CRC32s, the block's check (CRC32, CRC64 or
//! SHA-256), the sizes the block headers and the index declare, the
//! padding. A check type the format reserves is refused, where liblzma
//! decodes without verifying it.

mod check;
mod lzma;

use super::crc::crc32;
use super::{believable, CORRUPT, MAX_OUTPUT};
use check::Check;
use lzma::{Lzma, Output};

/// xz: streams one after the other, with padding of zero bytes in fours
/// between them, as liblzma's LZMA_CONCATENATED (kmod's) decodes: anything
/// else after a stream is damage (section 2.2).
pub(super) fn decode(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    // The last stream's index tells its size: the buffer is made that big
    // at once, which saves growing it (a copy and a fill) for nearly every
    // module; other streams, or an index that lies, make it grow. 7000 to
    // 1 is about xz's best (256 MiB of zeros at -9).
    let hint = last_size(data).map_or(0, |n| usize::try_from(n).unwrap_or(MAX_OUTPUT));
    let mut out = Output { buf: vec![0u8; believable(hint, data.len(), 7000)], len: 0 };
    let mut lz = Lzma::new()?;
    let mut rest = data;
    loop {
        stream(&mut rest, &mut out, &mut lz)?;
        let zeros = rest.iter().take_while(|&&b| b == 0).count();
        if zeros % 4 != 0 {
            return Err(CORRUPT);
        }
        rest = &rest[zeros..];
        if rest.is_empty() {
            break;
        }
    }
    out.buf.truncate(out.len);
    Ok(out.buf)
}

/// The uncompressed size the index of the last stream declares, read
/// from the stream footer's backward size, unchecked: only a first guess.
fn last_size(data: &[u8]) -> Option<u64> {
    let footer = data.get(data.len().checked_sub(12)?..)?;
    let index_size = (le32(&footer[4..]) as usize).checked_add(1)?.checked_mul(4)?;
    let mut f = data.get(data.len().checked_sub(index_size.checked_add(12)?)? + 1..)?;
    let mut total = 0u64;
    for _ in 0..vli(&mut f).ok()? {
        vli(&mut f).ok()?;
        total = total.checked_add(vli(&mut f).ok()?)?;
    }
    Some(total)
}

/// The first `n` bytes of `data`, which moves past them.
fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8], &'static str> {
    let (head, rest) = data.split_at_checked(n).ok_or(CORRUPT)?;
    *data = rest;
    Ok(head)
}

/// What the index says of a block (section 4.3).
#[derive(PartialEq)]
struct Record {
    /// Block header, compressed data and check, without the padding.
    unpadded: u64,
    uncompressed: u64,
}

/// One stream (section 2.1): header, blocks, index, footer.
fn stream(data: &mut &[u8], out: &mut Output, lz: &mut Lzma) -> Result<(), &'static str> {
    // Stream header (2.1.1): magic, flags, the flags' CRC32.
    let header = take(data, 12)?;
    if header[..6] != *b"\xfd7zXZ\0" || le32(&header[8..]) != crc32(&header[6..8]) {
        return Err(CORRUPT);
    }
    let flags = &header[6..8];
    let check = Check::new(flags)?;
    let mut records = Vec::new();
    // A block header's first byte is its size, never 0; 0 starts the index.
    while data.first().is_some_and(|&b| b != 0) {
        records.push(block(data, out, lz, check)?);
    }
    let index_size = index(data, &records)?;
    // Stream footer (2.1.2): CRC32, backward size (the index's), the
    // header's flags again, magic.
    let footer = take(data, 12)?;
    if le32(footer) != crc32(&footer[4..10])
        || (le32(&footer[4..]) as u64 + 1) * 4 != index_size
        || footer[8..10] != *flags
        || footer[10..] != *b"YZ"
    {
        return Err(CORRUPT);
    }
    Ok(())
}

/// One block (section 3): header, LZMA2 data, padding, check.
fn block(data: &mut &[u8], out: &mut Output, lz: &mut Lzma, check: Check) -> Result<Record, &'static str> {
    // The caller saw the first byte: the header's size in fours, less one.
    let header_size = (data[0] as usize + 1) * 4;
    let header = take(data, header_size)?;
    let (mut f, crc) = header.split_at(header_size - 4);
    if crc32(f) != le32(crc) {
        return Err(CORRUPT);
    }
    let flags = f[1];
    f = &f[2..];
    // 3.1.2: bits 0-1 are the number of filters less one (one filter
    // only: see the top of this file); bits 2-5 are reserved.
    if flags & 0x3F != 0 {
        return Err(CORRUPT);
    }
    let packed = if flags & 0x40 != 0 { Some(vli(&mut f)?) } else { None };
    let unpacked = if flags & 0x80 != 0 { Some(vli(&mut f)?) } else { None };
    // 3.1.5 and 5.3.1: the LZMA2 filter (0x21) and its one byte of
    // properties, the dictionary size; the header padding is zeros (3.1.6).
    let (id, props_size) = (vli(&mut f)?, vli(&mut f)?);
    let dict = match f {
        [d @ 0..=40, pad @ ..] if id == 0x21 && props_size == 1 && pad.iter().all(|&b| b == 0) => *d,
        _ => return Err(CORRUPT),
    };
    let start = out.len;
    let packed_size = lzma::lzma2(lz, data, out, dict_size(dict))?;
    let uncompressed = (out.len - start) as u64;
    if packed.is_some_and(|n| n != packed_size as u64) || unpacked.is_some_and(|n| n != uncompressed) {
        return Err(CORRUPT);
    }
    // 3.3 and 3.4: zeros up to a multiple of four, then the check.
    take(data, packed_size)?;
    let pad = take(data, packed_size.next_multiple_of(4) - packed_size)?;
    let sum = take(data, check.size())?;
    if pad.iter().any(|&b| b != 0) || !check.matches(&out.buf[start..out.len], sum) {
        return Err(CORRUPT);
    }
    Ok(Record { unpadded: (header_size + packed_size + check.size()) as u64, uncompressed })
}

/// The dictionary size of LZMA2's properties byte (5.3.1), as liblzma's
/// decoder sizes its buffer: at least 4 KiB, a multiple of 16. On 32-bit
/// systems bigger dictionaries than the output could ever be are capped.
fn dict_size(bits: u8) -> usize {
    let size = if bits == 40 { u32::MAX as u64 } else { (2 | (bits as u64 & 1)) << (bits / 2 + 11) };
    usize::try_from((size + 15) & !15).unwrap_or(usize::MAX)
}

/// The index (section 4): the records must be those of the blocks decoded.
/// Returns its size.
fn index(data: &mut &[u8], records: &[Record]) -> Result<u64, &'static str> {
    // The caller saw the indicator, 0, or the end of the data.
    let all = *data;
    let mut f = all.get(1..).ok_or(CORRUPT)?;
    if vli(&mut f)? != records.len() as u64 {
        return Err(CORRUPT);
    }
    for r in records {
        if (Record { unpadded: vli(&mut f)?, uncompressed: vli(&mut f)? }) != *r {
            return Err(CORRUPT);
        }
    }
    // 4.4: zeros up to a multiple of four; 4.5: the CRC32 of all before.
    let used = all.len() - f.len();
    let size = used.next_multiple_of(4);
    let index = take(data, size + 4)?;
    if index[used..size].iter().any(|&b| b != 0) || le32(&index[size..]) != crc32(&index[..size]) {
        return Err(CORRUPT);
    }
    Ok(size as u64 + 4)
}

/// A variable-length integer (section 1.2): 7 bits a byte, low first, at
/// most 9 bytes, no needless trailing zero byte.
fn vli(d: &mut &[u8]) -> Result<u64, &'static str> {
    let mut v = 0;
    for i in 0..9 {
        let (&b, rest) = d.split_first().ok_or(CORRUPT)?;
        *d = rest;
        v |= ((b & 0x7F) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return if b == 0 && i > 0 { Err(CORRUPT) } else { Ok(v) };
        }
    }
    Err(CORRUPT)
}

/// The first 4 bytes of `d` (which has them), little-endian.
fn le32(d: &[u8]) -> u32 {
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

#[cfg(test)]
mod tests;
