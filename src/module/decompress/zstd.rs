//! zstd frames, decoded by ruzstd.

use super::{believable, grow, CORRUPT};

/// zstd: frames one after the other until the input ends, as libzstd
/// (kmod's) decodes. ruzstd checks neither a frame's checksum nor the
/// header bit the format reserves (which must be 0), so both are checked
/// here.
pub(super) fn decode(data: &[u8]) -> Result<Vec<u8>, &'static str> {
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
