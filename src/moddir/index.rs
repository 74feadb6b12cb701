//! Reading kmod's binary index files (modules.dep.bin, modules.alias.bin,
//! ...), format from libkmod-index.c: a big-endian header (magic
//! 0xB007F457, version 2.1, root offset) and a compressed trie whose node
//! offsets carry flags in their top bits. Every offset and length is checked
//! against the file, and a traversal is bounded by the file's size, so a
//! corrupt or hostile index gives an error, never a crash or a hang.

use crate::moddir::glob;

const MAGIC: u32 = 0xB007_F457;
const VERSION_MAJOR: u32 = 2;
const PREFIX: u32 = 0x8000_0000;
const VALUES: u32 = 0x4000_0000;
const CHILDS: u32 = 0x2000_0000;
const MASK: u32 = 0x0FFF_FFFF;
/// Longer keys than this are taken for a corrupt index (real ones are
/// module aliases, a few hundred bytes at most); it bounds the recursion.
const MAX_KEY: usize = 4096;

/// The file is not an index of this format, or is corrupt.
#[derive(Debug, PartialEq)]
pub struct Corrupt;

pub struct Index<'a> {
    data: &'a [u8],
    root: u32,
}

struct Node<'a> {
    prefix: &'a [u8],
    first: u8,
    /// Big-endian child offsets for `first..=last`.
    children: &'a [u8],
    value_count: u32,
    values: &'a [u8],
}

/// A value and its priority (for modules.alias, the order depmod found it).
pub type Value<'a> = (u32, &'a [u8]);

fn be32(data: &[u8], at: usize) -> Result<u32, Corrupt> {
    let b = data.get(at..at + 4).ok_or(Corrupt)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// A NUL-terminated string at `at`, and where it ends (past the NUL).
fn cstr(data: &[u8], at: usize) -> Result<(&[u8], usize), Corrupt> {
    let rest = data.get(at..).ok_or(Corrupt)?;
    let len = rest.iter().position(|&c| c == 0).ok_or(Corrupt)?;
    Ok((&rest[..len], at + len + 1))
}

/// A key of the index and its values, as dump() lists them.
pub type Entry<'a> = (Vec<u8>, Vec<Value<'a>>);

impl<'a> Index<'a> {
    pub fn new(data: &'a [u8]) -> Result<Index<'a>, Corrupt> {
        if be32(data, 0)? != MAGIC || be32(data, 4)? >> 16 != VERSION_MAJOR {
            return Err(Corrupt);
        }
        Ok(Index { data, root: be32(data, 8)? })
    }

    fn node(&self, offset: u32) -> Result<Option<Node<'a>>, Corrupt> {
        let mut at = (offset & MASK) as usize;
        if at == 0 {
            return Ok(None);
        }
        let mut prefix: &[u8] = b"";
        if offset & PREFIX != 0 {
            (prefix, at) = cstr(self.data, at)?;
        }
        let (mut first, mut children): (u8, &[u8]) = (0, b"");
        if offset & CHILDS != 0 {
            let (f, l) = (*self.data.get(at).ok_or(Corrupt)?, *self.data.get(at + 1).ok_or(Corrupt)?);
            if l < f {
                return Err(Corrupt);
            }
            let n = (l - f) as usize + 1;
            first = f;
            children = self.data.get(at + 2..at + 2 + 4 * n).ok_or(Corrupt)?;
            at += 2 + 4 * n;
        }
        let mut value_count = 0;
        if offset & VALUES != 0 {
            value_count = be32(self.data, at)?;
            at += 4;
        }
        Ok(Some(Node { prefix, first, children, value_count, values: self.data.get(at..).ok_or(Corrupt)? }))
    }

    fn child(&self, node: &Node<'a>, c: u8) -> Result<Option<Node<'a>>, Corrupt> {
        let i = c.wrapping_sub(node.first) as usize;
        if c < node.first || 4 * i >= node.children.len() {
            return Ok(None);
        }
        self.node(be32(node.children, 4 * i)?)
    }

    /// Appends the node's values to `out`; `sorted` inserts them the way
    /// libkmod's lookups do, else they keep the file's order (its dump).
    fn values(node: &Node<'a>, out: &mut Vec<Value<'a>>, sorted: bool) -> Result<(), Corrupt> {
        let mut at = 0;
        for _ in 0..node.value_count {
            let priority = be32(node.values, at)?;
            let (v, next) = cstr(node.values, at + 4)?;
            at = next;
            // libkmod's add_value(): ordered by priority, a later value
            // before earlier ones of the same priority.
            let pos =
                if sorted { out.iter().position(|&(p, _)| p >= priority).unwrap_or(out.len()) } else { out.len() };
            out.insert(pos, (priority, v));
        }
        Ok(())
    }

    /// The first value of the exact key `key` (index_mm_search()).
    pub fn get(&self, key: &[u8]) -> Result<Option<&'a [u8]>, Corrupt> {
        let mut node = self.node(self.root)?;
        let mut i = 0;
        while let Some(n) = node {
            if !key[i.min(key.len())..].starts_with(n.prefix) {
                return Ok(None);
            }
            i += n.prefix.len();
            if i == key.len() {
                // The first value in the file's order, as kmod takes it.
                let mut v = Vec::new();
                Self::values(&n, &mut v, false)?;
                return Ok(v.first().map(|&(_, v)| v));
            }
            node = self.child(&n, key[i])?;
            i += 1;
        }
        Ok(None)
    }

    /// Every value whose key, taken as an fnmatch pattern, matches `key`
    /// (index_mm_searchwild(), for modules.alias.bin).
    pub fn search_wild(&self, key: &[u8]) -> Result<Vec<Value<'a>>, Corrupt> {
        let mut out = Vec::new();
        let mut budget = self.data.len();
        let mut node = self.node(self.root)?;
        let mut i = 0;
        let mut path = Vec::new();
        while let Some(n) = node {
            for (j, &c) in n.prefix.iter().enumerate() {
                if matches!(c, b'*' | b'?' | b'[') {
                    self.all(&n, j, &mut path, &key[(i + j).min(key.len())..], &mut out, &mut budget)?;
                    return Ok(out);
                }
                if key.get(i + j) != Some(&c) {
                    return Ok(out);
                }
            }
            i += n.prefix.len();
            for wild in [b'*', b'?', b'['] {
                if let Some(child) = self.child(&n, wild)? {
                    path.push(wild);
                    self.all(&child, 0, &mut path, &key[i..], &mut out, &mut budget)?;
                    path.pop();
                }
            }
            if i == key.len() {
                Self::values(&n, &mut out, true)?;
                return Ok(out);
            }
            node = self.child(&n, key[i])?;
            i += 1;
        }
        Ok(out)
    }

    /// Below a wildcard: every key of the subtree is a pattern to try on
    /// `subkey` (index_mm_searchwild_all()).
    fn all(
        &self,
        n: &Node<'a>,
        j: usize,
        path: &mut Vec<u8>,
        subkey: &[u8],
        out: &mut Vec<Value<'a>>,
        budget: &mut usize,
    ) -> Result<(), Corrupt> {
        // Each node of a well-formed index is visited once and takes at
        // least one byte; more visits than bytes means a cycle.
        *budget = budget.checked_sub(1).ok_or(Corrupt)?;
        if path.len() > MAX_KEY {
            return Err(Corrupt);
        }
        let pushed = n.prefix.len() - j;
        path.extend_from_slice(&n.prefix[j..]);
        for k in 0..n.children.len() / 4 {
            if let Some(child) = self.node(be32(n.children, 4 * k)?)? {
                path.push(n.first.wrapping_add(k as u8));
                self.all(&child, 0, path, subkey, out, budget)?;
                path.pop();
            }
        }
        if n.value_count > 0 && glob::matches(path, subkey) {
            Self::values(n, out, true)?;
        }
        path.truncate(path.len() - pushed);
        Ok(())
    }

    /// Every key and its values, in key order (index_dump(), for tests and
    /// for `modprobe -c`-style listings).
    pub fn dump(&self) -> Result<Vec<Entry<'a>>, Corrupt> {
        let mut out = Vec::new();
        let mut budget = self.data.len();
        if let Some(root) = self.node(self.root)? {
            self.dump_node(&root, &mut Vec::new(), &mut out, &mut budget)?;
        }
        Ok(out)
    }

    fn dump_node(
        &self,
        n: &Node<'a>,
        key: &mut Vec<u8>,
        out: &mut Vec<(Vec<u8>, Vec<Value<'a>>)>,
        budget: &mut usize,
    ) -> Result<(), Corrupt> {
        *budget = budget.checked_sub(1).ok_or(Corrupt)?;
        if key.len() > MAX_KEY {
            return Err(Corrupt);
        }
        let len = key.len();
        key.extend_from_slice(n.prefix);
        if n.value_count > 0 {
            let mut v = Vec::new();
            Self::values(n, &mut v, false)?;
            out.push((key.clone(), v));
        }
        for k in 0..n.children.len() / 4 {
            if let Some(child) = self.node(be32(n.children, 4 * k)?)? {
                key.push(n.first.wrapping_add(k as u8));
                self.dump_node(&child, key, out, budget)?;
                key.pop();
            }
        }
        key.truncate(len);
        Ok(())
    }
}

/// An index being built (depmod's side of the format): a prefix trie
/// grown the way kmod's index_insert() grows it, written the way
/// index_write() writes it, so the bytes are kmod's for the same insertions.
pub struct Writer {
    nodes: Vec<WNode>,
}

#[derive(Default)]
struct WNode {
    prefix: Vec<u8>,
    /// (character, node), sorted by character.
    children: Vec<(u8, usize)>,
    /// (priority, value), in the order they are written.
    values: Vec<(u32, Vec<u8>)>,
}

impl Default for Writer {
    fn default() -> Self {
        Writer { nodes: vec![WNode::default()] }
    }
}

impl Writer {
    /// Adds `value` under `key`; true when the key already had that value
    /// (depmod -w warns). kmod means to refuse bytes from 128 on, but its
    /// check (on a signed char) lets them through; here they are ordinary
    /// bytes.
    pub fn insert(&mut self, key: &[u8], value: &[u8], priority: u32) -> bool {
        let (mut node, mut i) = (0, 0);
        loop {
            let n = &mut self.nodes[node];
            let j = n.prefix.iter().zip(&key[i..]).take_while(|(a, b)| a == b).count();
            if j < n.prefix.len() {
                // Split: this node keeps prefix[..j]; the rest moves to a
                // child under the character prefix[j].
                let tail = WNode {
                    prefix: n.prefix[j + 1..].to_vec(),
                    children: std::mem::take(&mut n.children),
                    values: std::mem::take(&mut n.values),
                };
                let c = n.prefix[j];
                n.prefix.truncate(j);
                let at = self.nodes.len();
                self.nodes[node].children = vec![(c, at)];
                self.nodes.push(tail);
            }
            i += j;
            let at = self.nodes.len();
            let n = &mut self.nodes[node];
            let Some(&c) = key.get(i) else {
                // index_add_value(): by priority, a new value before older
                // ones of the same priority.
                let dup = n.values.iter().any(|v| v.1 == value);
                let at = n.values.iter().position(|v| v.0 >= priority).unwrap_or(n.values.len());
                n.values.insert(at, (priority, value.to_vec()));
                return dup;
            };
            match n.children.binary_search_by_key(&c, |x| x.0) {
                Ok(k) => {
                    node = n.children[k].1;
                    i += 1;
                }
                Err(k) => {
                    n.children.insert(k, (c, at));
                    self.nodes.push(WNode {
                        prefix: key[i + 1..].to_vec(),
                        children: Vec::new(),
                        values: vec![(priority, value.to_vec())],
                    });
                    return false;
                }
            }
        }
    }

    /// The index file: header, then the nodes children first (post-order),
    /// then the root's offset patched into the header.
    pub fn write(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 << 10);
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&(VERSION_MAJOR << 16 | 1).to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        let root = self.write_node(0, &mut out);
        out[8..12].copy_from_slice(&root.to_be_bytes());
        out
    }

    fn write_node(&self, node: usize, out: &mut Vec<u8>) -> u32 {
        let n = &self.nodes[node];
        let mut offsets = Vec::new();
        if let (Some(first), Some(last)) = (n.children.first(), n.children.last()) {
            offsets = vec![0u32; (last.0 - first.0) as usize + 1];
            for &(c, child) in &n.children {
                offsets[(c - first.0) as usize] = self.write_node(child, out);
            }
        }
        let mut offset = out.len() as u32;
        if !n.prefix.is_empty() {
            out.extend_from_slice(&n.prefix);
            out.push(0);
            offset |= PREFIX;
        }
        if let (Some(first), Some(last)) = (n.children.first(), n.children.last()) {
            out.push(first.0);
            out.push(last.0);
            for o in offsets {
                out.extend_from_slice(&o.to_be_bytes());
            }
            offset |= CHILDS;
        }
        if !n.values.is_empty() {
            out.extend_from_slice(&(n.values.len() as u32).to_be_bytes());
            for (p, v) in &n.values {
                out.extend_from_slice(&p.to_be_bytes());
                out.extend_from_slice(v);
                out.push(0);
            }
            offset |= VALUES;
        }
        offset
    }
}
