//! Depmod.d parsing and version patterns against regexec().
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::depmod_conf(data));
