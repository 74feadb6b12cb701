//! Errors are values: a kind, the path or name at fault and the errno. This
//! is the one place that turns them into kmod 30's messages, so the wording
//! scripts depend on lives in a single file.

use crate::sys::out::Out;
use rustix::io::Errno;

pub enum Error {
    /// getopt's `invalid option -- 'x'`.
    BadShort(char),
    /// getopt's `unrecognized option '--x'`.
    BadLong(Vec<u8>),
    /// getopt's `option '--x' doesn't allow an argument`.
    NoValueAllowed(Vec<u8>),
    /// getopt's `option requires an argument -- 'x'`.
    NeedsValue(Vec<u8>),
    /// Other argument faults lexopt reports.
    BadArgs,
    /// A positional argument is missing (`missing filename.`).
    Missing(&'static str),
    /// insmod's `-`: kmod refuses to read a module from stdin.
    Stdin,
    /// The module file cannot be opened or stat'ed.
    Load {
        path: Vec<u8>,
        errno: Errno,
    },
    /// The module file is not a regular file (a directory, FIFO, device).
    NotRegular {
        path: Vec<u8>,
        dir: bool,
    },
    /// init_module/finit_module failed.
    Insert {
        path: Vec<u8>,
        errno: Errno,
    },
    NotLoaded(Vec<u8>),
    Builtin(Vec<u8>),
    InUseBy {
        name: Vec<u8>,
        holders: Vec<Vec<u8>>,
    },
    InUse(Vec<u8>),
    /// /sys/module/NAME/refcnt is missing: CONFIG_MODULE_UNLOAD is off.
    NoUnload,
    /// delete_module failed; `arg` is the name as the user gave it.
    Remove {
        name: Vec<u8>,
        arg: Vec<u8>,
        errno: Errno,
    },
    /// lsmod: /proc/modules cannot be read.
    List(Errno),
    /// modbox --install: a link could not be made.
    Link {
        path: Vec<u8>,
        errno: Errno,
    },
    /// The applet name is not one of this build's.
    UnknownApplet(Vec<u8>),
    /// A compressed module that could not be decompressed.
    Decompress {
        path: Vec<u8>,
        format: &'static str,
        what: &'static str,
    },
    /// modinfo: a name that no module, alias or built-in module has.
    ModuleNotFound(Vec<u8>),
    /// modinfo: a file without .modinfo.
    NoModinfo {
        path: Vec<u8>,
    },
    /// A record the kernel logged while it refused a module.
    KernelLog(Vec<u8>),
    /// modprobe: nothing of that name in the module directory's indexes.
    #[cfg(feature = "applet-modprobe")]
    NotFoundIn {
        name: Vec<u8>,
        dir: Vec<u8>,
    },
    /// modprobe: a module (or one it needs) could not be inserted; kmod
    /// words ENOENT and EEXIST for what they mean here.
    #[cfg(feature = "applet-modprobe")]
    ProbeInsert {
        name: Vec<u8>,
        errno: Errno,
    },
    /// modprobe --show-exports/--dump-modversions of a file without them.
    #[cfg(feature = "applet-modprobe")]
    SymbolsOf {
        what: &'static str,
        path: Vec<u8>,
        errno: Errno,
    },
    /// modprobe: a module that modules.dep has no file for.
    #[cfg(feature = "applet-modprobe")]
    NoFile(Vec<u8>),
    /// modprobe -r --first-time: the module is not loaded.
    #[cfg(feature = "applet-modprobe")]
    NotInKernel(Vec<u8>),
    /// modprobe -r: kmod's wording, with a full stop.
    #[cfg(feature = "applet-modprobe")]
    InUseStop(Vec<u8>),
    /// modprobe -r: delete_module failed (libkmod's message).
    #[cfg(feature = "applet-modprobe")]
    CouldNotRemove {
        name: Vec<u8>,
        errno: Errno,
    },
    /// An install command failed (libkmod's message).
    #[cfg(feature = "applet-modprobe")]
    InstallFailed {
        cmd: Vec<u8>,
        name: Vec<u8>,
        code: i32,
    },
    /// A remove command failed (kmod's modprobe words it without the command).
    #[cfg(feature = "applet-modprobe")]
    RemoveCmdFailed(Vec<u8>),
    /// modprobe without a module name.
    #[cfg(feature = "applet-modprobe")]
    MissingParams,
    /// modprobe -w with something that is not a number.
    #[cfg(feature = "applet-modprobe")]
    BadWait(Vec<u8>),
    /// A modprobe.d line kmod ignores.
    #[cfg(feature = "applet-modprobe")]
    ConfigLine {
        file: Vec<u8>,
        line: u32,
        cmd: Vec<u8>,
    },
    /// `include` and `config`, which kmod no longer reads.
    #[cfg(feature = "applet-modprobe")]
    ConfigDeprecated {
        file: Vec<u8>,
        cmd: Vec<u8>,
    },
    /// A configuration file that was opened but could not be read whole.
    #[cfg(feature = "applet-modprobe")]
    ConfigRead {
        file: Vec<u8>,
        errno: Errno,
    },
    /// A directory inside a modprobe.d directory.
    #[cfg(feature = "applet-modprobe")]
    ConfigSubdir(Vec<u8>),
    /// A `MODULE.PARAM=VALUE` on the kernel command line with a bad name.
    #[cfg(feature = "applet-modprobe")]
    CmdlineOption(Vec<u8>),
    /// A soft dependency that is not a valid name.
    #[cfg(feature = "applet-modprobe")]
    Softdep(Vec<u8>),
    /// An index file that is not in kmod's format or is damaged.
    CorruptIndex(Vec<u8>),
    /// modprobe: modules.dep has a module depend on itself through others.
    #[cfg(feature = "applet-modprobe")]
    DepCycle(Vec<Vec<u8>>),
    /// ENOEXEC explained: the module was built for another kernel.
    Vermagic {
        path: Vec<u8>,
        magic: Vec<u8>,
        release: Vec<u8>,
    },
    /// ENOEXEC explained: the file is compressed and was passed as it is.
    Compressed {
        path: Vec<u8>,
        format: &'static str,
    },
    /// ENOEXEC explained: not an ELF file at all.
    NotElf(Vec<u8>),
    /// ENOEXEC explained: an ELF file without the `vermagic` every module has.
    NoVermagic(Vec<u8>),
}

impl Error {
    /// Writes the message, in the form `APPLET: ERROR: text` that kmod's
    /// log_printf() uses, or getopt's own form for argument errors.
    pub fn report(&self, applet: &str, e: &mut Out) {
        self.report_at(applet, "ERROR", e)
    }

    /// Writes the message with kmod's priority word (`FATAL`, `ERROR`,
    /// `WARNING`) after the applet's name.
    pub fn report_at(&self, applet: &str, level: &str, e: &mut Out) {
        if let Error::List(errno) = self {
            // kmod's lsmod words this one without its name.
            e.str("Error: could not get list of modules: ").errno(*errno).byte(b'\n');
            return;
        }
        e.str(applet).str(": ");
        match self {
            Error::BadShort(c) => {
                let mut b = [0; 4];
                e.str("invalid option -- '").str(c.encode_utf8(&mut b)).str("'\n");
                return;
            }
            Error::BadLong(o) => {
                e.str("unrecognized option '--").bytes(o).str("'\n");
                return;
            }
            Error::NoValueAllowed(o) => {
                e.str("option '").bytes(o).str("' doesn't allow an argument\n");
                return;
            }
            Error::NeedsValue(o) => {
                match o.strip_prefix(b"--") {
                    Some(_) => e.str("option '").bytes(o).str("' requires an argument\n"),
                    None => e.str("option requires an argument -- '").bytes(o.get(1..).unwrap_or_default()).str("'\n"),
                };
                return;
            }
            Error::UnknownApplet(n) => {
                e.str("applet not found: ").bytes(n).str("\n");
                return;
            }
            Error::KernelLog(rec) => {
                e.str("kernel: ").bytes(rec).str("\n");
                return;
            }
            _ => {}
        }
        e.str(level).str(": ");
        match self {
            Error::BadArgs => e.str("invalid arguments, see --help"),
            Error::Missing(what) => e.str("missing ").str(what).str("."),
            Error::Stdin => e.str("this tool does not support loading from stdin!"),
            Error::Load { path, errno } => e.str("could not load module ").bytes(path).str(": ").errno(*errno),
            Error::NotRegular { path, dir } => e.str("could not insert module ").bytes(path).str(if *dir {
                ": Is a directory"
            } else {
                ": Not a regular file"
            }),
            Error::Insert { path, errno } => {
                e.str("could not insert module ").bytes(path).str(": ").insert_errno(*errno)
            }
            Error::NotLoaded(n) => e.str("Module ").bytes(n).str(" is not currently loaded"),
            Error::Builtin(n) => e.str("Module ").bytes(n).str(" is builtin."),
            Error::InUseBy { name, holders } => {
                e.str("Module ").bytes(name).str(" is in use by:");
                for h in holders {
                    e.byte(b' ').bytes(h);
                }
                e
            }
            Error::InUse(n) => e.str("Module ").bytes(n).str(" is in use"),
            Error::NoUnload => e.str("Module unloading is not supported"),
            Error::Remove { name, arg, errno } => {
                // kmod prints libkmod's line and then its own for one failure.
                e.str("could not remove '").bytes(name).str("': ").errno(*errno);
                e.str("\n").str(applet).str(": ERROR: could not remove module ").bytes(arg).str(": ").errno(*errno)
            }
            Error::Link { path, errno } => e.str("cannot create ").bytes(path).str(": ").errno(*errno),
            Error::Vermagic { path, magic, release } => e
                .bytes(path)
                .str(" was built for another kernel: its vermagic is '")
                .bytes(magic)
                .str("', the running kernel is ")
                .bytes(release),
            Error::Compressed { path, format } => {
                e.bytes(path).str(" is ").str(format).str("-compressed and the kernel could not decompress it")
            }
            Error::Decompress { path, format, what } => {
                e.str("could not read ").str(format).str("-compressed module ").bytes(path).str(": ").str(what)
            }
            Error::ModuleNotFound(n) => e.str("Module ").bytes(n).str(" not found."),
            Error::NoModinfo { path } => {
                e.str("could not get modinfo from ").bytes(path).str(": not an ELF module with a .modinfo section")
            }
            #[cfg(feature = "applet-modprobe")]
            Error::NotFoundIn { name, dir } => e.str("Module ").bytes(name).str(" not found in directory ").bytes(dir),
            #[cfg(feature = "applet-modprobe")]
            Error::ProbeInsert { name, errno } => {
                e.str("could not insert '").bytes(name).str("': ");
                match *errno {
                    Errno::EXIST => e.str("Module already in kernel"),
                    Errno::NOENT => e.str("Unknown symbol in module, or unknown parameter (see dmesg)"),
                    errno => e.errno(errno),
                }
            }
            #[cfg(feature = "applet-modprobe")]
            Error::SymbolsOf { what, path, errno } => {
                e.str("could not get ").str(what).str(" of ").bytes(path).str(": ").errno(*errno)
            }
            #[cfg(feature = "applet-modprobe")]
            Error::NoFile(n) => e.str("could not find module by name='").bytes(n).str("'"),
            #[cfg(feature = "applet-modprobe")]
            Error::NotInKernel(n) => e.str("Module ").bytes(n).str(" is not in kernel."),
            #[cfg(feature = "applet-modprobe")]
            Error::InUseStop(n) => e.str("Module ").bytes(n).str(" is in use."),
            #[cfg(feature = "applet-modprobe")]
            Error::CouldNotRemove { name, errno } => e.str("could not remove '").bytes(name).str("': ").errno(*errno),
            #[cfg(feature = "applet-modprobe")]
            Error::InstallFailed { cmd, name, code } => e
                .str("Error running install command '")
                .bytes(cmd)
                .str("' for module ")
                .bytes(name)
                .str(": retcode ")
                .num(*code as i64),
            #[cfg(feature = "applet-modprobe")]
            Error::RemoveCmdFailed(n) => e.str("Error running remove command for ").bytes(n),
            #[cfg(feature = "applet-modprobe")]
            Error::MissingParams => e.str("missing parameters. See -h."),
            #[cfg(feature = "applet-modprobe")]
            Error::BadWait(v) => e.str("unexpected wait value '").bytes(v).str("'."),
            #[cfg(feature = "applet-modprobe")]
            Error::ConfigLine { file, line, cmd } => e
                .bytes(file)
                .str(" line ")
                .num(*line as i64)
                .str(": ignoring bad line starting with '")
                .bytes(cmd)
                .str("'"),
            #[cfg(feature = "applet-modprobe")]
            Error::ConfigDeprecated { file, cmd } => {
                e.bytes(file).str(": command ").bytes(cmd).str(" is deprecated and not parsed anymore")
            }
            #[cfg(feature = "applet-modprobe")]
            Error::ConfigRead { file, errno } => e.str("could not read ").bytes(file).str(": ").errno(*errno),
            #[cfg(feature = "applet-modprobe")]
            Error::ConfigSubdir(p) => e.str("Directories inside directories are not supported: ").bytes(p),
            #[cfg(feature = "applet-modprobe")]
            Error::CmdlineOption(n) => {
                e.str("Ignoring bad option on kernel command line while parsing module name: '").bytes(n).str("'")
            }
            #[cfg(feature = "applet-modprobe")]
            Error::Softdep(n) => e.str("failed to lookup soft dependency '").bytes(n).str("', continuing anyway."),
            Error::CorruptIndex(p) => {
                e.bytes(p).str(" is not a valid index file (corrupt, or from another kmod version); run depmod")
            }
            #[cfg(feature = "applet-modprobe")]
            Error::DepCycle(chain) => {
                e.str("modules.dep has a dependency cycle:");
                for (i, n) in chain.iter().enumerate() {
                    e.str(if i == 0 { " " } else { " -> " }).bytes(n);
                }
                e
            }
            Error::NotElf(path) => e.bytes(path).str(" is not an ELF file, so not a kernel module"),
            Error::NoVermagic(path) => {
                e.bytes(path).str(" has no vermagic in a .modinfo section, so it is not a kernel module")
            }
            Error::BadShort(_)
            | Error::BadLong(_)
            | Error::NoValueAllowed(_)
            | Error::NeedsValue(_)
            | Error::UnknownApplet(_)
            | Error::KernelLog(_)
            | Error::List(_) => e,
        }
        .byte(b'\n');
    }
}

impl From<lexopt::Error> for Error {
    /// What lexopt itself refuses: a value given to a flag (`--flag=x`).
    fn from(e: lexopt::Error) -> Error {
        match e {
            lexopt::Error::UnexpectedValue { option, .. } => Error::NoValueAllowed(option.into_bytes()),
            lexopt::Error::MissingValue { option: Some(o) } => Error::NeedsValue(o.into_bytes()),
            _ => Error::BadArgs,
        }
    }
}

/// glibc's strerror() text, which kmod's messages carry (musl words several
/// of these differently), for the errnos module loading and file access can
/// produce. Each entry is the errno as one byte, the text, and a NUL: the
/// table costs little more than its characters.
const STRERROR: &[u8] = b"\
    \x01Operation not permitted\0\
    \x02No such file or directory\0\
    \x03No such process\0\
    \x04Interrupted system call\0\
    \x05Input/output error\0\
    \x06No such device or address\0\
    \x07Argument list too long\0\
    \x08Exec format error\0\
    \x09Bad file descriptor\0\
    \x0bResource temporarily unavailable\0\
    \x0cCannot allocate memory\0\
    \x0dPermission denied\0\
    \x0eBad address\0\
    \x10Device or resource busy\0\
    \x11File exists\0\
    \x13No such device\0\
    \x14Not a directory\0\
    \x15Is a directory\0\
    \x16Invalid argument\0\
    \x18Too many open files\0\
    \x1aText file busy\0\
    \x1bFile too large\0\
    \x1cNo space left on device\0\
    \x1eRead-only file system\0\
    \x22Numerical result out of range\0\
    \x24File name too long\0\
    \x26Function not implemented\0\
    \x28Too many levels of symbolic links\0\
    \x3dNo data available\0\
    \x3eTimer expired\0\
    \x4aBad message\0\
    \x4bValue too large for defined data type\0\
    \x5aMessage too long\0\
    \x5fOperation not supported\0\
    \x6eConnection timed out\0\
    \x7dOperation canceled\0\
    \x7eRequired key not available\0\
    \x7fKey has expired\0\
    \x80Key has been revoked\0\
    \x81Key was rejected by service\0\
    \x85Memory page has hardware error\0";

pub fn strerror(errno: Errno) -> Option<&'static [u8]> {
    let mut rest = STRERROR;
    while let [code, tail @ ..] = rest {
        let len = tail.iter().position(|&c| c == 0)?;
        if i32::from(*code) == errno.raw_os_error() {
            return Some(&tail[..len]);
        }
        rest = &tail[len + 1..];
    }
    None
}

impl Out {
    /// `%s` of strerror(errno), glibc's words, `Unknown error N` for others.
    pub fn errno(&mut self, errno: Errno) -> &mut Out {
        match strerror(errno) {
            Some(s) => self.bytes(s),
            None => self.str("Unknown error ").num(errno.raw_os_error() as i64),
        }
    }

    /// kmod's insmod words some errnos for what they mean to a module load
    /// (tools/insmod.c, mod_strerror()).
    pub fn insert_errno(&mut self, errno: Errno) -> &mut Out {
        let text = match errno {
            Errno::NOEXEC => "Invalid module format",
            Errno::NOENT => "Unknown symbol in module",
            Errno::SRCH => "Module has wrong symbol version",
            Errno::INVAL => "Invalid parameters",
            _ => return self.errno(errno),
        };
        self.str(text)
    }
}

/// depmod's messages, in kmod 30's tools/depmod.c wording (modbox's own
/// where kmod has none): the level (F fatal, E error, W warning, I info),
/// then the text with each `%` standing for the next argument. `depmod_msg`
/// prints them as kmod's log_printf() does: `depmod: LEVEL: text`.
pub mod depmod {
    pub const DEPRECATED: &str = "WIgnored deprecated option -%";
    pub const PREFIX_CHAR: &str = "F-P only takes a single char";
    pub const BAD_VERSION: &str = "EBad version passed %";
    pub const LOAD_KERNEL_SYMS: &str = "Fcould not load %: %";
    pub const ERRSYMS_ALONE: &str = "W-e needs -E or -F";
    pub const OPEN_DIR: &str = "Ecould not open directory %: %";
    pub const SEARCH: &str = "Fcould not search modules: %";
    pub const NOT_ABSOLUTE: &str = "F%: not absolute path.";
    pub const CREATE_MODULE: &str = "Fcould not create module %: %";
    pub const ADD_MODULE: &str = "Fcould not add module %: %";
    pub const LOAD_SYMBOLS: &str = "Efailed to load symbols from %: %";
    pub const WRITE: &str = "Ecould not write %: %; the old index files are left as they were";
    pub const WRITE_PART: &str = "Ecould not write %: %; the files before it were replaced: run depmod again";
    pub const FILE_TYPE: &str = "Eunsupported file type %: %";
    pub const STAT: &str = "Ecould not stat %: %";
    pub const LOOP: &str = "E%: a symbolic link loop, skipped";
    pub const ORDER_LINE: &str = "E%/modules.order:% corrupted line misses '\\n'";
    pub const SYMVERS_LINE: &str = "E%:% Invalid symbol version %: Invalid argument";
    pub const SYSTEM_MAP_LINE: &str = "E%:%: invalid line: %";
    pub const UNKNOWN_SYMBOL: &str = "W% needs unknown symbol %";
    pub const SYMBOL_VERSION: &str = "W% disagrees about version of symbol %";
    pub const CYCLE: &str = "ECycle detected: %";
    pub const CYCLES: &str = "EFound % modules in dependency cycles!";
    pub const DUP_DEPS: &str = "Wduplicate module deps:\n%";
    pub const DUP_ALIAS: &str = "Wduplicate module alias:\n% %";
    pub const DUP_SYMS: &str = "Wduplicate module syms:\n% %";
    pub const BRACKET: &str = "WUnmatched bracket in %";
    pub const BUILTIN_LINE: &str = "EInvalid modules.builtin line: %";
    pub const DEVNAME: &str = "EModule '%' has devname (%) but lacks major and minor information. Ignoring.";
    pub const OPEN_TREE_FILE: &str = "Wcould not open % at %: %";
    pub const READ_TREE_FILE: &str =
        "Ecould not read %/modules.builtin.modinfo: %; the old index files are left as they were";
    pub const FLUSH: &str = "WCould not flush stream: 28. Partial content: %";
    pub const UP_TO_DATE: &str = "Ecould not fstatat(%, modules.dep): %";
    pub const CONF_DIR: &str = "Efiles list %: could not read the directory";
    pub const CONF_NAME: &str = "IAll cfg files need .conf: %";
    pub const CONF_SUBDIR: &str = "EDirectories inside directories are not supported: %";
    pub const CONF_READ: &str = "Efile parse %: could not read it";
    pub const CONF_BAD_LINE: &str = "E%:%: ignoring bad line starting with '%'";
    pub const CONF_OVERRIDE_KVER: &str = "I%:%: override kernel did not match %";
    pub const CONF_EXTERNAL_KVER: &str = "I%:%: external directory did not match %";
    pub const CONF_NOT_IMPLEMENTED: &str = "I%:%: command % not implemented yet";
}

/// Prints one of the `depmod` messages with its arguments.
pub fn depmod_msg(e: &mut Out, template: &str, args: &[&[u8]]) {
    let (level, text) = template.split_at(1);
    let level = match level {
        "F" => "FATAL",
        "E" => "ERROR",
        "W" => "WARNING",
        _ => "INFO",
    };
    e.str("depmod: ").str(level).str(": ");
    let mut args = args.iter();
    for (i, part) in text.split('%').enumerate() {
        if i > 0 {
            e.bytes(args.next().copied().unwrap_or_default());
        }
        e.str(part);
    }
    e.byte(b'\n');
}

/// strerror()'s text as bytes, for message arguments.
pub fn errno_text(errno: Errno) -> Vec<u8> {
    let mut o = Out::new(crate::sys::out::Sink::Buffer);
    o.errno(errno);
    o.buf
}

/// A number as message argument.
pub fn num_text(n: i64) -> Vec<u8> {
    let mut o = Out::new(crate::sys::out::Sink::Buffer);
    o.num(n);
    o.buf
}
