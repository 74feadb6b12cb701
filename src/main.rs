//! The modbox binary: the multicall front and, for short-lived tools, an
//! allocator that never gives small blocks back.
//!
//! `no_main`: C's main() is the entry point, which skips std's runtime set-up
//! (argument capture, SIGPIPE, stack guard, stdout flushing at exit) that
//! modbox does not use; the arguments come straight from argv.
#![cfg_attr(not(test), no_main)]

mod alloc;

#[cfg(not(test))]
use std::ffi::{c_char, c_int, CStr, OsString};
#[cfg(not(test))]
use std::os::unix::ffi::OsStringExt;

#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let args = (0..argc.max(0) as usize)
        // SAFETY: the C runtime passes argc valid NUL-terminated strings.
        .map(|i| OsString::from_vec(unsafe { CStr::from_ptr(*argv.add(i)) }.to_bytes().to_vec()))
        .collect();
    modbox::cli::multicall::main(args)
}
