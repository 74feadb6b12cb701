//! XXH64 with seed 0, the content checksum of a zstd frame (RFC 8878 §3.1.1),
//! as the xxHash specification defines it.

use super::bits::le64;

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2)).rotate_left(31).wrapping_mul(P1)
}

pub(super) fn xxh64(d: &[u8]) -> u64 {
    let stripes = d.chunks_exact(32);
    let tail = stripes.remainder();
    let mut h = if d.len() < 32 {
        P5
    } else {
        let mut acc = [P1.wrapping_add(P2), P2, 0, P1.wrapping_neg()];
        for s in stripes {
            for (i, a) in acc.iter_mut().enumerate() {
                *a = round(*a, le64(s, 8 * i));
            }
        }
        let mut h = acc[0]
            .rotate_left(1)
            .wrapping_add(acc[1].rotate_left(7))
            .wrapping_add(acc[2].rotate_left(12))
            .wrapping_add(acc[3].rotate_left(18));
        for a in acc {
            h = (h ^ round(0, a)).wrapping_mul(P1).wrapping_add(P4);
        }
        h
    };
    h = h.wrapping_add(d.len() as u64);
    let words = tail.chunks_exact(8);
    let mut rest = words.remainder();
    for w in words {
        h = (h ^ round(0, le64(w, 0))).rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
    }
    if rest.len() >= 4 {
        h = (h ^ (le64(rest, 0) & 0xffff_ffff).wrapping_mul(P1)).rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h = (h ^ u64::from(b).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    }
    h = (h ^ (h >> 33)).wrapping_mul(P2);
    h = (h ^ (h >> 29)).wrapping_mul(P3);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::xxh64;

    #[test]
    fn known_values() {
        // The empty input's hash, from the xxHash specification.
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        // The low 32 bits zstd 1.5.4 wrote as the checksum of the bytes
        // (7 * i + 3) % 256, for lengths on each side of the word and
        // stripe sizes.
        let sums = [
            (1, 0xbc1f_4bb6),
            (3, 0x52e5_64c9),
            (4, 0x66ee_9fda),
            (7, 0x59ce_60d8),
            (8, 0xc6f9_0092),
            (31, 0xcc4a_6119),
            (32, 0xf790_fd97),
            (33, 0xba58_8784),
            (63, 0x31c7_493c),
            (64, 0xf6ee_b01f),
            (100, 0x170f_e531),
            (1000, 0x33f1_a3fb),
        ];
        for (n, sum) in sums {
            let d: Vec<u8> = (0..n).map(|i| (7 * i + 3) as u8).collect();
            assert_eq!(xxh64(&d) as u32, sum, "{n} bytes");
        }
    }
}
