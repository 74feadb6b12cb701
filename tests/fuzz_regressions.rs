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
