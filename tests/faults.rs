//! depmod under faults: killed at any point of a run, its output file
//! system filling up (blocks, inodes), the directory turning read-only or
//! unwritable while it runs, and each system call of the writing failing or
//! being the last one in turn (strace's fault injection).
//!
//! After every fault the ten index files must be the old ones byte for byte
//! (a run that failed or was killed) or the new ones (a run that finished);
//! only a run stopped among its renames (killed there, or a rename failing)
//! may leave a set that is part new, part old — each file whole — and it
//! must say so. The readers, modbox's and kmod's modprobe (`--show-depends`,
//! `-R`, `-c`) and modinfo, must answer exactly as they did before the fault
//! (or as they do from the new files), and every temporary file a killed or
//! stopped run left must be gone after the next run that finishes.
//!
//! kmod's depmod is not the oracle here, only its readers are: it renames
//! each file as soon as it is written (a kill part-way leaves a mixed set; a
//! write error leaves a truncated file renamed into place), and the
//! `NAME.PID.USEC.SEC` files of a killed run stay for ever.

mod common;
use common::{elf_module_syms as module, TempDir};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_modbox");
use common::DEPMOD_FILES as INDEX;

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd).arg(arg).output().is_ok_and(|o| o.status.success())
}

/// kmod's modprobe and modinfo as the readers' oracle: required in CI.
fn kmod_present() -> bool {
    let ok = have("modprobe", "--version") && have("modinfo", "--version");
    if !ok {
        assert!(
            std::env::var_os("MODBOX_REQUIRE_ORACLE").is_none(),
            "MODBOX_REQUIRE_ORACLE is set but kmod is missing"
        );
        eprintln!("kmod missing: only modbox's readers are checked");
    }
    ok
}

/// A small xorshift generator for the kill delays; the seed is printed
/// (MODBOX_FAULT_SEED repeats a run).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("MODBOX_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
        eprintln!("MODBOX_FAULT_SEED={seed}");
        Rng(seed)
    }
    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The ten files of a directory (None for a missing one).
type Index = Vec<Option<Vec<u8>>>;

fn read_index(dir: &Path) -> Index {
    INDEX.iter().map(|f| fs::read(dir.join(f)).ok()).collect()
}

/// Puts a set back in place, in the files' own inodes.
fn write_index(dir: &Path, idx: &Index) {
    for (f, data) in INDEX.iter().zip(idx) {
        fs::write(dir.join(f), data.as_ref().unwrap()).unwrap();
    }
}

/// Files depmod left beside the index: everything named `modules.*` that is
/// neither an index file nor one of the kernel package's.
fn temps(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| {
            n.starts_with("modules.")
                && !INDEX.contains(&n.as_str())
                && !["modules.order", "modules.builtin", "modules.builtin.modinfo"].contains(&n.as_str())
        })
        .collect();
    v.sort();
    v
}

/// A temporary file as modbox's depmod names it: `INDEXFILE.PID.tmp`.
fn is_own_temp(name: &str) -> bool {
    let Some(rest) = name.strip_suffix(".tmp") else { return false };
    let Some((file, pid)) = rest.rsplit_once('.') else { return false };
    INDEX.contains(&file) && !pid.is_empty() && pid.bytes().all(|c| c.is_ascii_digit())
}

/// A tree BASE/lib/modules/KVER to run depmod on, and the names the
/// readers are asked about.
struct Tree {
    root: TempDir,
    kver: String,
    names: Vec<String>,
    /// A symbol of the tree the added module uses.
    uses: &'static str,
}

impl Tree {
    fn base(&self) -> &str {
        self.root.path().to_str().unwrap()
    }
    fn dir(&self) -> PathBuf {
        self.root.path().join("lib/modules").join(&self.kver)
    }
}

/// `n` modules: each exports a symbol and uses the one of the module at half
/// its number (so dependency chains of up to log2(n) modules), with two
/// aliases each and a softdep on every 50th.
fn synthetic(tag: &str, n: usize) -> Tree {
    let root = TempDir::new(tag);
    let kver = "6.1.0-99-amd64".to_string();
    for i in 0..n {
        let alias_pci = format!("alias=pci:v0000{i:04X}d*sv*sd*bc*sc*i*");
        let alias_fs = format!("alias=fs-fm{i}");
        let soft = format!("softdep=pre: fm{}", i / 3);
        let mut info = vec![alias_pci.as_str(), alias_fs.as_str(), "license=GPL"];
        if i % 50 == 49 {
            info.push(&soft);
        }
        let export = format!("fsym_{i}");
        let need = format!("fsym_{}", i / 2);
        let needs: Vec<&str> = if i > 0 { vec![&need, "printk"] } else { vec!["printk"] };
        root.write(
            &format!("lib/modules/{kver}/kernel/drivers/g{}/fm{i}.ko", i % 10),
            &module(&info, &[&export], &needs),
        );
    }
    // As a kernel package has them (without, depmod warns about each).
    let order: String = (0..n).map(|i| format!("kernel/drivers/g{}/fm{i}.ko\n", i % 10)).collect();
    root.write(&format!("lib/modules/{kver}/modules.order"), order.as_bytes());
    root.write(&format!("lib/modules/{kver}/modules.builtin"), b"kernel/fs/ext4/ext4.ko\n");
    root.write(&format!("lib/modules/{kver}/modules.builtin.modinfo"), b"ext4.alias=fs-ext4\0ext4.license=GPL\0");
    let names = [
        "fm1",
        &format!("fm{}", n - 1),
        &format!("fs-fm{}", n / 2),
        "symbol:fsym_7",
        "faultnew",
        "faultnew-alias",
        "symbol:faultnew_fn",
        "devname:faultnew",
        "no-such-module",
    ]
    .map(String::from)
    .to_vec();
    Tree { root, kver, names, uses: "fsym_3" }
}

/// A hard-linked copy of Debian's 6.1 tree from the kernel cache (4,000
/// plain modules: a run lasts long enough to be stopped anywhere), or None.
fn debian_tree(tag: &str) -> Option<Tree> {
    let cache = std::env::var_os("MODBOX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/cache"));
    let mut found = None;
    for pkg in fs::read_dir(cache.join("kernels")).into_iter().flatten().flatten() {
        if !pkg.path().join(".complete").exists() {
            continue;
        }
        for kver in fs::read_dir(pkg.path().join("lib/modules")).into_iter().flatten().flatten() {
            if kver.file_name().to_string_lossy().starts_with("6.1.") {
                found = Some(kver.path());
            }
        }
    }
    let Some(tree) = found else {
        assert!(
            std::env::var_os("MODBOX_REQUIRE_TREES").is_none(),
            "MODBOX_REQUIRE_TREES is set but {cache:?} has no 6.1 tree"
        );
        eprintln!("no Debian 6.1 tree in {cache:?} (initramfs/fetch-kernel 6.1): a synthetic tree instead");
        return None;
    };
    let root = TempDir::new(tag);
    fs::create_dir_all(root.path().join("lib/modules")).unwrap();
    assert!(Command::new("cp").arg("-al").arg(&tree).arg(root.path().join("lib/modules")).status().unwrap().success());
    let kver = tree.file_name().unwrap().to_str().unwrap().to_string();
    // Nothing of the package's own index may be there (it ships none).
    for f in INDEX {
        let _ = fs::remove_file(root.path().join("lib/modules").join(&kver).join(f));
    }
    let names = [
        "8021q",
        "bridge",
        "dummy",
        "snd-hda-intel",
        "rtnl-link-vlan",
        "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00",
        "symbol:llc_sap_open",
        "faultnew",
        "faultnew-alias",
        "symbol:faultnew_fn",
        "devname:faultnew",
        "no-such-module",
    ]
    .map(String::from)
    .to_vec();
    Some(Tree { root, kver, names, uses: "llc_sap_open" })
}

fn big_tree(tag: &str) -> Tree {
    debian_tree(tag).unwrap_or_else(|| synthetic(tag, 4000))
}

/// What one depmod run ended with.
struct Run {
    status: ExitStatus,
    err: String,
    /// How long it ran.
    took: Duration,
}

impl Run {
    fn describe(&self) -> String {
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => format!("exit {c} after {:?}: {}", self.took, self.err.trim_end()),
            (_, Some(s)) => format!("signal {s} after {:?}", self.took),
            _ => "?".into(),
        }
    }
}

/// When to stop a running depmod with SIGKILL.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    Never,
    After(Duration),
    /// Once it has made this many temporary files.
    Temps(usize),
    /// Once modules.dep has been replaced.
    Renamed,
}

/// Runs `cmd` (a depmod over `dir`, possibly through setpriv) and stops it
/// with `act` (SIGKILL when None) at `trigger`.
fn run_until(mut cmd: Command, dir: &Path, trigger: Trigger, act: Option<&dyn Fn()>) -> Run {
    let dep_ino = fs::metadata(dir.join("modules.dep")).map(|m| m.ino()).unwrap_or(0);
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut v).unwrap();
        v
    });
    let own = format!(".{}.tmp", child.id());
    let mut fired = false;
    while child.try_wait().unwrap().is_none() {
        if !fired {
            fired = match trigger {
                Trigger::Never => false,
                Trigger::After(d) => start.elapsed() >= d,
                Trigger::Temps(k) => temps(dir).iter().filter(|t| t.ends_with(&own)).count() >= k,
                Trigger::Renamed => fs::metadata(dir.join("modules.dep")).map(|m| m.ino()).unwrap_or(0) != dep_ino,
            };
            if fired {
                match act {
                    Some(f) => f(),
                    None => child.kill().unwrap(),
                }
            }
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    let status = child.wait().unwrap();
    Run { status, err: String::from_utf8_lossy(&reader.join().unwrap()).into_owned(), took: start.elapsed() }
}

fn depmod(t: &Tree) -> Command {
    let mut c = Command::new(BIN);
    c.args(["depmod", "-b", t.base(), &t.kver]);
    c
}

/// What the readers say, one entry per command: (command, status, stdout,
/// stderr), with the base directory written as BASE.
type Answers = Vec<(String, Option<i32>, String, String)>;

#[derive(Debug, PartialEq, Clone, Copy)]
enum State {
    Old,
    New,
    Mixed,
}

/// What may follow a fault besides "old files, no temporary files".
#[derive(Clone, Copy, Default)]
struct Allow {
    /// The fault can stop a run among its renames.
    mixed: bool,
    /// The directory could not be written when the run cleaned up.
    temps: bool,
}

/// The index before and after adding a module to the tree, what the
/// readers answer from each, and the checks of every state after a fault.
struct Checker {
    kver: String,
    names: Vec<String>,
    conf: TempDir,
    kmod: bool,
    old: Index,
    new: Index,
    old_answers: Answers,
    new_answers: Answers,
    /// Index contents the readers were already run on.
    seen: HashSet<u64>,
    /// Outcomes, for the summary.
    tally: BTreeMap<String, usize>,
}

impl Checker {
    /// Indexes `t`, adds a module that changes every file but the built-in
    /// ones, and learns the new index; leaves the old one in place.
    /// Returns the checker and how long a whole run takes.
    fn new(t: &Tree) -> (Checker, Duration) {
        let mut c = Checker {
            kver: t.kver.clone(),
            names: t.names.clone(),
            conf: TempDir::new("faults-conf"),
            kmod: kmod_present(),
            old: Vec::new(),
            new: Vec::new(),
            old_answers: Vec::new(),
            new_answers: Vec::new(),
            seen: HashSet::new(),
            tally: BTreeMap::new(),
        };
        let r = run_until(depmod(t), &t.dir(), Trigger::Never, None);
        assert!(r.status.success(), "depmod: {}", r.describe());
        c.old = read_index(&t.dir());
        c.old_answers = c.answers(t.root.path());
        t.write_new_module();
        let r = run_until(depmod(t), &t.dir(), Trigger::Never, None);
        assert!(r.status.success(), "depmod: {}", r.describe());
        c.new = read_index(&t.dir());
        c.new_answers = c.answers(t.root.path());
        for (i, f) in INDEX.iter().enumerate() {
            let same = c.old[i] == c.new[i];
            assert_eq!(
                same,
                f.starts_with("modules.builtin"),
                "{f}: old and new should differ exactly outside the built-in indexes"
            );
        }
        assert!(c.old_answers != c.new_answers);
        write_index(&t.dir(), &c.old);
        assert!(temps(&t.dir()).is_empty(), "{:?}", temps(&t.dir()));
        (c, r.took)
    }

    fn answers(&self, base: &Path) -> Answers {
        let b = base.to_str().unwrap();
        let conf = self.conf.path().to_str().unwrap();
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let mp = |extra: &[&str]| -> Vec<String> {
            ["modprobe", "-d", b, "-S", &self.kver, "-C", conf]
                .iter()
                .chain(extra)
                .chain(&names)
                .map(|s| s.to_string())
                .collect()
        };
        let mut cmds = vec![
            mp(&["-a", "--show-depends"]),
            mp(&["-a", "-R"]),
            ["modprobe", "-d", b, "-S", &self.kver, "-C", conf, "-c"].map(String::from).to_vec(),
        ];
        cmds.push(
            ["modinfo", "-b", b, "-k", &self.kver, "-F", "filename"]
                .iter()
                .chain(&names)
                .map(|s| s.to_string())
                .collect(),
        );
        let mut v = Vec::new();
        for tool in ["modbox", "kmod"] {
            if tool == "kmod" && !self.kmod {
                continue;
            }
            for args in &cmds {
                let o = if tool == "kmod" {
                    Command::new(&args[0]).args(&args[1..]).output()
                } else {
                    Command::new(BIN).args(args).output()
                }
                .unwrap();
                let clean = |s: &[u8]| String::from_utf8_lossy(s).replace(b, "BASE");
                v.push((format!("{tool} {}", args[0]), o.status.code(), clean(&o.stdout), clean(&o.stderr)));
            }
        }
        v
    }

    /// Checks the files under `base` after `r`, a run that met a fault.
    fn verify(&mut self, what: &str, base: &Path, r: &Run, allow: Allow) -> State {
        let dir = base.join("lib/modules").join(&self.kver);
        let now = read_index(&dir);
        let left = temps(&dir);
        let ctx = format!("{what}: {}", r.describe());
        let mut new_files = Vec::new();
        for (i, f) in INDEX.iter().enumerate() {
            let (is_old, is_new) = (now[i] == self.old[i], now[i] == self.new[i]);
            assert!(
                is_old || is_new,
                "{ctx}: {f} is neither the old file nor the new one ({} bytes)",
                now[i].as_ref().map_or(0, |d| d.len())
            );
            if is_new && !is_old {
                new_files.push(*f);
            }
        }
        let state = match new_files.len() {
            0 => State::Old,
            8 => State::New,
            _ => State::Mixed,
        };
        for t in &left {
            assert!(is_own_temp(t), "{ctx}: a stray file {t}");
        }
        match (r.status.code(), r.status.signal()) {
            (Some(0), _) => {
                assert_eq!(state, State::New, "{ctx}: finished but the index is not the new one (new: {new_files:?})");
                assert!(left.is_empty(), "{ctx}: finished but left {left:?}");
            }
            (Some(1), _) => {
                let lines: Vec<&str> = r.err.lines().filter(|l| l.contains("could not write")).collect();
                assert_eq!(lines.len(), 1, "{ctx}: one 'could not write' line expected");
                assert!(lines[0].starts_with("depmod: ERROR: could not write "), "{ctx}");
                // The file named is the one that failed; with a mixed set,
                // those before it are the new ones and the message says so.
                let failed = INDEX.iter().position(|f| lines[0].contains(&format!("/{f}: "))).unwrap_or(0);
                match state {
                    State::Old => assert!(lines[0].ends_with("; the old index files are left as they were"), "{ctx}"),
                    State::Mixed => {
                        assert!(allow.mixed, "{ctx}: failed and left a mixed set (new: {new_files:?})");
                        let before: Vec<&str> =
                            INDEX[..failed].iter().filter(|f| !f.starts_with("modules.builtin")).copied().collect();
                        assert_eq!(new_files, before, "{ctx}: not the files before the failed one");
                        assert!(lines[0].contains("run depmod again"), "{ctx}: a mixed set not reported as such");
                    }
                    State::New => panic!("{ctx}: failed, yet every file is new"),
                }
                assert!(allow.temps || left.is_empty(), "{ctx}: failed and left {left:?}");
            }
            (_, Some(9)) => assert!(state != State::Mixed || allow.mixed, "{ctx}: a mixed set (new: {new_files:?})"),
            _ => panic!("{ctx}: unexpected status"),
        }
        // The readers: what they said before (or from the new files); from a
        // mixed set, whatever they say, but no crash. Each distinct set once.
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            now.hash(&mut h);
            h.finish()
        };
        if self.seen.insert(key) {
            let got = self.answers(base);
            match state {
                State::Old => same_answers(&got, &self.old_answers, &ctx, "before"),
                State::New => same_answers(&got, &self.new_answers, &ctx, "from the new index"),
                State::Mixed => {
                    for a in &got {
                        assert!(a.1.is_some(), "{ctx}: {} crashed on a mixed set", a.0);
                    }
                }
            }
        }
        let kind = match (r.status.code(), state) {
            (Some(0), _) => "finished".to_string(),
            (Some(c), s) => format!("failed (exit {c}), {s:?} index, {} temporary files left", left.len()),
            (None, s) => {
                format!("killed, {s:?} index, {} temporary files", if left.is_empty() { "no" } else { "some" })
            }
        };
        *self.tally.entry(kind).or_default() += 1;
        state
    }

    /// A run without faults finishes with the new index and no temporary
    /// file, whatever earlier runs left; then the old index goes back.
    fn clean_run(&mut self, t: &Tree, what: &str) {
        let r = run_until(depmod(t), &t.dir(), Trigger::Never, None);
        self.verify(&format!("{what}, then a run without faults"), t.root.path(), &r, Allow::default());
        write_index(&t.dir(), &self.old);
    }

    fn summary(&self, test: &str) {
        eprintln!("{test}:");
        for (k, n) in &self.tally {
            eprintln!("  {n:3} {k}");
        }
    }
}

fn same_answers(got: &Answers, want: &Answers, ctx: &str, when: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!(
            g == w,
            "{ctx}: {} does not answer as {when}:\n--- now ({:?})\n{}{}\n--- {when} ({:?})\n{}{}",
            g.0,
            g.1,
            g.2.chars().take(2000).collect::<String>(),
            g.3,
            w.1,
            w.2.chars().take(2000).collect::<String>(),
            w.3
        );
    }
}

impl Tree {
    /// A module that uses one of the tree's symbols and brings an export,
    /// aliases, a device node and a softdep: modules.dep, .alias, .symbols,
    /// .softdep and .devname all change.
    fn write_new_module(&self) {
        let m = module(
            &[
                "alias=faultnew-alias",
                "alias=devname:faultnew",
                "alias=char-major-10-250",
                "softdep=pre: faultnew-pre",
                "license=GPL",
            ],
            &["faultnew_fn"],
            &[self.uses],
        );
        self.root.write(&format!("lib/modules/{}/extra/faultnew.ko", self.kver), &m);
    }
}

/// SIGKILL at evenly spread delays over a whole run (each moved at random
/// within its step), and at the moments the writing starts, is half way,
/// has made every file and has renamed the first. The previous run's
/// temporary files are not removed by the test: the next run must.
#[test]
fn killed_at_any_point() {
    let t = big_tree("faults-kill");
    let (mut c, took) = Checker::new(&t);
    eprintln!("a whole run takes {took:?}");
    let mut rng = Rng::new();
    let n = 12;
    let mut triggers: Vec<Trigger> =
        (0..n).map(|i| Trigger::After(took.mul_f64((i as f64 + rng.unit()) / n as f64))).collect();
    triggers.extend([Trigger::Temps(1), Trigger::Temps(5), Trigger::Temps(10), Trigger::Renamed]);
    for (i, trig) in triggers.into_iter().enumerate() {
        let r = run_until(depmod(&t), &t.dir(), trig, None);
        let what = format!("kill {i} ({trig:?})");
        if c.verify(&what, t.root.path(), &r, Allow { mixed: true, temps: false }) != State::Old {
            write_index(&t.dir(), &c.old);
        }
    }
    c.clean_run(&t, "after the kills");
    c.summary("killed_at_any_point");
}

/// strace's fault injection, on one core so that every run makes the same
/// system calls: for each call of the writing (creating, writing, syncing
/// and renaming each file, the clean-up, the directory's sync), a run where
/// that call fails and one killed just before it. Each is followed by a run
/// without faults.
#[test]
fn every_step_of_the_writing_fails_or_is_the_last() {
    if !have("strace", "-V") || !have("taskset", "--version") {
        assert!(
            std::env::var_os("MODBOX_REQUIRE_ORACLE").is_none(),
            "MODBOX_REQUIRE_ORACLE is set but strace or taskset is missing"
        );
        eprintln!("skipping: no strace or taskset");
        return;
    }
    let t = synthetic("faults-strace", 300);
    let (mut c, _) = Checker::new(&t);
    let calls =
        ["openat", "write", "fsync", "fdatasync", "renameat", "renameat2", "rename", "unlinkat", "flock", "close"];
    let log = t.root.path().join("strace.log");
    let traced = |extra: &[String]| {
        let mut cmd = Command::new("taskset");
        // (Not --seccomp-bpf: strace 6.1 then injects no signals.)
        cmd.args(["-c", "0", "strace", "-f", "-qq"]).args(extra).arg(BIN).args(["depmod", "-b", t.base(), &t.kver]);
        cmd
    };
    // A run under strace: which of those calls the writing makes, each as
    // (call, its number among the calls of that name).
    let r = run_until(
        traced(&["-o".into(), log.to_str().unwrap().into(), format!("-etrace={}", calls.join(","))]),
        &t.dir(),
        Trigger::Never,
        None,
    );
    assert!(r.status.success(), "{}", r.describe());
    write_index(&t.dir(), &c.old);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut all = Vec::new();
    for line in fs::read_to_string(&log).unwrap().lines() {
        let Some((_, call)) = line.split_once(' ') else { continue };
        let Some((name, _)) = call.split_once('(') else { continue };
        let name = name.trim().to_string();
        let n = counts.entry(name.clone()).or_default();
        *n += 1;
        all.push((name, *n, call.to_string()));
    }
    // The writing starts where the directory is opened for it: the last
    // open of it before the first temporary file (or lock).
    let first = all.iter().position(|s| s.2.contains(".tmp\"") || s.0 == "flock").expect("no writing seen");
    let dir = format!("\"{}\"", t.dir().display());
    let start = all[..first].iter().rposition(|s| s.0 == "openat" && s.2.contains(&dir)).unwrap_or(first);
    let steps: Vec<_> = all[start..].iter().filter(|s| s.0 != "close").cloned().collect();
    assert!(steps.iter().filter(|s| s.0.starts_with("rename")).count() == 10, "{steps:#?}");
    eprintln!("{} steps in the writing", steps.len());
    for (name, n, call) in &steps {
        let errno = match name.as_str() {
            "openat" | "write" => "ENOSPC",
            "fsync" | "fdatasync" => "EIO",
            "flock" => "ENOLCK",
            _ => "EROFS",
        };
        for inject in [format!("error={errno}"), "signal=KILL".to_string()] {
            let what = format!("{name} #{n} ({}...) with {inject}", call.chars().take(90).collect::<String>());
            let r = run_until(
                traced(&[
                    "-o".into(),
                    "/dev/null".into(),
                    format!("-etrace={name}"),
                    format!("-einject={name}:{inject}:when={n}"),
                ]),
                &t.dir(),
                Trigger::Never,
                None,
            );
            // Only a rename fails part-way through the set; the failing call
            // names its errno.
            c.verify(
                &what,
                t.root.path(),
                &r,
                Allow { mixed: name.starts_with("rename") || inject.starts_with("signal"), temps: false },
            );
            if r.status.code() == Some(1) {
                let text = match errno {
                    "ENOSPC" => "No space left on device",
                    "EIO" => "Input/output error",
                    _ => "Read-only file system",
                };
                assert!(r.err.contains(text), "{what}: {}", r.err);
            }
            if r.status.success() {
                write_index(&t.dir(), &c.old);
            } else {
                c.clean_run(&t, &what);
            }
        }
    }
    c.summary("every_step_of_the_writing_fails_or_is_the_last");
}

/// Runs `script` with sh in a private mount namespace; None (and a printed
/// reason) where mount namespaces are not available.
fn in_namespace(script: &str) -> Option<std::process::Output> {
    let o = Command::new("unshare").args(["-m", "sh", "-c", script]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    if err.starts_with("unshare:") {
        eprintln!("skipping: no mount namespace: {err}");
        return None;
    }
    Some(o)
}

/// Runs a remount script of the read-only tests: it bind-mounts the output
/// directory (exit 99 when it cannot), runs depmod with its stderr in
/// OUT/err and its status in OUT/rc. `None` (after saying why) when this
/// machine cannot do it.
fn remount_run(script: &str, out: &TempDir) -> Option<(i32, Run)> {
    let o = in_namespace(script)?;
    if o.status.code() == Some(99) {
        eprintln!("skipping: no bind mounts: {}", String::from_utf8_lossy(&o.stderr));
        return None;
    }
    let code: i32 = fs::read_to_string(out.path().join("rc")).unwrap().trim().parse().unwrap();
    let r = Run {
        status: ExitStatus::from_raw(code << 8),
        err: fs::read_to_string(out.path().join("err")).unwrap(),
        took: Duration::ZERO,
    };
    Some((code, r))
}

/// The output directory on a small tmpfs that fills up while depmod writes:
/// too few blocks, then too few inodes, each in steps from "the old index
/// just fits" to "the new one fits beside it". The tmpfs lives only in the
/// namespace: what is in it after the run is copied out for the checks.
#[test]
fn full_file_system() {
    let t = synthetic("faults-full", 1500);
    let (mut c, _) = Checker::new(&t);
    let mnt = TempDir::new("faults-mnt");
    let d = mnt.path().join("lib/modules").join(&t.kver);
    fs::create_dir_all(&d).unwrap();
    let pages = |v: &Index| v.iter().map(|f| f.as_ref().unwrap().len().div_ceil(4096)).sum::<usize>();
    // Everything copied in (the package's files too) fills old_pages.
    let old_pages: usize = fs::read_dir(t.dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.metadata().unwrap().len() as usize).div_ceil(4096))
        .sum();
    let new_pages = pages(&c.new);
    let mut cases: Vec<(String, bool)> = Vec::new();
    for frac in [0.0, 0.2, 0.5, 0.8, 0.95, 1.0] {
        cases.push((format!("size={}", (old_pages + (new_pages as f64 * frac) as usize) * 4096), false));
    }
    cases.push((format!("size={}", (old_pages + new_pages + 64) * 4096), true));
    // The root, the files there before, two links: then room for k
    // temporary files.
    let inodes = 3 + fs::read_dir(t.dir()).unwrap().flatten().filter(|e| e.file_type().unwrap().is_file()).count();
    for k in [0, 1, 5, 9] {
        cases.push((format!("nr_inodes={}", inodes + k), false));
    }
    cases.push(("nr_inodes=64".into(), true));
    let (mut failed, mut finished) = (0, 0);
    for (i, (opt, must_finish)) in cases.iter().enumerate() {
        let view = TempDir::new("faults-view");
        let vdir = view.path().join("lib/modules").join(&t.kver);
        fs::create_dir_all(&vdir).unwrap();
        let script = format!(
            "set -e; mount -t tmpfs -o {opt} tmpfs {d}; cp {src}/modules.* {d}/; ln -s {src}/kernel {d}/kernel; ln -s {src}/extra {d}/extra; set +e; {BIN} depmod -b {mnt} {kver} 2>{v}/err; echo $? >{v}/rc; cp -a {d}/. {vdir}/",
            d = d.display(),
            src = t.dir().display(),
            mnt = mnt.path().display(),
            kver = t.kver,
            v = view.path().display(),
            vdir = vdir.display()
        );
        let Some(o) = in_namespace(&script) else { return };
        assert!(o.status.success(), "{opt}: {}", String::from_utf8_lossy(&o.stderr));
        let code: i32 = fs::read_to_string(view.path().join("rc")).unwrap().trim().parse().unwrap();
        let r = Run {
            status: ExitStatus::from_raw(code << 8),
            err: fs::read_to_string(view.path().join("err")).unwrap(),
            took: Duration::ZERO,
        };
        let what = format!("tmpfs {opt} (case {i})");
        c.verify(&what, view.path(), &r, Allow::default());
        if code == 0 {
            finished += 1;
        } else {
            assert!(r.err.contains("No space left on device"), "{what}: {}", r.err);
            failed += 1;
        }
        if i == 0 || cases[i - 1].0[..4] != opt[..4] {
            assert_eq!(code, 1, "{what}: the old index alone fills the file system, yet the run finished");
        }
        if *must_finish {
            assert_eq!(code, 0, "{what}: room for both, yet it failed");
        }
    }
    eprintln!("full_file_system: {failed} runs out of room, {finished} finished");
    c.summary("full_file_system");
}

/// The directory made read-only (a read-only bind mount over it) while
/// depmod runs: at spread delays, and as soon as its first temporary file
/// is seen. A read-only remount cannot happen while a file is open for
/// writing; whenever it happens, the run either finishes or fails with
/// the old index and nothing left behind.
#[test]
fn read_only_while_running() {
    let t = big_tree("faults-ro");
    let (mut c, took) = Checker::new(&t);
    let d = t.dir();
    let ms = took.as_millis() as u64;
    let mut rng = Rng::new();
    let mut triggers: Vec<String> = [0.3, 0.6, 0.9, 0.97]
        .iter()
        .map(|f| format!("sleep {:.3}", (ms as f64 * (f + 0.03 * rng.unit())) / 1000.0))
        .collect();
    triggers.push(format!("until ls {} | grep -q '[.]tmp$' || ! kill -0 $p 2>/dev/null; do :; done", d.display()));
    let out = TempDir::new("faults-ro-out");
    for trig in &triggers {
        let script = format!(
            "mount --bind {d} {d} || exit 99; {BIN} depmod -b {base} {kver} 2>{o}/err & p=$!; {trig}; until mount -o remount,bind,ro {d} 2>/dev/null; do :; done; wait $p; echo $? >{o}/rc",
            d = d.display(),
            base = t.base(),
            kver = t.kver,
            o = out.path().display()
        );
        let Some((code, r)) = remount_run(&script, &out) else { return };
        let what = format!("read-only after '{trig}'");
        if c.verify(&what, t.root.path(), &r, Allow::default()) != State::Old {
            write_index(&d, &c.old);
        }
        if code != 0 {
            assert!(r.err.contains("Read-only file system"), "{what}: {}", r.err);
        }
    }
    c.clean_run(&t, "after the read-only runs");
    c.summary("read_only_while_running");
}

/// The same with the writing slowed down (strace delays each unlinkat and
/// renameat by 30 ms: the moments between two files and between two
/// renames), and the remount tried from the moment the k-th temporary file
/// is there, or modules.dep has been replaced. While any of its files is
/// open for writing the remount must fail (EBUSY), so the run finishes
/// with the new index; a read-only mount that came between two files would
/// leave temporary files nobody can remove, between two renames a mixed set.
#[test]
fn read_only_while_writing() {
    if !have("strace", "-V") {
        assert!(
            std::env::var_os("MODBOX_REQUIRE_ORACLE").is_none(),
            "MODBOX_REQUIRE_ORACLE is set but strace is missing"
        );
        eprintln!("skipping: no strace");
        return;
    }
    let t = synthetic("faults-ro-slow", 300);
    let (mut c, _) = Checker::new(&t);
    let d = t.dir().display().to_string();
    let out = TempDir::new("faults-ro-slow-out");
    let live = "! kill -0 $p 2>/dev/null";
    let mut triggers: Vec<String> = [1, 5, 10]
        .iter()
        .map(|k| format!("until [ $(ls {d} | grep -c '[.]tmp$') -ge {k} ] || {live}; do :; done"))
        .collect();
    triggers.push(format!(
        "i=$(stat -c %i {d}/modules.dep); until [ $(stat -c %i {d}/modules.dep) != $i ] || {live}; do :; done"
    ));
    for trig in &triggers {
        let script = format!(
            "mount --bind {d} {d} || exit 99; strace -f -qq -o /dev/null -e trace=unlinkat,renameat -e inject=unlinkat,renameat:delay_enter=30000 {BIN} depmod -b {base} {kver} 2>{o}/err & p=$!; {trig}; until mount -o remount,bind,ro {d} 2>/dev/null; do :; done; wait $p; echo $? >{o}/rc",
            base = t.base(),
            kver = t.kver,
            o = out.path().display()
        );
        let Some((code, r)) = remount_run(&script, &out) else { return };
        let what = format!("read-only after '{trig}'");
        c.verify(&what, t.root.path(), &r, Allow::default());
        assert_eq!(code, 0, "{what}: the remount came while depmod was writing: {}", r.err);
        write_index(&t.dir(), &c.old);
    }
    c.summary("read_only_while_writing");
}

/// An unprivileged depmod whose directory loses its write permission while
/// it writes (chmod 0555 as its k-th temporary file appears, or after its
/// first rename): it can neither finish nor remove its temporary files.
/// Either old or, stopped among the renames, a mixed set that says so; once
/// the permission is back, the next run finishes and removes what was left.
#[test]
fn unwritable_while_running() {
    if !have("setpriv", "--version")
        || !String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout).starts_with("0\n")
    {
        eprintln!("skipping: needs root and setpriv");
        return;
    }
    let t = synthetic("faults-chmod", 2000);
    let (mut c, _) = Checker::new(&t);
    let d = t.dir();
    let mode = |m: u32| fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap();
    assert!(Command::new("chown").arg("65534:65534").arg(&d).status().unwrap().success());
    let nobody = || {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN, "depmod", "-b", t.base(), &t.kver]);
        cmd
    };
    for trig in [Trigger::Temps(1), Trigger::Temps(4), Trigger::Temps(10), Trigger::Renamed] {
        let r = run_until(nobody(), &d, trig, Some(&|| mode(0o555)));
        mode(0o755);
        let what = format!("chmod 0555 at {trig:?}");
        c.verify(&what, t.root.path(), &r, Allow { mixed: true, temps: true });
        if r.status.code() == Some(1) {
            assert!(r.err.contains("Permission denied"), "{what}: {}", r.err);
        }
        let r = run_until(nobody(), &d, Trigger::Never, None);
        c.verify(&format!("{what}, then a run without faults"), t.root.path(), &r, Allow::default());
        write_index(&d, &c.old);
    }
    c.summary("unwritable_while_running");
}

/// The temporary files of a run still writing are not another run's to
/// remove: while the directory's flock is held shared (as a writing depmod
/// holds it), a run leaves files named like its own alone; once it is free,
/// the next run removes them. Files of other names (kmod's
/// `NAME.PID.USEC.SEC`, anything else) are never touched.
#[test]
fn a_writing_runs_temporary_files_are_kept() {
    use rustix::fs::{flock, FlockOperation};
    let t = synthetic("faults-lock", 20);
    let (mut c, _) = Checker::new(&t);
    let d = t.dir();
    let theirs = ["modules.dep.4194304.tmp", "modules.alias.bin.1.tmp"];
    let others = ["modules.dep.123.456789.1700000000", "modules.dep.tmp", "modules.order.7.tmp", "modules.dep.x1.tmp"];
    for f in theirs.iter().chain(&others) {
        fs::write(d.join(f), b"partial").unwrap();
    }
    let writer = fs::File::open(&d).unwrap();
    flock(&writer, FlockOperation::LockShared).unwrap();
    let r = run_until(depmod(&t), &d, Trigger::Never, None);
    assert!(r.status.success(), "{}", r.describe());
    let mut left = temps(&d);
    let mut want: Vec<String> = theirs.iter().chain(&others).map(|s| s.to_string()).collect();
    want.sort();
    left.sort();
    assert_eq!(left, want, "files removed while another run held the lock");
    assert!(read_index(&d) == c.new);
    drop(writer);
    write_index(&d, &c.old);
    let r = run_until(depmod(&t), &d, Trigger::Never, None);
    assert!(r.status.success(), "{}", r.describe());
    let mut want: Vec<String> = others.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(temps(&d), want, "only modbox's own temporary names go");
    for f in others {
        fs::remove_file(d.join(f)).unwrap();
    }
    c.clean_run(&t, "after the lock");
}
