//! modprobe's own messages, in kmod 30's words (tools/modprobe.c and the
//! libkmod functions it calls). `Msg::log` ones print at the run's level,
//! as kmod's LOG(): FATAL, which ends the run, or WARNING with -a.

use crate::cli::message::Msg;

pub const MISSING_PARAMS: &Msg = &Msg::error("missing parameters. See -h.");
pub const BAD_WAIT: &Msg = &Msg::error("unexpected wait value '%s'.");
pub const NOT_FOUND_IN: &Msg = &Msg::log("Module %s not found in directory %s");
pub const NOT_FOUND: &Msg = &Msg::log("Module %s not found.");
/// An insert that failed, with kmod's words for EEXIST and ENOENT (`%s`).
pub const INSERT: &Msg = &Msg::error("could not insert '%s': %s");
/// A module that modules.dep has no file for.
pub const NO_FILE: &Msg = &Msg::error("could not find module by name='%s'");
/// modbox's own: modules.dep has a module depend on itself through others.
pub const DEP_CYCLE: &Msg = &Msg::error("modules.dep has a dependency cycle: %s");
pub const INSTALL_FAILED: &Msg = &Msg::error("Error running install command '%s' for module %s: retcode %s");
pub const SOFTDEP: &Msg = &Msg::error("failed to lookup soft dependency '%s', continuing anyway.");
/// --show-exports / --dump-modversions of a file without them.
pub const NO_EXPORTS: &Msg = &Msg::log("could not get symbols of %s: %m");
pub const NO_MODVERSIONS: &Msg = &Msg::log("could not get modversions of %s: %m");
pub const NOT_IN_KERNEL: &Msg = &Msg::log("Module %s is not in kernel.");
pub const BUILTIN: &Msg = &Msg::log("Module %s is builtin.");
pub const IN_USE: &Msg = &Msg::log("Module %s is in use.");
/// kmod's modprobe words a failed remove command without the command.
pub const REMOVE_CMD_FAILED: &Msg = &Msg::log("Error running remove command for %s");
pub const COULD_NOT_REMOVE: &Msg = &Msg::error("could not remove '%s': %m");
