//! The modbox binary: the multicall front and, for short-lived tools, an
//! allocator that never gives small blocks back.

mod alloc;

fn main() {
    std::process::exit(modbox::multicall::main());
}
