//! A global allocator for a short-lived tool: small blocks come from a bump
//! arena and are never freed (the process exits first); large blocks (a
//! module image, a decompression buffer) are their own mmap and go back to
//! the kernel when freed, so loading many big modules does not pile up.
//! musl's malloc would cost several KiB of code for nothing we use.

use rustix::mm::{mmap_anonymous, mremap, munmap, MapFlags, MremapFlags, ProtFlags};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr::null_mut;

/// Blocks from this size on get a mapping of their own.
const LARGE: usize = 64 << 10;
/// Arena chunk size.
const CHUNK: usize = 256 << 10;
const PAGE: usize = 4096;

struct Bump {
    next: UnsafeCell<usize>,
    end: UnsafeCell<usize>,
}

// SAFETY: modbox is single-threaded; nothing allocates from two threads.
unsafe impl Sync for Bump {}

#[global_allocator]
static ALLOC: Bump = Bump { next: UnsafeCell::new(0), end: UnsafeCell::new(0) };

fn map(len: usize) -> *mut u8 {
    // SAFETY: a fresh anonymous mapping aliases nothing.
    unsafe { mmap_anonymous(null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE) }
        .map_or(null_mut(), |p| p.cast())
}

fn pages(size: usize) -> usize {
    (size + PAGE - 1) & !(PAGE - 1)
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let size = layout.size();
        if size >= LARGE || layout.align() > PAGE {
            return map(pages(size.max(layout.align())));
        }
        let (next, end) = (&mut *self.next.get(), &mut *self.end.get());
        let mut start = (*next + layout.align() - 1) & !(layout.align() - 1);
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

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let size = layout.size();
        if size >= LARGE || layout.align() > PAGE {
            let _ = munmap(ptr.cast(), pages(size.max(layout.align())));
        } else if ptr as usize + size == *self.next.get() {
            // The last block can be handed back to the arena.
            *self.next.get() = ptr as usize;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if old >= LARGE && new_size >= LARGE && layout.align() <= PAGE {
            return mremap(ptr.cast(), pages(old), pages(new_size), MremapFlags::MAYMOVE).map_or(null_mut(), |p| p.cast());
        }
        let next = &mut *self.next.get();
        if old < LARGE && new_size < LARGE && ptr as usize + old == *next && ptr as usize + new_size <= *self.end.get() {
            // The last block grows or shrinks in place.
            *next = ptr as usize + new_size;
            return ptr;
        }
        let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, old.min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}
