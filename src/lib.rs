//! modbox: the Linux kernel-module tools in one small static binary.
//!
//! Each applet is a function from arguments to an exit code, in
//! `applets/`; the pieces they share each live in a module of their own.

pub mod applets;
pub mod args;
pub mod conffile;
#[cfg(feature = "applet-modprobe")]
pub mod config;
pub mod ctx;
pub mod decompress;
pub mod depmod_conf;
pub mod elf;
pub mod error;
pub mod file;
pub mod glob;
pub mod index;
pub mod insert;
pub mod kernel;
pub mod kmsg;
pub mod moddir;
pub mod modfile;
pub mod multicall;
pub mod name;
pub mod out;
pub mod params;
pub mod signature;
pub mod sysfs;
pub mod syslog;
