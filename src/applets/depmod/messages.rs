//! depmod's messages, in kmod 30's tools/depmod.c wording (modbox's own
//! where kmod has none), and the two ways they are printed.

use crate::cli::message::Msg;
use crate::sys::out::Out;
use rustix::io::Errno;

pub const DEPRECATED: &Msg = &Msg::warning("Ignored deprecated option -%s");
pub const PREFIX_CHAR: &Msg = &Msg::fatal("-P only takes a single char");
pub const BAD_VERSION: &Msg = &Msg::error("Bad version passed %s");
pub const LOAD_KERNEL_SYMS: &Msg = &Msg::fatal("could not load %s: %m");
pub const ERRSYMS_ALONE: &Msg = &Msg::warning("-e needs -E or -F");
pub const OPEN_DIR: &Msg = &Msg::error("could not open directory %s: %m");
pub const SEARCH: &Msg = &Msg::fatal("could not search modules: %m");
pub const NOT_ABSOLUTE: &Msg = &Msg::fatal("%s: not absolute path.");
pub const CREATE_MODULE: &Msg = &Msg::fatal("could not create module %s: %m");
pub const ADD_MODULE: &Msg = &Msg::fatal("could not add module %s: %m");
pub const LOAD_SYMBOLS: &Msg = &Msg::error("failed to load symbols from %s: %m");
// modbox's own: what a failed write leaves behind.
pub const WRITE: &Msg = &Msg::error("could not write %s: %m; the old index files are left as they were");
pub const WRITE_PART: &Msg = &Msg::error("could not write %s: %m; the files before it were replaced: run depmod again");
pub const FILE_TYPE: &Msg = &Msg::error("unsupported file type %s: %s");
pub const STAT: &Msg = &Msg::error("could not stat %s: %m");
pub const LOOP: &Msg = &Msg::error("%s: a symbolic link loop, skipped");
pub const ORDER_LINE: &Msg = &Msg::error("%s/modules.order:%s corrupted line misses '\\n'");
pub const SYMVERS_LINE: &Msg = &Msg::error("%s:%s Invalid symbol version %s: Invalid argument");
pub const SYSTEM_MAP_LINE: &Msg = &Msg::error("%s:%s: invalid line: %s");
pub const UNKNOWN_SYMBOL: &Msg = &Msg::warning("%s needs unknown symbol %s");
pub const SYMBOL_VERSION: &Msg = &Msg::warning("%s disagrees about version of symbol %s");
pub const CYCLE: &Msg = &Msg::error("Cycle detected: %s");
pub const CYCLES: &Msg = &Msg::error("Found %s modules in dependency cycles!");
pub const DUP_DEPS: &Msg = &Msg::warning("duplicate module deps:\n%s");
pub const DUP_ALIAS: &Msg = &Msg::warning("duplicate module alias:\n%s %s");
pub const DUP_SYMS: &Msg = &Msg::warning("duplicate module syms:\n%s %s");
pub const BRACKET: &Msg = &Msg::warning("Unmatched bracket in %s");
pub const BUILTIN_LINE: &Msg = &Msg::error("Invalid modules.builtin line: %s");
pub const DEVNAME: &Msg = &Msg::error("Module '%s' has devname (%s) but lacks major and minor information. Ignoring.");
pub const OPEN_TREE_FILE: &Msg = &Msg::warning("could not open %s at %s: %m");
pub const READ_TREE_FILE: &Msg =
    &Msg::error("could not read %s/modules.builtin.modinfo: %m; the old index files are left as they were");
/// What kmod prints when the disk fills while it writes to stdout (-n).
pub const FLUSH: &Msg = &Msg::warning("Could not flush stream: 28. Partial content: %s");
pub const UP_TO_DATE: &Msg = &Msg::error("could not fstatat(%s, modules.dep): %m");

/// Prints `msg` at once.
pub fn say(err: &mut Out, msg: &'static Msg, args: &[&[u8]]) {
    msg.print(err, "depmod", args, None);
}

/// Prints `msg` at once, `%m` being `errno`'s text.
pub fn say_errno(err: &mut Out, msg: &'static Msg, args: &[&[u8]], errno: Errno) {
    msg.print(err, "depmod", args, Some(errno));
}
