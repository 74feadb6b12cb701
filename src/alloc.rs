//! A global allocator for a short-lived tool: small blocks come from a bump
//! arena and are never freed (the process exits first); blocks of 4 KiB and
//! more are rounded up to a power of two and kept on a free list per size
//! when freed; from 64 KiB on (a module image, a decompression buffer) they
//! are mappings of their own that go back to the kernel. So modinfo or
//! insmod over thousands of modules in one process does not pile up memory,
//! and musl's malloc, several KiB of code, stays out of the binary.
//! depmod reads modules on several threads: a spin lock guards the arena
//! and the free lists (held for a few instructions; own mappings need none).

use rustix::mm::{mmap_anonymous, mremap, munmap, MapFlags, MremapFlags, ProtFlags};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};

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
    lock: AtomicBool,
    next: UnsafeCell<usize>,
    end: UnsafeCell<usize>,
    /// Free blocks of each medium class, linked through their first word.
    free: UnsafeCell<[usize; CLASSES]>,
}

// SAFETY: the cells are only touched with `lock` held (see `locked`).
unsafe impl Sync for Bump {}

#[global_allocator]
static ALLOC: Bump = Bump {
    lock: AtomicBool::new(false),
    next: UnsafeCell::new(0),
    end: UnsafeCell::new(0),
    free: UnsafeCell::new([0; CLASSES]),
};

fn map(len: usize) -> *mut u8 {
    // SAFETY: a fresh anonymous mapping aliases nothing.
    unsafe { mmap_anonymous(null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE) }
        .map_or(null_mut(), |p| p.cast())
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
    /// Runs `f` with the arena and free lists to itself.
    fn locked<T>(&self, f: impl FnOnce() -> T) -> T {
        while self.lock.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            std::hint::spin_loop();
        }
        let r = f();
        self.lock.store(false, Ordering::Release);
        r
    }

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
            _ => self.locked(|| self.alloc_unlocked(layout)),
        }
    }

    /// A fresh mapping is zero already: writing zeros over it (the default)
    /// would touch every page of a decompression buffer before the decoder
    /// does.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match kind(&layout) {
            Kind::Mapped(len) => map(len),
            _ => {
                let p = self.alloc(layout);
                if !p.is_null() {
                    std::ptr::write_bytes(p, 0, layout.size());
                }
                p
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match kind(&layout) {
            Kind::Mapped(len) => drop(munmap(ptr.cast(), len)),
            _ => self.locked(|| self.dealloc_unlocked(ptr, layout)),
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
                let grown = self.locked(|| {
                    let next = &mut *self.next.get();
                    if ptr as usize + layout.size() == *next && ptr as usize + new_size <= *self.end.get() {
                        *next = ptr as usize + new_size;
                        return true;
                    }
                    false
                });
                if grown {
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

impl Bump {
    unsafe fn alloc_unlocked(&self, layout: Layout) -> *mut u8 {
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

    unsafe fn dealloc_unlocked(&self, ptr: *mut u8, layout: Layout) {
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
}
