//! The global allocator of the xtask binary: the system allocator, plus a switchable count of the bytes held,
//! so `cargo xtask bench` can measure the peak memory a piece of code allocates beyond what was already held.
//!
//! Counting is off unless a [`Window`] is open, so timed runs pay one relaxed atomic load per allocation and
//! nothing more. This is the only module of the workspace allowed `unsafe` (xtask/Cargo.toml says why).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

/// The system allocator with a byte counter that a [`Window`] switches on.
#[derive(Debug)]
pub(crate) struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since the window opened (negative when older memory is freed).
static NET: AtomicI64 = AtomicI64::new(0);
/// The highest `NET` seen since the window opened.
static PEAK: AtomicI64 = AtomicI64::new(0);
/// Allocation calls (including reallocations) since the window opened.
static CALLS: AtomicU64 = AtomicU64::new(0);

fn record(delta: i64) {
    if COUNTING.load(Relaxed) {
        let now = NET.fetch_add(delta, Relaxed) + delta;
        PEAK.fetch_max(now, Relaxed);
        if delta > 0 {
            CALLS.fetch_add(1, Relaxed);
        }
    }
}

fn size(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the `GlobalAlloc` contract;
// the only addition is arithmetic on atomics, which neither allocates nor touches the memory handed out.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours; the caller guarantees a non-zero-sized layout.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record(size(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(size(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` was allocated by this allocator (hence by `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        record(-size(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr`/`layout` came from this allocator and `new_size` is valid.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            record(size(new_size) - size(layout.size()));
        }
        new
    }
}

/// What a [`Window`] saw between opening and closing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    /// Highest bytes held beyond those held when the window opened.
    pub(crate) peak_bytes: i64,
    /// Bytes still held at the close beyond those held at the opening.
    pub(crate) retained_bytes: i64,
    /// Number of allocation calls.
    pub(crate) calls: u64,
}

/// Counts allocations from `open` to `close`. One window at a time; the bench is single-threaded around it.
#[derive(Debug)]
pub(crate) struct Window(());

impl Window {
    /// Starts counting from zero.
    pub(crate) fn open() -> Self {
        NET.store(0, Relaxed);
        PEAK.store(0, Relaxed);
        CALLS.store(0, Relaxed);
        COUNTING.store(true, Relaxed);
        Window(())
    }

    /// Stops counting and returns what was seen.
    pub(crate) fn close(self) -> Usage {
        COUNTING.store(false, Relaxed);
        Usage { peak_bytes: PEAK.load(Relaxed), retained_bytes: NET.load(Relaxed), calls: CALLS.load(Relaxed) }
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        COUNTING.store(false, Relaxed);
    }
}
