//! gzip (RFC 1952) members, inflated by miniz_oxide.

use super::crc::crc32;
use super::{believable, grow, CORRUPT};

fn le32(d: &[u8]) -> Result<u32, &'static str> {
    let x = d.get(..4).ok_or(CORRUPT)?;
    Ok(u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

/// The length of a gzip member header (RFC 1952: fixed part, then the
/// optional extra field, name, comment and header CRC).
fn gzip_header(d: &[u8]) -> Result<usize, &'static str> {
    if d.len() < 10 || d[0] != 0x1f || d[1] != 0x8b || d[2] != 8 || d[3] & 0xe0 != 0 {
        return Err(CORRUPT);
    }
    let flags = d[3];
    let mut p = 10;
    if flags & 4 != 0 {
        let x = d.get(p..p + 2).ok_or(CORRUPT)?;
        p += 2 + u16::from_le_bytes([x[0], x[1]]) as usize;
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            p += d.get(p..).ok_or(CORRUPT)?.iter().position(|&b| b == 0).ok_or(CORRUPT)? + 1;
        }
    }
    if flags & 2 != 0 {
        p += 2;
    }
    if p > d.len() {
        return Err(CORRUPT);
    }
    Ok(p)
}

/// gzip: one or more members, each checked against its CRC32 and length.
pub(super) fn decode(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
    use miniz_oxide::inflate::TINFLStatus;
    // The trailer's length (modulo 4 GiB) is a good first guess.
    let hint = data.len().checked_sub(4).map_or(0, |n| le32(&data[n..]).unwrap_or(0)) as usize;
    let mut out = vec![0u8; believable(hint, data.len(), 1032)];
    let mut pos = 0;
    let mut input = data;
    let mut state = Box::<DecompressorOxide>::default();
    loop {
        input = &input[gzip_header(input)?..];
        state.init();
        let start = pos;
        loop {
            let (status, read, written) =
                decompress(&mut state, input, &mut out, pos, inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF);
            input = input.get(read..).ok_or(CORRUPT)?;
            pos += written;
            match status {
                TINFLStatus::Done => break,
                TINFLStatus::HasMoreOutput => grow(&mut out)?,
                _ => return Err(CORRUPT),
            }
        }
        if le32(input)? != crc32(&out[start..pos]) || le32(input.get(4..).ok_or(CORRUPT)?)? != (pos - start) as u32 {
            return Err(CORRUPT);
        }
        input = &input[8..];
        if !input.starts_with(&[0x1f, 0x8b]) {
            break;
        }
    }
    out.truncate(pos);
    Ok(out)
}
