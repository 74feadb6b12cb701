//! System helpers that know nothing of modules: files by byte path, the
//! output writer and the syslog client.

pub mod atomic_write;
pub mod file;
pub mod number;
pub mod out;
pub mod parallel;
pub mod spawn;
pub mod syslog;
