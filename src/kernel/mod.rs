//! The kernel interface: the three module syscalls and the kernel release,
//! behind a trait so that tests can record calls instead of making them.
//! Everything else modbox learns about loaded modules it reads from /proc
//! and /sys (see `sysfs`); the kernel links and relocates, userspace only
//! hands it files.

pub mod insert;
pub mod kmsg;
pub mod params;
pub mod sysfs;

use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use std::ffi::CStr;

/// finit_module(2) flags, from include/uapi/linux/module.h. Both IGNORE
/// flags need CONFIG_MODULE_FORCE_LOAD, else the kernel answers ENOEXEC.
pub const MODULE_INIT_IGNORE_MODVERSIONS: u32 = 1;
pub const MODULE_INIT_IGNORE_VERMAGIC: u32 = 2;
/// The file is compressed and the kernel decompresses it (Linux >= 5.17,
/// CONFIG_MODULE_DECOMPRESS, only the format /sys/module/compression names).
pub const MODULE_INIT_COMPRESSED_FILE: u32 = 4;

/// delete_module(2) flags are open(2)'s: O_NONBLOCK asks not to wait for
/// users (kernels since 3.13 never wait anyway), O_TRUNC forces the unload
/// (CONFIG_MODULE_FORCE_UNLOAD).
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_TRUNC: u32 = 0o1000;

pub trait Kernel {
    /// finit_module(2): load the module in the file `fd`.
    fn finit_module(&mut self, fd: BorrowedFd<'_>, params: &CStr, flags: u32) -> Result<(), Errno>;
    /// init_module(2): load the module image in memory, for kernels before
    /// 3.8 and sandboxes that filter finit_module.
    fn init_module(&mut self, image: &[u8], params: &CStr) -> Result<(), Errno>;
    /// delete_module(2).
    fn delete_module(&mut self, name: &CStr, flags: u32) -> Result<(), Errno>;
    /// uname(2)'s release, the directory name under /lib/modules.
    fn release(&self) -> Vec<u8>;
    /// Where /proc, /sys, /dev and /lib/modules are: "" on a real system, a
    /// fake tree in tests.
    fn root(&self) -> &[u8];
    /// Pauses between retries (rmmod -w); a fake kernel may change its
    /// state here instead of sleeping.
    fn sleep_ms(&mut self, ms: u64);
}

/// The running Linux kernel.
pub struct Linux;

impl Kernel for Linux {
    fn finit_module(&mut self, fd: BorrowedFd<'_>, params: &CStr, flags: u32) -> Result<(), Errno> {
        rustix::system::finit_module(fd, params, flags as i32)
    }

    fn init_module(&mut self, image: &[u8], params: &CStr) -> Result<(), Errno> {
        rustix::system::init_module(image, params)
    }

    fn delete_module(&mut self, name: &CStr, flags: u32) -> Result<(), Errno> {
        rustix::system::delete_module(name, flags as i32)
    }

    fn release(&self) -> Vec<u8> {
        rustix::system::uname().release().to_bytes().to_vec()
    }

    fn root(&self) -> &[u8] {
        b""
    }

    fn sleep_ms(&mut self, ms: u64) {
        let t = rustix::thread::Timespec { tv_sec: (ms / 1000) as i64, tv_nsec: ((ms % 1000) * 1_000_000) as i64 };
        let _ = rustix::thread::nanosleep(&t);
    }
}
