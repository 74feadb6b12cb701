//! Every input a fuzz target ever failed on (fuzz/regressions/TARGET/),
//! run through the same check as the target (fuzz/src/lib.rs), so a fixed
//! finding stays fixed without a fuzzer on the machine.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod checks;

use std::path::Path;

#[test]
fn every_kept_input_passes_its_check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut n = 0;
    for target in std::fs::read_dir(&dir).unwrap() {
        let target = target.unwrap().path();
        let name = target.file_name().unwrap().to_str().unwrap().to_string();
        let check: fn(&[u8]) = match name.as_str() {
            "modinfo" => checks::modinfo,
            "elf" => checks::elf,
            "gzip" => checks::gzip,
            "xz" => checks::xz,
            "zstd" => checks::zstd,
            "index" => checks::index,
            "index_roundtrip" => checks::index_roundtrip,
            "moddir_text" => checks::moddir_text,
            "modprobe_conf" => checks::modprobe_conf,
            "cmdline" => checks::cmdline,
            "depmod_conf" => checks::depmod_conf,
            "glob" => checks::glob,
            "proc_modules" => checks::proc_modules,
            other => panic!("fuzz/regressions/{other}: no such target"),
        };
        for input in std::fs::read_dir(&target).unwrap() {
            let path = input.unwrap().path();
            eprintln!("{}", path.display());
            check(&std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no regression inputs found in {}", dir.display());
}

/// Bracket expressions are where glob parsers go wrong: small patterns
/// drawn from the bytes that mean something inside one, each against texts
/// made of the same bytes, must match exactly when glibc's fnmatch() does
/// (checks::glob). A fixed seed, so a failure is the same on every run.
#[test]
fn glob_agrees_with_fnmatch_on_generated_brackets() {
    const BYTES: &[u8] = b"[]!^-\\:.=*?axz";
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    // Pieces of classes, equivalence classes and collating elements, whole
    // and cut, so that the malformed ones come up as often as the others.
    let pieces: [&[u8]; 13] = [
        b"[:alpha:]",
        b"[:foo:]",
        b"[:z:]",
        b"[=a=]",
        b"[.a.]",
        b"[.ax.]",
        b"[:",
        b":]",
        b"[=",
        b"=]",
        b"[.",
        b".]",
        b"-]",
    ];
    for _ in 0..200_000 {
        let mut input = Vec::new();
        for _ in 0..1 + next(10) {
            if next(4) == 0 {
                input.extend_from_slice(pieces[next(pieces.len())]);
            } else {
                input.push(BYTES[next(BYTES.len())]);
            }
        }
        input.push(0);
        // Texts that match are near copies of their pattern: half the
        // texts are the pattern with a few bytes dropped or replaced.
        let len = input.len() - 1;
        if next(2) == 0 {
            for i in 0..len {
                match next(6) {
                    0 => {}
                    1 => input.push(BYTES[next(BYTES.len())]),
                    _ => input.push(input[i]),
                }
            }
        } else {
            for _ in 0..next(5) {
                input.push(BYTES[next(BYTES.len())]);
            }
        }
        checks::glob(&input);
    }
}
