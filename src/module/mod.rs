//! Module files: names, the ELF reader, `.modinfo`, the appended signature
//! and the decoders of compressed modules.

pub mod decompress;
pub mod elf;
pub mod modfile;
pub mod name;
pub mod signature;
