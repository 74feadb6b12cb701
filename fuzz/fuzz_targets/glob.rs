//! Alias glob matching against fnmatch(), time-bounded.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::glob(data));
