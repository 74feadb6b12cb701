//! The applets, one file each, each starting with its usage text.

use crate::cli::ctx::Ctx;
use crate::kernel::Linux;
use std::ffi::OsString;

#[cfg(feature = "applet-depmod")]
pub mod depmod;
#[cfg(feature = "applet-insmod")]
pub mod insmod;
#[cfg(feature = "applet-lsmod")]
pub mod lsmod;
#[cfg(feature = "applet-modinfo")]
pub mod modinfo;
#[cfg(feature = "applet-modprobe")]
pub mod modprobe;
#[cfg(feature = "applet-rmmod")]
pub mod rmmod;

/// An applet: arguments (without the applet's own name) to exit code.
pub type Applet = fn(&mut Ctx<Linux>, Vec<OsString>) -> i32;

include!(concat!(env!("OUT_DIR"), "/applets.rs"));

/// What `--version` prints for every applet.
pub const VERSION: &str = concat!("modbox version ", env!("CARGO_PKG_VERSION"), " (kmod 30 compatible)\n");
