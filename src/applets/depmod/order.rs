//! kmod's module order: its hash order, then modules.order's for the
//! modules that file lists. modules.dep and every index follow it.

use super::messages::{self as M, say};
use super::text::{fgets_lines, read_tree_file};
use super::{Depmod, Module};
use crate::cli::message::num_text;
use crate::moddir::khash::KHash;
use crate::sys::out::Out;

impl Depmod {
    /// The module array: kmod's hash order, then modules.order's order for
    /// the modules it lists (depmod_modules_sort()).
    #[inline(never)]
    pub(super) fn sort_modules(&mut self, err: &mut Out) {
        let order: Vec<usize> = self.by_name.iter().map(|(_, &i)| i).collect();
        let mut modules: Vec<Module> = Vec::with_capacity(order.len());
        let mut slots: Vec<Option<Module>> = std::mem::take(&mut self.modules).into_iter().map(Some).collect();
        for i in order {
            if let Some(m) = slots[i].take() {
                modules.push(m);
            }
        }
        if let Ok(Some(text)) = read_tree_file(&self.dir, b"modules.order", false, err) {
            // As fgets() and strlen() see them: a line ends at a NUL.
            let lines: Vec<&[u8]> = fgets_lines(&text)
                .into_iter()
                .map(|l| &l[..l.iter().position(|&c| c == 0).unwrap_or(l.len())])
                .collect();
            if let Some(n) = lines.iter().position(|l| !l.is_empty() && !l.ends_with(b"\n")) {
                say(err, M::ORDER_LINE, &[&self.dir, &num_text(n as i64 + 1)]);
            } else {
                // The key kmod looks modules up by: the path in the tree
                // with the name's extension cut to ".ko".
                let mut keyed: KHash<usize> = KHash::new(512);
                for (i, m) in modules.iter().enumerate() {
                    if let Some(r) = m.rel {
                        let end = m.base + m.name.len() + 3;
                        keyed.add(&m.path[r..end.min(m.path.len())], i, true);
                    }
                }
                for (n, l) in lines.iter().enumerate() {
                    if let Some(l) = l.strip_suffix(b"\n") {
                        if let Some(&i) = keyed.find(l) {
                            modules[i].order = n;
                        }
                    }
                }
                // A stable sort, as glibc's qsort (a merge sort) is in
                // practice: the key is (line, place in hash order).
                let mut keys: Vec<u64> = modules
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (m.order.min(u32::MAX as usize) as u64) << 32 | i as u64)
                    .collect();
                keys.sort_unstable();
                let mut slots: Vec<Option<Module>> = modules.into_iter().map(Some).collect();
                modules = keys.iter().filter_map(|k| slots[(k & 0xffff_ffff) as usize].take()).collect();
            }
        }
        for m in &mut modules {
            m.order = 0;
        }
        self.modules = modules;
    }
}
