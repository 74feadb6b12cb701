//! The multicall front, through the real binary.

mod common;
use common::TempDir;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_modbox");

fn modbox(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs a freshly copied binary. Another test thread forking while the copy
/// was open for writing can make exec fail with ETXTBSY for a moment.
fn run_copy(cmd: &mut Command) -> Output {
    for _ in 0..50 {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(std::time::Duration::from_millis(20)),
            r => return r.unwrap(),
        }
    }
    panic!("{cmd:?} stays busy");
}

/// The applets of the default build, sorted, as build.rs lists them.
fn applets() -> Vec<&'static str> {
    modbox::applets::APPLETS.iter().map(|(name, _)| *name).collect()
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap()
}

#[test]
fn list_names_the_applets_of_this_build() {
    let o = modbox(&["--list"]);
    assert!(o.status.success());
    let names: String = applets().iter().map(|a| format!("{a}\n")).collect();
    assert_eq!(text(&o.stdout), names);
    assert!(names.starts_with("depmod\ninsmod\nlsmod\nmodinfo\nmodprobe\n"));
}

#[test]
fn applet_as_first_argument_or_through_a_link() {
    let o = modbox(&["insmod", "--help"]);
    assert!(o.status.success());
    assert!(text(&o.stdout).starts_with("Usage: insmod"));

    let d = TempDir::new("cli");
    let link = d.path().join("rmmod");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let o = Command::new(&link).arg("-h").output().unwrap();
    assert!(text(&o.stdout).starts_with("Usage: rmmod"));
    // The applet's own name is in its messages.
    let o = Command::new(&link).output().unwrap();
    assert_eq!((o.status.code(), text(&o.stderr)), (Some(1), "rmmod: ERROR: missing module name.\n"));
}

#[test]
fn unknown_applet_lists_the_known_ones() {
    let o = modbox(&["modprobe-ng"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        format!(
            "modbox: applet not found: modprobe-ng\nmodbox: the applets of this build are: {}\n",
            applets().join(" ")
        )
    );
    assert!(o.stdout.is_empty());
    let o = modbox(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).starts_with("Usage: modbox APPLET"));
    let o = modbox(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn install_makes_links_that_work() {
    // Symbolic links beside the binary are relative, so the tree can move.
    let d = TempDir::new("inst");
    let bin = d.path().join("modbox");
    std::fs::copy(BIN, &bin).unwrap();
    let o = run_copy(Command::new(&bin).args(["--install", "-s", d.path().to_str().unwrap()]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    for a in applets() {
        assert_eq!(std::fs::read_link(d.path().join(a)).unwrap().to_str(), Some("modbox"));
        assert!(text(&o.stdout).contains(&format!("/{a} -> modbox\n")));
    }
    let o = run_copy(Command::new(d.path().join("lsmod")).arg("--help"));
    assert!(text(&o.stdout).starts_with("Usage: lsmod"));

    // Elsewhere: absolute symbolic links, or hard links.
    let other = TempDir::new("inst2");
    let o = run_copy(Command::new(&bin).args(["--install", "-s", other.path().to_str().unwrap()]));
    assert!(o.status.success());
    assert_eq!(std::fs::read_link(other.path().join("insmod")).unwrap(), bin.canonicalize().unwrap());
    let hard = TempDir::new("inst3");
    let o = run_copy(Command::new(&bin).args(["--install", hard.path().to_str().unwrap()]));
    assert!(o.status.success());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(hard.path().join("rmmod")).unwrap().ino(), std::fs::metadata(&bin).unwrap().ino());

    // A second run finds the links there: one error each, exit 1.
    let o = run_copy(Command::new(&bin).args(["--install", hard.path().to_str().unwrap()]));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr).lines().count(), applets().len());
    assert!(text(&o.stderr).contains("rmmod: File exists"), "{}", text(&o.stderr));
    let o = modbox(&["--install"]);
    assert_eq!((o.status.code(), text(&o.stderr)), (Some(1), "modbox: ERROR: usage: modbox --install [-s] DIR\n"));
}

/// `rmmod -s` sends its errors to /dev/log: checked in a private mount
/// namespace with a listener on a fresh /dev/log (root and unshare(1)
/// needed, as for the kmod comparisons).
#[test]
fn rmmod_syslog_goes_to_dev_log() {
    let usable = Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success());
    if !usable {
        assert!(std::env::var_os("MODBOX_REQUIRE_ORACLE").is_none(), "unshare -m is not usable");
        eprintln!("skipping: unshare -m not usable here");
        return;
    }
    let d = TempDir::new("syslog");
    let out = d.path().join("records");
    let listener = format!(
        "import socket,subprocess,sys\n\
         s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind('/dev/log'); s.settimeout(5)\n\
         p=subprocess.run(['{BIN}','rmmod','-s','nosuch-mod'],capture_output=True)\n\
         open('{}','w').write(repr((p.returncode,p.stderr,s.recv(4096))))\n",
        out.display()
    );
    let st = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs none /dev && exec python3 -c \"$0\"", &listener])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "(1, b'', b'<27>rmmod: ERROR: Module nosuch_mod is not currently loaded')"
    );
    // Nobody listening: the message falls back to stderr.
    let st = Command::new("unshare")
        .args(["-m", "sh", "-c", &format!("mount -t tmpfs none /dev && {BIN} rmmod -s nosuch 2> {}", out.display())])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "rmmod: ERROR: Module nosuch is not currently loaded\n");
}
