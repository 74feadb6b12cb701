//! xz streams, decoded by xz4rust.

use super::{grow, CORRUPT, MAX_OUTPUT};

/// xz: streams one after the other, with padding of zero bytes in fours
/// between them, as liblzma's LZMA_CONCATENATED (kmod's) decodes: anything
/// else after a stream is damage. The dictionary may grow to 64 MiB (xz -9).
pub(super) fn decode(data: &[u8]) -> Result<Vec<u8>, &'static str> {
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
