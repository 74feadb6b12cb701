//! System helpers that know nothing of modules: files by byte path, the
//! output writer and the syslog client.

pub mod file;
pub mod out;
pub mod syslog;
