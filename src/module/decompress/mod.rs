//! Decompression of compressed module files (.ko.gz, .ko.xz, .ko.zst),
//! each format behind its cargo feature. Every decoder writes into a buffer
//! modbox owns and grows only up to MAX_OUTPUT, so that a small hostile file
//! cannot make modbox allocate without bound, and every integrity check the
//! format has (gzip CRC32 and length, xz's CRCs, check and sizes, zstd
//! XXH64) is verified: a corrupt or truncated stream is an error, never a
//! module.
//!
//! The decoders are modbox's own, each written for the case modbox has:
//! the whole input and the whole output in memory, so the output is also
//! the window that matches copy from. Each replaced a crate, at a third of
//! its size or less and as fast or faster (README, Dependencies): gzip
//! (gzip.rs, 4.2 KB, was miniz_oxide's 9.4 KB), xz (xz/, 9.7 KB, was
//! xz4rust's 35 KB, as fast as liblzma) and zstd (zstd/, 10 KB, was
//! ruzstd's 25 KB).

#[cfg(any(feature = "gzip", feature = "xz"))]
mod crc;
#[cfg(feature = "gzip")]
mod gzip;
#[cfg(feature = "xz")]
mod xz;
#[cfg(feature = "zstd")]
mod zstd;

/// No module comes near this once decompressed (Debian's largest, amdgpu,
/// is 28 MiB); a stream that would go past it is refused as a bomb.
pub const MAX_OUTPUT: usize = 256 << 20;

#[cfg(any(feature = "gzip", feature = "xz", feature = "zstd"))]
pub(super) const CORRUPT: &str = "corrupt or truncated data";
#[cfg(any(feature = "gzip", feature = "xz", feature = "zstd"))]
pub(super) const BOMB: &str = "it decompresses to more than 256 MiB";

/// Decompresses `data` in `format` ("gzip", "xz" or "zstd").
pub fn decompress(format: &'static str, data: &[u8]) -> Result<Vec<u8>, &'static str> {
    match format {
        #[cfg(feature = "gzip")]
        "gzip" => gzip::decode(data),
        #[cfg(feature = "xz")]
        "xz" => xz::decode(data),
        #[cfg(feature = "zstd")]
        "zstd" => zstd::decode(data),
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
#[cfg(any(feature = "gzip", feature = "xz", feature = "zstd"))]
pub(super) fn believable(hint: usize, input: usize, ratio: usize) -> usize {
    hint.min(input.saturating_mul(ratio)).clamp(4096, MAX_OUTPUT)
}

/// Makes `out` at least `end` bytes long, doubling it each time, up to
/// MAX_OUTPUT; an `end` past that is a bomb, refused before any growing.
/// Exactly: resize() alone would reserve twice the old length, 358 MiB on
/// the way to a 256 MiB cap.
#[cfg(any(feature = "gzip", feature = "xz", feature = "zstd"))]
pub(super) fn grow_to(out: &mut Vec<u8>, end: usize) -> Result<(), &'static str> {
    if end > MAX_OUTPUT {
        return Err(BOMB);
    }
    while out.len() < end {
        let n = out.len().saturating_mul(2).clamp(4096, MAX_OUTPUT);
        out.reserve_exact(n - out.len());
        out.resize(n, 0);
    }
    Ok(())
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
