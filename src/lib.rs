//! modbox: the Linux kernel-module tools in one small static binary.
//!
//! Each applet is a function from arguments to an exit code, in `applets/`.
//! The pieces they share are grouped by layer (ARCHITECTURE.md has the map):
//! `cli` what every applet runs on, `kernel` the only place that talks to
//! the kernel, `module` module files, `moddir` the module directory and its
//! indexes, `config` modprobe.d and depmod.d, `sys` system helpers.

pub mod applets;
pub mod cli;
pub mod config;
pub mod kernel;
pub mod moddir;
pub mod module;
pub mod sys;
