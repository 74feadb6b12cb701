//! What an applet runs with: the kernel interface, its two output streams
//! and its own name for messages.

use crate::cli::message::Error;
use crate::kernel::Kernel;
use crate::sys::out::{Out, Sink};

pub struct Ctx<K: Kernel> {
    pub k: K,
    pub out: Out,
    pub err: Out,
    /// The name messages start with (`insmod: ERROR: ...`).
    pub applet: &'static str,
}

impl<K: Kernel> Ctx<K> {
    /// A context writing to the process's stdout and stderr.
    pub fn new(k: K, applet: &'static str) -> Ctx<K> {
        Ctx { k, out: Out::new(Sink::Fd(1)), err: Out::new(Sink::Fd(2)), applet }
    }

    /// A context whose output stays in memory, for tests.
    pub fn buffered(k: K, applet: &'static str) -> Ctx<K> {
        Ctx { k, out: Out::new(Sink::Buffer), err: Out::new(Sink::Buffer), applet }
    }

    /// Reports `e` and gives the exit code for a failure.
    pub fn fail(&mut self, e: Error) -> i32 {
        self.report(e);
        1
    }

    pub fn report(&mut self, e: Error) {
        e.report(self.applet, &mut self.err);
        // Errors show up at once, even when a later step waits (rmmod -w).
        self.err.flush();
    }

    pub fn flush(&mut self) {
        self.out.flush();
        self.err.flush();
    }
}
