mod common;
use common::*;
use modbox::applets::modinfo::main as modinfo;

fn module_bytes() -> Vec<u8> {
    // A real signed module when the kernel trees are cached, else a
    // synthetic one.
    match cached_module("kernel/drivers/net/dummy.ko") {
        Some(p) => std::fs::read(p).unwrap(),
        None => elf_module(
            &["license=GPL", "parm=numdummies:Number", "parmtype=numdummies:int", "vermagic=6.1.0 SMP "],
            true,
        ),
    }
}

#[test]
fn synthetic_module_in_kmod_format() {
    let d = TempDir::new("mi");
    let m = d.write(
        "x.ko",
        &elf_module(
            &[
                "alias=a-b",
                "parm=debug:Debug level",
                "parmtype=debug:int",
                "parmtype=only_type:charp",
                "parm=only_desc:Text",
                "a_key_longer_than_15=v",
                "flag",
                "vermagic=6.1.0 SMP ",
            ],
            true,
        ),
    );
    let m = m.to_str().unwrap();
    let r = run(modinfo, "modinfo", FakeKernel::new(), &[m]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.out,
        format!(
            "filename:       {m}\nalias:          a-b\na_key_longer_than_15:     v\nflag:           \nvermagic:       6.1.0 SMP \n\
             parm:           only_desc:Text\nparm:           only_type:charp\nparm:           debug:Debug level (int)\n"
        )
    );
    let r = run(modinfo, "modinfo", FakeKernel::new(), &["-p", m]);
    assert_eq!(r.out, "only_desc:Text\nonly_type: (charp)\ndebug:Debug level (int)\n");
    let r = run(modinfo, "modinfo", FakeKernel::new(), &["-0", "-F", "alias", m, "--field=vermagic"]);
    assert_eq!(r.out, "6.1.0 SMP \0");
    let r = run(modinfo, "modinfo", FakeKernel::new(), &["-F"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modinfo: option requires an argument -- 'F'\n"));
    let r = run(modinfo, "modinfo", FakeKernel::new(), &["--field"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modinfo: option '--field' requires an argument\n"));
    let r = run(modinfo, "modinfo", FakeKernel::new(), &[]);
    assert_eq!((r.code, r.err.as_str()), (1, "modinfo: ERROR: missing module or filename.\n"));
}

#[test]
fn names_that_are_not_modules() {
    for name in ["no-such", "../../etc/passwd", "/etc/passwd", &"x".repeat(10_000)] {
        let r = run(modinfo, "modinfo", FakeKernel::new(), &[name]);
        assert_eq!((r.code, r.out.as_str()), (1, ""));
        assert_eq!(r.err, format!("modinfo: ERROR: Module {name} not found.\n"));
        let r = run(modinfo, "modinfo", FakeKernel::new(), &["-m", name]);
        assert_eq!(r.err, format!("modinfo: ERROR: Module name {name} not found.\n"));
    }
}

/// Truncated and corrupted module files: an error naming the file or a
/// result, never a panic, never output on stdout with an error.
#[test]
fn hostile_files() {
    let good = module_bytes();
    let d = TempDir::new("mi-hostile");
    let mut cases: Vec<Vec<u8>> = Vec::new();
    let step = (good.len() / 97).max(1);
    for cut in (0..good.len()).step_by(step).chain([1, 4, 16, 63, 64, 65, good.len() - 1]) {
        cases.push(good[..cut].to_vec());
    }
    for at in (0..good.len()).step_by(step).chain(good.len().saturating_sub(600)..good.len()) {
        let mut b = good.clone();
        b[at] ^= 0xff;
        cases.push(b);
    }
    // Signature trailer with absurd lengths, and 32-bit and big-endian ELF.
    for (off, v) in [(12usize, 0xffu8), (8, 0x7f), (9, 0xff), (5, 0xff), (4, 0xff)] {
        let mut b = good.clone();
        let n = b.len();
        if n > 28 + off {
            b[n - 28 - off] = v;
        }
        cases.push(b);
    }
    let mut b32 = good.clone();
    b32[4] = 1;
    cases.push(b32);
    let mut be = good.clone();
    be[5] = 2;
    cases.push(be);
    for (i, bytes) in cases.iter().enumerate() {
        let p = d.write(&format!("c{i}.ko"), bytes);
        let p = p.to_str().unwrap();
        let r = run(modinfo, "modinfo", FakeKernel::new(), &[p]);
        match r.code {
            0 => assert!(r.out.starts_with(&format!("filename:       {p}\n")), "case {i}"),
            1 => {
                assert_eq!(r.out, "", "case {i}");
                assert_eq!(r.err.lines().count(), 1, "case {i}: {}", r.err);
                assert!(r.err.starts_with("modinfo: ERROR: ") && r.err.contains(p), "case {i}: {}", r.err);
            }
            c => panic!("case {i}: exit {c}"),
        }
    }
}

#[test]
fn sizes_follow_the_kernel_layout() {
    // .modinfo and __versions lose SHF_ALLOC in the kernel: nothing is left.
    let d = TempDir::new("mi-sizes");
    let m = d.write("s.ko", &elf_module(&["vermagic=6.1.0 SMP "], true));
    let m = m.to_str().unwrap();
    let r = run(modinfo, "modinfo", FakeKernel::new(), &["--sizes", m]);
    assert_eq!(r.code, 0, "{}", r.err);
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines[0], format!("filename:       {m}"));
    assert_eq!(lines[1], "text:           0 bytes, 0 pages");
    assert_eq!(lines[8], "core:           0 bytes, 0 pages, kept while the module is loaded");
    assert_eq!(lines.len(), 10);
    // A real module: every memory type of the kernel's, core and init sums.
    if let Some(p) = cached_module("kernel/drivers/block/loop.ko") {
        let r = run(modinfo, "modinfo", FakeKernel::new(), &["--sizes", p.to_str().unwrap()]);
        let core: u64 = r
            .out
            .lines()
            .find_map(|l| l.strip_prefix("core:"))
            .unwrap()
            .trim()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let parts: u64 =
            r.out.lines().take(5).skip(1).map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()).sum();
        assert!(core > 0 && core == parts, "{}", r.out);
    }
}
