//! The index writer read back by the reader.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::index_roundtrip(data));
