//! The checksums the formats share.

/// CRC-32 (IEEE 802.3, reflected), as gzip and xz check it, with a 16-entry table: 64 bytes instead of 1 KiB.
pub(super) fn crc32(d: &[u8]) -> u32 {
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
