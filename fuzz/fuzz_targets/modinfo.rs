//! Module files through the modinfo applet: ELF, .modinfo, parameters, signature, compression by magic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::modinfo(data));
