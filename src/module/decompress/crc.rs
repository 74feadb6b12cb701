//! The checksums the formats share: CRC-32 (gzip, xz) and CRC-64 (xz).
//!
//! No table is stored in the binary: the tables are built on the stack at
//! each call, from the polynomial. They cost stack, not file size.

/// CRC-32 (IEEE 802.3, reflected), as gzip and xz check it.
const POLY32: u32 = 0xEDB8_8320;
/// CRC-64 (ECMA-182, reflected), as xz checks it (xz format, section 6).
#[cfg(feature = "xz")]
const POLY64: u64 = 0xC96C_5795_D787_0F42;

/// Below this many bytes CRC-32 goes bit by bit: building the tables would
/// cost more than it saves (the xz headers, index and footer are short).
const SHORT: usize = 512;

/// One byte into a CRC-32, a bit at a time.
fn bits32(mut c: u32, b: u8) -> u32 {
    c ^= b as u32;
    for _ in 0..8 {
        c = (c >> 1) ^ (POLY32 & (c & 1).wrapping_neg());
    }
    c
}

/// The output of the whole tree of .ko.xz modules is checked with this
/// (500 MB for Debian's 6.12), so it goes eight bytes a step through eight
/// tables of 256 entries ("slicing by 8", as liblzma does): at opt-level z
/// about 3.5 times as fast as one table of 256 entries, 5 times as fast as
/// one of 16 (which this replaces).
pub(super) fn crc32(d: &[u8]) -> u32 {
    let mut c = !0u32;
    let mut rest = d;
    if d.len() >= SHORT {
        // t[k][b]: the CRC of byte b followed by k zero bytes.
        let mut t = [[0u32; 256]; 8];
        for (b, e) in t[0].iter_mut().enumerate() {
            *e = bits32(0, b as u8);
        }
        for k in 1..8 {
            let (done, next) = t.split_at_mut(k);
            for (e, &v) in next[0].iter_mut().zip(&done[k - 1]) {
                *e = (v >> 8) ^ done[0][(v & 255) as usize];
            }
        }
        let four = |x: u32, k: usize| {
            t[k + 3][(x & 255) as usize]
                ^ t[k + 2][((x >> 8) & 255) as usize]
                ^ t[k + 1][((x >> 16) & 255) as usize]
                ^ t[k][(x >> 24) as usize]
        };
        let mut words = d.chunks_exact(8);
        for w in &mut words {
            let lo = c ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
            c = four(lo, 4) ^ four(hi, 0);
        }
        rest = words.remainder();
    }
    for &b in rest {
        c = bits32(c, b);
    }
    !c
}

/// CRC-64 of xz's default check. Kernel builds choose CRC-32
/// (`xz --check=crc32`), so this one stays small: one table.
#[cfg(feature = "xz")]
pub(super) fn crc64(d: &[u8]) -> u64 {
    let mut t = [0u64; 256];
    for (b, e) in t.iter_mut().enumerate() {
        let mut c = b as u64;
        for _ in 0..8 {
            c = (c >> 1) ^ (POLY64 & (c & 1).wrapping_neg());
        }
        *e = c;
    }
    let mut c = !0u64;
    for &b in d {
        c = t[((c ^ b as u64) & 255) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check values of the CRC catalogue ("123456789"), and the same
    /// through both CRC-32 paths: a long input against a bit-wise sum.
    #[test]
    fn check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        let long: Vec<u8> = (0..5000u32).map(|i| ((i * 7919) >> 3) as u8).collect();
        for n in [SHORT, SHORT + 1, SHORT + 7, 5000] {
            let want = !long[..n].iter().fold(!0u32, |c, &b| bits32(c, b));
            assert_eq!(crc32(&long[..n]), want, "{n} bytes");
        }
        #[cfg(feature = "xz")]
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
    }
}
