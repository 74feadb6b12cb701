//! /proc/modules through lsmod.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::proc_modules(data));
