//! Modules.dep/alias/symbols/builtin/builtin.modinfo text lookups.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::moddir_text(data));
