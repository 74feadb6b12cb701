//! kmod's hash table (shared/hash.c): depmod's output files list symbols
//! and modules in its bucket order, so matching them byte for byte means
//! hashing the way kmod does.

/// kmod's shared/hash.c, as far as its order shows in depmod's output: a
/// power-of-two number of buckets chosen by Paul Hsieh's "superfast" hash,
/// each bucket sorted by key. Iterating goes bucket by bucket.
pub struct KHash<V> {
    buckets: Vec<Vec<(Vec<u8>, V)>>,
}

impl<V> KHash<V> {
    pub fn new(n: usize) -> KHash<V> {
        KHash { buckets: (0..n).map(|_| Vec::new()).collect() }
    }

    fn slot(&self, key: &[u8]) -> (usize, Result<usize, usize>) {
        let b = superfast(key) as usize & (self.buckets.len() - 1);
        (b, self.buckets[b].binary_search_by(|e| e.0[..].cmp(key)))
    }

    /// hash_add() (replacing) or hash_add_unique() (keeping the old value).
    pub fn add(&mut self, key: &[u8], value: V, unique: bool) {
        match self.slot(key) {
            (b, Ok(i)) if !unique => self.buckets[b][i].1 = value,
            (_, Ok(_)) => {}
            (b, Err(i)) => self.buckets[b].insert(i, (key.to_vec(), value)),
        }
    }

    pub fn find(&self, key: &[u8]) -> Option<&V> {
        match self.slot(key) {
            (b, Ok(i)) => Some(&self.buckets[b][i].1),
            _ => None,
        }
    }

    pub fn del(&mut self, key: &[u8]) {
        if let (b, Ok(i)) = self.slot(key) {
            self.buckets[b].remove(i);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.buckets.iter().flatten().map(|(k, v)| (&k[..], v))
    }
}

/// hash_superfast() as kmod computes it on x86 (little-endian 16-bit reads,
/// `char` signed).
fn superfast(key: &[u8]) -> u32 {
    let mut h = key.len() as u32;
    let at = |i: usize| u32::from(u16::from_le_bytes([key[i], key[i + 1]]));
    let chunks = key.len() / 4;
    for c in 0..chunks {
        h = h.wrapping_add(at(4 * c));
        let tmp = (at(4 * c + 2) << 11) ^ h;
        h = (h << 16) ^ tmp;
        h = h.wrapping_add(h >> 11);
    }
    let i = 4 * chunks;
    match key.len() & 3 {
        3 => {
            h = h.wrapping_add(at(i));
            h ^= h << 16;
            h ^= ((key[i + 2] as i8 as i32) << 18) as u32;
            h = h.wrapping_add(h >> 11);
        }
        2 => {
            h = h.wrapping_add(at(i));
            h ^= h << 11;
            h = h.wrapping_add(h >> 17);
        }
        1 => {
            h = h.wrapping_add(key[i] as i8 as i32 as u32);
            h ^= h << 10;
            h = h.wrapping_add(h >> 1);
        }
        _ => {}
    }
    h ^= h << 3;
    h = h.wrapping_add(h >> 5);
    h ^= h << 4;
    h = h.wrapping_add(h >> 17);
    h ^= h << 25;
    h.wrapping_add(h >> 6)
}
