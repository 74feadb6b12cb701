//! /proc/cmdline parsing.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::cmdline(data));
