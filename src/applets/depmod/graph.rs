//! The dependency graph: each needed symbol's owner becomes a dependency;
//! then kmod's topological order, and its report when there are cycles.

use super::messages::{self as M, say};
use super::symbols::{Needed, Needs};
use super::{Depmod, Sym};
use crate::cli::ctx::Ctx;
use crate::cli::message::num_text;
use crate::kernel::Kernel;
use crate::sys::out::Out;

/// What resolve() reports.
pub struct Report {
    /// -e: symbols that no module and not the kernel provides.
    pub unknown_symbols: bool,
    /// -e with -E: symbols whose CRC differs from the kernel's.
    pub crcs: bool,
    /// -v: each dependency found, on standard output.
    pub dependencies: bool,
}

impl Depmod {
    /// depmod_load_dependencies(): each needed symbol's owner becomes a
    /// dependency; -e reports the symbols nobody has and, with -E, the
    /// CRCs that differ.
    #[inline(never)]
    pub(super) fn resolve<K: Kernel>(&mut self, report: &Report, ctx: &mut Ctx<K>) {
        let (print_unknown, check_crcs) = (report.unknown_symbols, report.crcs);
        let (out, err) = (&mut ctx.out, &mut ctx.err);
        let needs = std::mem::take(&mut self.needs);
        for (i, Needs { names, needed }) in needs.iter().enumerate() {
            for &Needed { start, end, crc, weak } in needed {
                let name = &names[start as usize..end as usize];
                let Some(&Sym { owner, crc: sym_crc }) = self.find_symbol(name) else {
                    if print_unknown && !weak {
                        say(err, M::UNKNOWN_SYMBOL, &[&self.modules[i].path, name]);
                    }
                    continue;
                };
                if check_crcs && sym_crc != crc && !weak && print_unknown {
                    say(err, M::SYMBOL_VERSION, &[&self.modules[i].path, name]);
                }
                let Some(o) = owner else { continue };
                if self.modules[i].deps.contains(&o) {
                    continue;
                }
                self.modules[i].deps.push(o);
                self.modules[o].users += 1;
                if report.dependencies {
                    out.bytes(&self.modules[i].path)
                        .str(" needs \"")
                        .bytes(name)
                        .str("\": ")
                        .bytes(&self.modules[o].path)
                        .byte(b'\n');
                }
            }
        }
        err.flush();
    }

    /// depmod_calculate_dependencies(): a topological order (modules nobody
    /// needs first), each module's `order` its place in it. None after
    /// reporting the cycles, when there are any (false).
    #[inline(never)]
    pub(super) fn sort_dependencies(&mut self, err: &mut Out) -> bool {
        let n = self.modules.len();
        let mut users: Vec<u32> = self.modules.iter().map(|m| m.users).collect();
        let mut roots: Vec<usize> = (0..n).filter(|&i| users[i] == 0).collect();
        let mut sorted = 0;
        while let Some(src) = roots.pop() {
            self.modules[src].order = sorted;
            sorted += 1;
            for &dst in &self.modules[src].deps {
                users[dst] -= 1;
                if users[dst] == 0 {
                    roots.push(dst);
                }
            }
        }
        if sorted < n {
            self.report_cycles(&users, err);
        }
        sorted == n
    }

    /// depmod_report_cycles(): from each module left over, a depth-first
    /// walk that reports the paths leading back to it, as kmod does.
    #[inline(never)]
    fn report_cycles(&self, users: &[u32], err: &mut Out) {
        let mut roots: Vec<usize> = (0..self.modules.len()).filter(|&i| users[i] > 0).collect();
        let cap = roots.len();
        let mut visited = vec![false; self.modules.len()];
        let mut in_loops: Vec<&[u8]> = Vec::new();
        while !roots.is_empty() {
            let root = roots.remove(0);
            // Vertices: (module, parent vertex).
            let mut vertices: Vec<(usize, usize)> = vec![(root, usize::MAX)];
            let mut stack = vec![0usize];
            while let Some(v) = stack.pop() {
                // kmod's walk never ends when it meets a cycle other than
                // its root's; a bound keeps this one finite.
                if vertices.len() > 1 << 20 {
                    break;
                }
                let m = vertices[v].0;
                if visited[m] && m == root {
                    let mut chain = Vec::new();
                    let mut p = vertices[v].1;
                    while p != usize::MAX {
                        chain.push(vertices[p].0);
                        p = vertices[p].1;
                    }
                    let mut text = Vec::new();
                    for &c in chain.iter().rev() {
                        let name = &self.modules[c].name[..];
                        if !in_loops.contains(&name) {
                            in_loops.push(name);
                        }
                        roots.retain(|&r| r != c);
                        text.extend_from_slice(name);
                        text.extend_from_slice(b" -> ");
                    }
                    text.extend_from_slice(&self.modules[root].name);
                    say(err, M::CYCLE, &[&text]);
                    continue;
                }
                visited[m] = true;
                if self.modules[m].deps.is_empty() {
                    roots.retain(|&r| r != m);
                    continue;
                }
                for &dep in &self.modules[m].deps {
                    // kmod's stack holds as many entries as there are
                    // modules left; it stops (asserts) beyond that.
                    if stack.len() >= cap {
                        break;
                    }
                    vertices.push((dep, v));
                    stack.push(vertices.len() - 1);
                }
            }
        }
        say(err, M::CYCLES, &[&num_text(in_loops.len() as i64)]);
    }

    /// The transitive dependencies of module `i`, in load order (the
    /// topological order), as modules.dep lists them.
    #[inline(never)]
    pub(super) fn all_deps(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![i];
        let mut todo = vec![i];
        let mut out = Vec::new();
        while let Some(m) = todo.pop() {
            for &d in &self.modules[m].deps {
                if !seen.contains(&d) {
                    seen.push(d);
                    out.push(d);
                    todo.push(d);
                }
            }
        }
        let mut keys: Vec<u64> = out.iter().map(|&d| (self.modules[d].order as u64) << 32 | d as u64).collect();
        keys.sort_unstable();
        keys.iter().map(|k| (k & 0xffff_ffff) as usize).collect()
    }
}
