//! Messages. Each is one whole sentence template with its level, defined
//! once as a `Msg` constant beside the code that raises it (grep `Msg::`
//! for all of them); an applet's own messages live in its own file, so they
//! are compiled only with it. Errors are values: the message, the names or
//! paths at fault and the errno. This file prints them as kmod's
//! log_printf() does: `APPLET: LEVEL: text`.

use crate::sys::out::Out;
use rustix::io::Errno;

/// A message's level: kmod's priority word after the applet's name, or
/// getopt's form without one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// LOG_CRIT, printed `FATAL`.
    Fatal,
    Error,
    Warning,
    Info,
    /// kmod modprobe's LOG(): the level the run chose (FATAL, or WARNING
    /// with -a), resolved by the applet before printing.
    Log,
    /// `applet: text`, as getopt and the kernel's records are printed.
    Plain,
    /// `text` alone (lsmod's only error has no applet name).
    Bare,
}

impl Level {
    /// The syslog priority -q/-v compare with (`Log` counts as critical).
    pub fn priority(self) -> u8 {
        match self {
            Level::Fatal | Level::Log => 2,
            Level::Error => 3,
            Level::Warning => 4,
            Level::Plain | Level::Bare => 5,
            Level::Info => 6,
        }
    }
}

/// A message template: `%s` stands for the next argument, `%m` for the
/// errno's text (glibc's printf conversions, which kmod's sources use).
/// Messages are constants of type `&Msg`, so that an error names its
/// message with one pointer.
pub struct Msg {
    pub level: Level,
    pub text: &'static str,
}

impl Msg {
    pub const fn fatal(text: &'static str) -> Msg {
        Msg { level: Level::Fatal, text }
    }
    pub const fn error(text: &'static str) -> Msg {
        Msg { level: Level::Error, text }
    }
    pub const fn warning(text: &'static str) -> Msg {
        Msg { level: Level::Warning, text }
    }
    pub const fn info(text: &'static str) -> Msg {
        Msg { level: Level::Info, text }
    }
    pub const fn log(text: &'static str) -> Msg {
        Msg { level: Level::Log, text }
    }
    pub const fn plain(text: &'static str) -> Msg {
        Msg { level: Level::Plain, text }
    }
    pub const fn bare(text: &'static str) -> Msg {
        Msg { level: Level::Bare, text }
    }

    /// Prints the message at once, with `args` and `errno` in its places.
    pub fn print(&'static self, out: &mut Out, applet: &str, args: &[&[u8]], errno: Option<Errno>) {
        Error { errno, ..Error::new(self, args) }.report(applet, out);
    }
}

/// An error as a value: which message, the names or paths at fault, and
/// the errno when a system call said no.
pub struct Error {
    pub msg: &'static Msg,
    /// The arguments in one buffer, each after its length (a native u32):
    /// one allocation, and any byte, NUL included, kept as given.
    args: Vec<u8>,
    pub errno: Option<Errno>,
}

impl Error {
    pub fn new(msg: &'static Msg, args: &[&[u8]]) -> Error {
        let mut packed = Vec::new();
        for a in args {
            packed.extend_from_slice(&(a.len() as u32).to_ne_bytes());
            packed.extend_from_slice(a);
        }
        Error { msg, args: packed, errno: None }
    }

    /// An error of a failed system call, whose text `%m` prints.
    pub fn errno(msg: &'static Msg, args: &[&[u8]], errno: Errno) -> Error {
        Error { errno: Some(errno), ..Error::new(msg, args) }
    }

    /// The same error told with another message (modinfo words a file it
    /// cannot read as "could not load", where insmod says more).
    pub fn reworded(self, msg: &'static Msg) -> Error {
        Error { msg, ..self }
    }

    /// Whether this is the message `msg`.
    pub fn is(&self, msg: &'static Msg) -> bool {
        self.msg.text == msg.text
    }

    pub fn report(&self, applet: &str, out: &mut Out) {
        self.report_as(self.msg.level, applet, out);
    }

    /// Prints the message at `level` instead of its own (modprobe resolves
    /// `Level::Log`).
    pub fn report_as(&self, level: Level, applet: &str, out: &mut Out) {
        if level != Level::Bare {
            out.str(applet).str(": ");
        }
        let word = match level {
            Level::Fatal | Level::Log => "FATAL: ",
            Level::Error => "ERROR: ",
            Level::Warning => "WARNING: ",
            Level::Info => "INFO: ",
            Level::Plain | Level::Bare => "",
        };
        out.str(word);
        let mut args = &self.args[..];
        let mut text = self.msg.text.as_bytes();
        while let Some(at) = text.iter().position(|&c| c == b'%') {
            out.bytes(&text[..at]);
            match text.get(at + 1) {
                Some(b'm') => out.errno(self.errno.unwrap_or(Errno::INVAL)),
                _ => out.bytes(next_arg(&mut args)),
            };
            text = text.get(at + 2..).unwrap_or_default();
        }
        out.bytes(text).byte(b'\n');
    }
}

/// Takes the next argument off a packed list (empty when there is none).
fn next_arg<'a>(args: &mut &'a [u8]) -> &'a [u8] {
    let Some((len, rest)) = args.split_first_chunk::<4>() else { return &[] };
    let (arg, rest) = rest.split_at(rest.len().min(u32::from_ne_bytes(*len) as usize));
    *args = rest;
    arg
}

impl From<lexopt::Error> for Error {
    /// What lexopt itself refuses: a value given to a flag (`--flag=x`), a
    /// value missing.
    fn from(e: lexopt::Error) -> Error {
        use crate::cli::args::{BAD_ARGS, NEEDS_VALUE_LONG, NEEDS_VALUE_SHORT, NO_VALUE_ALLOWED};
        let (msg, option) = match &e {
            lexopt::Error::UnexpectedValue { option, .. } => (NO_VALUE_ALLOWED, option.as_bytes()),
            lexopt::Error::MissingValue { option: Some(o) } if o.starts_with("--") => (NEEDS_VALUE_LONG, o.as_bytes()),
            // `-x`: getopt names the letter alone.
            lexopt::Error::MissingValue { option: Some(o) } => {
                (NEEDS_VALUE_SHORT, o.as_bytes().get(1..).unwrap_or_default())
            }
            _ => (BAD_ARGS, &b""[..]),
        };
        Error::new(msg, &[option])
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

fn strerror(errno: Errno) -> Option<&'static [u8]> {
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
    /// `%m`: strerror(errno), glibc's words, `Unknown error N` for others.
    pub fn errno(&mut self, errno: Errno) -> &mut Out {
        match strerror(errno) {
            Some(s) => self.bytes(s),
            None => self.str("Unknown error ").num(errno.raw_os_error() as i64),
        }
    }
}

/// A number as message argument.
pub fn num_text(n: i64) -> Vec<u8> {
    let mut o = Out::new(crate::sys::out::Sink::Buffer);
    o.num(n);
    o.buf
}

/// strerror()'s text as bytes, for a message argument that is chosen from
/// an errno rather than being one.
pub fn errno_text(errno: Errno) -> Vec<u8> {
    let mut o = Out::new(crate::sys::out::Sink::Buffer);
    o.errno(errno);
    o.buf
}
