//! A global allocator for a short-lived tool: small blocks come from a bump
//! arena and are never freed (the process exits first); blocks of 4 KiB and
//! more are rounded up to a power of two and kept on a free list per size
//! when freed; from 64 KiB on (a module image, a decompression buffer) they
//! are mappings of their own that go back to the kernel. So modinfo or
//! insmod over thousands of modules in one process does not pile up memory,
//! and musl's malloc, several KiB of code, stays out of the binary.

use rustix::mm::{mmap_anonymous, mremap, munmap, MapFlags, MremapFlags, ProtFlags};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr::null_mut;

/// Blocks from this size on get a mapping of their own.
const LARGE: usize = 64 << 10;
/// Blocks from this size up to LARGE are recycled, in classes of 4, 8, 16,
/// 32 and 64 KiB (a 40 KiB block takes a 64 KiB one), aligned to MEDIUM_ALIGN.
const MEDIUM: usize = 4096;
const CLASSES: usize = 5;
const MEDIUM_ALIGN: usize = 64;
/// Arena chunk size.
const CHUNK: usize = 256 << 10;
const PAGE: usize = 4096;

struct Bump {
    next: UnsafeCell<usize>,
    end: UnsafeCell<usize>,
    /// Free blocks of each medium class, linked through their first word.
    free: UnsafeCell<[usize; CLASSES]>,
}

// SAFETY: modbox is single-threaded; nothing allocates from two threads.
unsafe impl Sync for Bump {}

#[global_allocator]
static ALLOC: Bump = Bump { next: UnsafeCell::new(0), end: UnsafeCell::new(0), free: UnsafeCell::new([0; CLASSES]) };

fn map(len: usize) -> *mut u8 {
    // SAFETY: a fresh anonymous mapping aliases nothing.
    unsafe { mmap_anonymous(null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE) }.map_or(null_mut(), |p| p.cast())
}

fn pages(size: usize) -> usize {
    (size + PAGE - 1) & !(PAGE - 1)
}

/// Which way a block of this layout is made: its own mapping, a medium
/// class, or (neither) the bump arena.
enum Kind {
    Mapped(usize),
    Medium(usize),
    Small,
}

fn kind(l: &Layout) -> Kind {
    let (size, align) = (l.size(), l.align());
    if size >= LARGE || align > PAGE || (size >= MEDIUM && align > MEDIUM_ALIGN) {
        Kind::Mapped(pages(size.max(align)))
    } else if size >= MEDIUM {
        Kind::Medium((size.next_power_of_two() / MEDIUM).trailing_zeros() as usize)
    } else {
        Kind::Small
    }
}

impl Bump {
    /// `size` bytes aligned to `align` from the arena.
    unsafe fn bump(&self, size: usize, align: usize) -> *mut u8 {
        let (next, end) = (&mut *self.next.get(), &mut *self.end.get());
        let mut start = (*next + align - 1) & !(align - 1);
        if *next == 0 || start + size > *end {
            let chunk = map(CHUNK);
            if chunk.is_null() {
                return chunk;
            }
            start = chunk as usize;
            *end = start + CHUNK;
        }
        *next = start + size;
        start as *mut u8
    }
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match kind(&layout) {
            Kind::Mapped(len) => map(len),
            Kind::Medium(c) => {
                let head = &mut (*self.free.get())[c];
                if *head != 0 {
                    let block = *head;
                    *head = *(block as *const usize);
                    return block as *mut u8;
                }
                self.bump(MEDIUM << c, MEDIUM_ALIGN)
            }
            Kind::Small => self.bump(layout.size(), layout.align()),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match kind(&layout) {
            Kind::Mapped(len) => drop(munmap(ptr.cast(), len)),
            Kind::Medium(c) => {
                let head = &mut (*self.free.get())[c];
                *(ptr as *mut usize) = *head;
                *head = ptr as usize;
            }
            Kind::Small => {
                // The last block can be handed back to the arena.
                if ptr as usize + layout.size() == *self.next.get() {
                    *self.next.get() = ptr as usize;
                }
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (kind(&layout), kind(&new_layout)) {
            (Kind::Mapped(old), Kind::Mapped(new)) => {
                return mremap(ptr.cast(), old, new, MremapFlags::MAYMOVE).map_or(null_mut(), |p| p.cast());
            }
            (Kind::Medium(a), Kind::Medium(b)) if a == b => return ptr,
            (Kind::Small, Kind::Small) => {
                // The last block grows or shrinks in place.
                let next = &mut *self.next.get();
                if ptr as usize + layout.size() == *next && ptr as usize + new_size <= *self.end.get() {
                    *next = ptr as usize + new_size;
                    return ptr;
                }
            }
            _ => {}
        }
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}
