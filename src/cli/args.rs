//! Command-line parsing shared by the applets, on lexopt, with getopt_long's
//! behaviour as kmod's tools have it: options may come after operands (GNU
//! permutation), `--` ends the options, `-h`/`--help` and `-V`/`--version`
//! everywhere.

use crate::cli::ctx::Ctx;
use crate::cli::message::{Error, Msg};
use crate::kernel::Kernel;
use lexopt::Arg;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// One option: its short letter ('\u{1}' for none), long name, and whether
/// it takes a value. Row `i` of an applet's table sets bit `1 << i` in
/// `Opts::flags`; declare the table with [`options!`], which names the bits.
pub type Flag = (char, &'static str, bool);

/// Declares an applet's options once, as getopt_long's table is: each row
/// names the option's bit, then gives its short letter ('\u{1}' when it has
/// none), long name and whether it takes a value. The bits follow the rows,
/// so a row can be inserted anywhere without renumbering anything:
///
/// ```ignore
/// options! { FLAGS;
///     FORCE = 'f', "force", false;
///     CONFIG = 'C', "config", true;
/// }
/// ```
#[macro_export]
macro_rules! options {
    ($table:ident; $($bit:ident = $short:literal, $long:literal, $value:literal;)*) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms, dead_code)]
        #[repr(u32)]
        enum Row { $($bit),* }
        $(#[allow(dead_code)] const $bit: u32 = 1 << Row::$bit as u32;)*
        const $table: &[$crate::cli::args::Flag] = &[$(($short, $long, $value)),*];
    };
}

// getopt_long's own messages (glibc's wording), and kmod's for the rest.
pub const BAD_SHORT: &Msg = &Msg::plain("invalid option -- '%s'");
pub const BAD_LONG: &Msg = &Msg::plain("unrecognized option '--%s'");
pub const NO_VALUE_ALLOWED: &Msg = &Msg::plain("option '%s' doesn't allow an argument");
pub const NEEDS_VALUE_SHORT: &Msg = &Msg::plain("option requires an argument -- '%s'");
pub const NEEDS_VALUE_LONG: &Msg = &Msg::plain("option '%s' requires an argument");
pub const BAD_ARGS: &Msg = &Msg::error("invalid arguments, see --help");

pub struct Opts {
    pub flags: u32,
    /// The operands, in order.
    pub words: Vec<Vec<u8>>,
    /// Every option as given, in order (bit, value or empty), for applets
    /// where the last of several options wins (modinfo -F/-a/-d...).
    pub seq: Vec<(u32, Vec<u8>)>,
}

impl Opts {
    pub fn has(&self, bit: u32) -> bool {
        self.flags & bit != 0
    }
}

/// Parses `args` against `flags`. `Err` holds the exit code when there is
/// nothing more to do: help or version printed (0), or a usage error
/// reported (1).
pub fn parse<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>, flags: &[Flag], usage: &str) -> Result<Opts, i32> {
    let mut opts = Opts { flags: 0, words: Vec::new(), seq: Vec::new() };
    let mut p = lexopt::Parser::from_args(args);
    loop {
        let arg = match p.next() {
            Ok(Some(a)) => a,
            Ok(None) => return Ok(opts),
            Err(e) => return Err(ctx.fail(e.into())),
        };
        let found = flags.iter().position(|&(s, l, _)| match arg {
            // `-\x01` is an unknown option, not the long-only one.
            Arg::Short(c) => c == s && c != '\u{1}',
            Arg::Long(o) => o == l,
            Arg::Value(_) => false,
        });
        match (found, arg) {
            (Some(i), _) => {
                let value = if flags[i].2 {
                    match p.value() {
                        Ok(v) => v.into_vec(),
                        Err(e) => return Err(ctx.fail(e.into())),
                    }
                } else {
                    Vec::new()
                };
                opts.flags |= 1 << i;
                opts.seq.push((1 << i, value));
            }
            (None, Arg::Value(v)) => opts.words.push(v.into_vec()),
            (None, Arg::Short('h') | Arg::Long("help")) => return Err(print(ctx, usage)),
            (None, Arg::Short('V') | Arg::Long("version")) => return Err(print(ctx, crate::applets::VERSION)),
            (None, Arg::Short(c)) => {
                return Err(ctx.fail(Error::new(BAD_SHORT, &[c.encode_utf8(&mut [0; 4]).as_bytes()])))
            }
            (None, Arg::Long(l)) => return Err(ctx.fail(Error::new(BAD_LONG, &[l.as_bytes()]))),
        }
    }
}

fn print<K: Kernel>(ctx: &mut Ctx<K>, text: &str) -> i32 {
    ctx.out.str(text);
    0
}
