//! Decompression of compressed module files (.ko.gz, .ko.xz, .ko.zst),
//! each format behind its cargo feature. Every decoder writes into a buffer
//! modbox owns and grows only up to MAX_OUTPUT, so that a small hostile file
//! cannot make modbox allocate without bound, and every integrity check the
//! format has (gzip CRC32 and length, xz CRC32/CRC64, zstd XXH64) is
//! verified: a corrupt or truncated stream is an error, never a module.
//!
//! The decoders were chosen by size in the shipping build, each verified on
//! every .ko.xz of Debian's 6.12 and gzip/zstd copies of 408 6.1 modules:
//! miniz_oxide (+10 KB), xz4rust, the kernel's own xz-embedded ported
//! (+29 KB), ruzstd's FrameDecoder (+24 KB).

/// No module comes near this once decompressed (Debian's largest, amdgpu,
/// is 28 MiB); a stream that would go past it is refused as a bomb.
pub const MAX_OUTPUT: usize = 256 << 20;

#[cfg(any(feature = "gzip", feature = "xz", feature = "zstd"))]
const CORRUPT: &str = "corrupt or truncated data";
#[cfg(any(feature = "gzip", feature = "xz", feature = "zstd"))]
const BOMB: &str = "it decompresses to more than 256 MiB";

/// Decompresses `data` in `format` ("gzip", "xz" or "zstd").
pub fn decompress(format: &'static str, data: &[u8]) -> Result<Vec<u8>, &'static str> {
    match format {
        #[cfg(feature = "gzip")]
        "gzip" => gzip(data),
        #[cfg(feature = "xz")]
        "xz" => xz(data),
        #[cfg(feature = "zstd")]
        "zstd" => zstd(data),
        _ => {
            let _ = data;
            Err("this build of modbox has no decoder for it")
        }
    }
}

/// The first buffer size for a stream whose header claims `hint` bytes:
/// no more than `ratio` times the input, the format's best compression, so
/// a lying header in a tiny file cannot make modbox reserve 256 MiB (the
/// buffer still grows to the true size).
#[cfg(any(feature = "gzip", feature = "zstd"))]
fn believable(hint: usize, input: usize, ratio: usize) -> usize {
    hint.min(input.saturating_mul(ratio)).clamp(4096, MAX_OUTPUT)
}

/// Doubles `out`, up to MAX_OUTPUT. Exactly: resize() alone would reserve
/// twice the old length, 358 MiB on the way to a 256 MiB cap.
#[cfg(any(feature = "gzip", feature = "xz", feature = "zstd"))]
fn grow(out: &mut Vec<u8>) -> Result<(), &'static str> {
    if out.len() >= MAX_OUTPUT {
        return Err(BOMB);
    }
    let n = out.len().saturating_mul(2).clamp(4096, MAX_OUTPUT);
    out.reserve_exact(n - out.len());
    out.resize(n, 0);
    Ok(())
}

#[cfg(feature = "gzip")]
fn le32(d: &[u8]) -> Result<u32, &'static str> {
    let x = d.get(..4).ok_or(CORRUPT)?;
    Ok(u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

/// The length of a gzip member header (RFC 1952: fixed part, then the
/// optional extra field, name, comment and header CRC).
#[cfg(feature = "gzip")]
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

/// CRC-32 as gzip checks it, with a 16-entry table: 64 bytes instead of 1 KiB.
#[cfg(feature = "gzip")]
fn crc32(d: &[u8]) -> u32 {
    const T: [u32; 16] = {
        let mut t = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 4 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in d {
        c = T[((c ^ b as u32) & 15) as usize] ^ (c >> 4);
        c = T[((c ^ (b as u32 >> 4)) & 15) as usize] ^ (c >> 4);
    }
    !c
}

/// gzip: one or more members, each checked against its CRC32 and length.
#[cfg(feature = "gzip")]
fn gzip(data: &[u8]) -> Result<Vec<u8>, &'static str> {
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

/// xz: streams one after the other, with padding of zero bytes in fours
/// between them, as liblzma's LZMA_CONCATENATED (kmod's) decodes: anything
/// else after a stream is damage. The dictionary may grow to 64 MiB (xz -9).
#[cfg(feature = "xz")]
fn xz(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    use xz4rust::{XzDecoder, XzNextBlockResult};
    let mut dec = XzDecoder::in_heap_with_alloc_dict_size(xz4rust::DICT_SIZE_MIN, 64 << 20);
    let mut out = vec![0u8; data.len().saturating_mul(4).clamp(4096, MAX_OUTPUT)];
    let (mut ip, mut op) = (0, 0);
    loop {
        if op == out.len() {
            grow(&mut out)?;
        }
        match dec.decode(&data[ip..], &mut out[op..]) {
            Ok(XzNextBlockResult::NeedMoreData(read, written)) => {
                // Nothing taken and nothing given: the input ended early.
                if read == 0 && written == 0 {
                    return Err(CORRUPT);
                }
                ip += read;
                op += written;
            }
            Ok(XzNextBlockResult::EndOfStream(read, written)) => {
                ip += read;
                op += written;
                while data[ip..].starts_with(&[0; 4]) {
                    ip += 4;
                }
                if ip == data.len() {
                    break;
                }
                dec.reset();
            }
            Err(_) => return Err(CORRUPT),
        }
    }
    out.truncate(op);
    Ok(out)
}

/// zstd: frames one after the other until the input ends, as libzstd
/// (kmod's) decodes. ruzstd checks neither a frame's checksum nor the
/// header bit the format reserves (which must be 0), so both are checked
/// here.
#[cfg(feature = "zstd")]
fn zstd(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
    use ruzstd::io::Read;
    let mut src = data;
    let mut frame = FrameDecoder::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while !src.is_empty() {
        if src.get(4).is_some_and(|&d| d & 8 != 0) {
            return Err(CORRUPT);
        }
        frame.init(&mut src).map_err(|_| CORRUPT)?;
        if out.is_empty() {
            // The content size in the header is optional (0 when absent): a hint.
            let size = frame.content_size() as usize;
            let hint = if size > 0 { size } else { data.len().saturating_mul(4) };
            out = vec![0u8; believable(hint, src.len(), 32 << 10)];
        }
        loop {
            frame.decode_blocks(&mut src, BlockDecodingStrategy::UptoBytes(1 << 20)).map_err(|_| CORRUPT)?;
            loop {
                if pos == out.len() {
                    if frame.can_collect() == 0 {
                        break;
                    }
                    grow(&mut out)?;
                }
                let n = frame.read(&mut out[pos..]).map_err(|_| CORRUPT)?;
                if n == 0 {
                    break;
                }
                pos += n;
            }
            if frame.is_finished() && frame.can_collect() == 0 {
                break;
            }
        }
        if let Some(sum) = frame.get_checksum_from_data() {
            if Some(sum) != frame.get_calculated_checksum() {
                return Err(CORRUPT);
            }
        }
    }
    out.truncate(pos);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_and_refuse_damage() {
        // Streams made with gzip -n, xz --check=crc32 and zstd -q from
        // b"modbox\n" repeated 100 times.
        let want: Vec<u8> = b"modbox\n".repeat(100);
        let dir = std::env::temp_dir().join(format!("modbox-dec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p"), &want).unwrap();
        for (format, cmd) in [
            ("gzip", "gzip -n -c"),
            ("xz", "xz --check=crc32 -c"),
            ("xz", "xz --check=crc64 -c"),
            ("zstd", "zstd -q -c"),
        ] {
            let out =
                std::process::Command::new("sh").arg("-c").arg(format!("{cmd} {}", dir.join("p").display())).output();
            let Ok(out) = out else { continue };
            if !out.status.success() {
                continue; // the compressor is not installed here
            }
            let packed = out.stdout;
            assert_eq!(decompress(format, &packed).as_deref(), Ok(&want[..]), "{cmd}");
            // Concatenated, as kmod's decoders take them; with junk after,
            // refused (gzip's, as zlib, ignores what is not a member).
            assert_eq!(
                decompress(format, &[&packed[..], &packed].concat()).as_deref(),
                Ok(&want.repeat(2)[..]),
                "{cmd} twice"
            );
            assert_eq!(decompress(format, &[&packed[..], b"junk"].concat()).is_err(), format != "gzip", "{cmd} junk");
            for cut in [1, packed.len() / 2, packed.len() - 1] {
                assert!(decompress(format, &packed[..cut]).is_err(), "{cmd} cut at {cut}");
            }
            let mut flipped = packed.clone();
            let at = packed.len() - 6;
            flipped[at] ^= 0x55;
            assert!(decompress(format, &flipped).is_err(), "{cmd} flipped");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
