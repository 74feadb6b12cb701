//! Errors are values: a kind, the path or name at fault and the errno. This
//! is the one place that turns them into kmod 30's messages, so the wording
//! scripts depend on lives in a single file.

use crate::out::Out;
use rustix::io::Errno;

pub enum Error {
    /// getopt's `invalid option -- 'x'`.
    BadShort(char),
    /// getopt's `unrecognized option '--x'`.
    BadLong(Vec<u8>),
    /// getopt's `option '--x' doesn't allow an argument`, and other argument
    /// faults lexopt reports.
    BadArgs,
    /// A positional argument is missing (`missing filename.`).
    Missing(&'static str),
    /// insmod's `-`: kmod refuses to read a module from stdin.
    Stdin,
    /// The module file cannot be opened or stat'ed.
    Load { path: Vec<u8>, errno: Errno },
    /// The module file is not a regular file (a directory, FIFO, device).
    NotRegular { path: Vec<u8>, dir: bool },
    /// init_module/finit_module failed.
    Insert { path: Vec<u8>, errno: Errno },
    NotLoaded(Vec<u8>),
    Builtin(Vec<u8>),
    InUseBy { name: Vec<u8>, holders: Vec<Vec<u8>> },
    InUse(Vec<u8>),
    /// /sys/module/NAME/refcnt is missing: CONFIG_MODULE_UNLOAD is off.
    NoUnload,
    /// delete_module failed; `arg` is the name as the user gave it.
    Remove { name: Vec<u8>, arg: Vec<u8>, errno: Errno },
    /// lsmod: /proc/modules cannot be read.
    List(Errno),
    /// modbox --install: a link could not be made.
    Link { path: Vec<u8>, errno: Errno },
    /// The applet name is not one of this build's.
    UnknownApplet(Vec<u8>),
    /// A record the kernel logged while it refused a module.
    KernelLog(Vec<u8>),
    /// ENOEXEC explained: the module was built for another kernel.
    Vermagic { path: Vec<u8>, magic: Vec<u8>, release: Vec<u8> },
    /// ENOEXEC explained: the file is compressed and was passed as it is.
    Compressed { path: Vec<u8>, format: &'static str },
    /// ENOEXEC explained: not an ELF file at all.
    NotElf(Vec<u8>),
    /// ENOEXEC explained: an ELF file without the `vermagic` every module has.
    NoVermagic(Vec<u8>),
}

impl Error {
    /// Writes the message, in the form `APPLET: ERROR: text` that kmod's
    /// log_printf() uses, or getopt's own form for argument errors.
    pub fn report(&self, applet: &str, e: &mut Out) {
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
        e.str("ERROR: ");
        match self {
            Error::BadArgs => e.str("invalid arguments, see --help"),
            Error::Missing(what) => e.str("missing ").str(what).str("."),
            Error::Stdin => e.str("this tool does not support loading from stdin!"),
            Error::Load { path, errno } => e.str("could not load module ").bytes(path).str(": ").errno(*errno),
            Error::NotRegular { path, dir } => e
                .str("could not insert module ")
                .bytes(path)
                .str(if *dir { ": Is a directory" } else { ": Not a regular file" }),
            Error::Insert { path, errno } => e.str("could not insert module ").bytes(path).str(": ").insert_errno(*errno),
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
                e.bytes(path).str(" is ").str(format).str("-compressed and this kernel did not decompress it")
            }
            Error::NotElf(path) => e.bytes(path).str(" is not an ELF file, so not a kernel module"),
            Error::NoVermagic(path) => e.bytes(path).str(" has no vermagic in a .modinfo section, so it is not a kernel module"),
            Error::BadShort(_) | Error::BadLong(_) | Error::UnknownApplet(_) | Error::KernelLog(_) | Error::List(_) => e,
        }
        .byte(b'\n');
    }
}

impl From<lexopt::Error> for Error {
    /// What lexopt itself refuses (a value given to a flag, `--flag=x`).
    fn from(_: lexopt::Error) -> Error {
        Error::BadArgs
    }
}

/// glibc's strerror() text, which kmod's messages carry (musl words several
/// of these differently), for the errnos module loading and file access can
/// produce.
pub fn strerror(errno: Errno) -> Option<&'static str> {
    Some(match errno {
        Errno::PERM => "Operation not permitted",
        Errno::NOENT => "No such file or directory",
        Errno::SRCH => "No such process",
        Errno::INTR => "Interrupted system call",
        Errno::IO => "Input/output error",
        Errno::NXIO => "No such device or address",
        Errno::TOOBIG => "Argument list too long",
        Errno::NOEXEC => "Exec format error",
        Errno::BADF => "Bad file descriptor",
        Errno::AGAIN => "Resource temporarily unavailable",
        Errno::NOMEM => "Cannot allocate memory",
        Errno::ACCESS => "Permission denied",
        Errno::FAULT => "Bad address",
        Errno::BUSY => "Device or resource busy",
        Errno::EXIST => "File exists",
        Errno::NODEV => "No such device",
        Errno::NOTDIR => "Not a directory",
        Errno::ISDIR => "Is a directory",
        Errno::INVAL => "Invalid argument",
        Errno::MFILE => "Too many open files",
        Errno::TXTBSY => "Text file busy",
        Errno::FBIG => "File too large",
        Errno::NOSPC => "No space left on device",
        Errno::ROFS => "Read-only file system",
        Errno::RANGE => "Numerical result out of range",
        Errno::NAMETOOLONG => "File name too long",
        Errno::NOSYS => "Function not implemented",
        Errno::LOOP => "Too many levels of symbolic links",
        Errno::NODATA => "No data available",
        Errno::TIME => "Timer expired",
        Errno::BADMSG => "Bad message",
        Errno::OVERFLOW => "Value too large for defined data type",
        Errno::MSGSIZE => "Message too long",
        Errno::OPNOTSUPP => "Operation not supported",
        Errno::TIMEDOUT => "Connection timed out",
        Errno::CANCELED => "Operation canceled",
        Errno::NOKEY => "Required key not available",
        Errno::KEYEXPIRED => "Key has expired",
        Errno::KEYREVOKED => "Key has been revoked",
        Errno::KEYREJECTED => "Key was rejected by service",
        Errno::HWPOISON => "Memory page has hardware error",
        _ => return None,
    })
}

impl Out {
    /// `%s` of strerror(errno), glibc's words, `Unknown error N` for others.
    pub fn errno(&mut self, errno: Errno) -> &mut Out {
        match strerror(errno) {
            Some(s) => self.str(s),
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
