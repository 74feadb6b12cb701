//! The check of each block's output (xz format, sections 2.1.1.2 and 3.4).

use super::super::crc::{crc32, crc64};
use super::super::CORRUPT;

/// The check a stream's flags name. Of the 16 IDs, the format defines
/// these four; the others are reserved and refused here, as a check modbox
/// cannot verify (liblzma skips them unverified).
#[derive(Clone, Copy)]
pub(super) enum Check {
    None,
    Crc32,
    Crc64,
    Sha256,
}

impl Check {
    /// From the stream flags: a zero byte, then the check ID in the low
    /// four bits, the high four reserved.
    pub(super) fn new(flags: &[u8]) -> Result<Check, &'static str> {
        match flags {
            [0, 0] => Ok(Check::None),
            [0, 1] => Ok(Check::Crc32),
            [0, 4] => Ok(Check::Crc64),
            [0, 10] => Ok(Check::Sha256),
            _ => Err(CORRUPT),
        }
    }

    pub(super) fn size(self) -> usize {
        match self {
            Check::None => 0,
            Check::Crc32 => 4,
            Check::Crc64 => 8,
            Check::Sha256 => 32,
        }
    }

    /// Whether `sum` is the check of `data` (CRCs are stored little-endian).
    pub(super) fn matches(self, data: &[u8], sum: &[u8]) -> bool {
        match self {
            Check::None => true,
            Check::Crc32 => crc32(data).to_le_bytes() == sum,
            Check::Crc64 => crc64(data).to_le_bytes() == sum,
            Check::Sha256 => sha256_is(data, sum),
        }
    }
}

/// Whether `sum` is the SHA-256 (FIPS 180-4) of `data`, the check of
/// `xz --check=sha256`.
fn sha256_is(data: &[u8], sum: &[u8]) -> bool {
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut blocks = data.chunks_exact(64);
    for b in &mut blocks {
        compress(&mut h, b);
    }
    // The padding: a one bit, zeros, and the length in bits, big-endian,
    // ending a block (a second one when the length does not fit).
    let rest = blocks.remainder();
    let mut last = [0u8; 64];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    if rest.len() >= 56 {
        compress(&mut h, &last);
        last = [0; 64];
    }
    last[56..].copy_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    compress(&mut h, &last);
    h.iter().zip(sum.chunks_exact(4)).all(|(w, s)| w.to_be_bytes() == s)
}

/// One 64-byte block into the state `h`.
fn compress(h: &mut [u32; 8], block: &[u8]) {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    // The message schedule, 16 words at a time.
    let mut w = [0u32; 16];
    for (w, c) in w.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    }
    let mut v = *h;
    for (i, k) in K.iter().enumerate() {
        if i >= 16 {
            let (a, b) = (w[(i + 1) & 15], w[(i + 14) & 15]);
            let s0 = a.rotate_right(7) ^ a.rotate_right(18) ^ (a >> 3);
            let s1 = b.rotate_right(17) ^ b.rotate_right(19) ^ (b >> 10);
            w[i & 15] = w[i & 15].wrapping_add(s0).wrapping_add(w[(i + 9) & 15]).wrapping_add(s1);
        }
        let [a, b, c, d, e, f, g, hh] = v;
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let t1 = hh.wrapping_add(s1).wrapping_add((e & f) ^ (!e & g)).wrapping_add(*k).wrapping_add(w[i & 15]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let t2 = s0.wrapping_add((a & b) ^ (a & c) ^ (b & c));
        v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
    }
    for (x, y) in h.iter_mut().zip(v) {
        *x = x.wrapping_add(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// FIPS 180-4's examples: one block, two blocks (the length does not
    /// fit after 56 bytes), many blocks.
    #[test]
    fn sha256_examples() {
        for (data, sum) in [
            (&b""[..], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (&[b'a'; 1_000_000], "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        ] {
            assert!(Check::Sha256.matches(data, &hex(sum)), "{} bytes", data.len());
            let mut wrong = hex(sum);
            wrong[31] ^= 1;
            assert!(!Check::Sha256.matches(data, &wrong));
        }
    }
}
