//! The ELF reader depmod and modprobe use: exports, needs, __versions, layout, --force edits, signature.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| modbox_fuzz::elf(data));
