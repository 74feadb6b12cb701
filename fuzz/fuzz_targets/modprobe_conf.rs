//! Modprobe.d parsing.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::modprobe_conf(data));
