//! The order in which QEMU lists its chardevs. `query-chardev` walks the
//! children of QEMU's `/chardevs` container, which sit in a GLib hash
//! table keyed by name (`g_str_hash`), and prepends each to its answer: the
//! answer is the table's slot order reversed. That order depends on the
//! names and on the history of insertions and removals, so this keeps a
//! model of the table (GLib 2.74's open addressing with quadratic probing,
//! tombstones and in-place resizing) fed with the same history.

/// A slot never used since the last resize.
const UNUSED: u32 = 0;
/// A slot whose key was removed.
const TOMBSTONE: u32 = 1;
/// The smallest table has 1 << 3 slots.
const MIN_SHIFT: u32 = 3;
/// GLib's modulus for each table size 1 << shift.
const PRIME_MOD: [u32; 32] = [
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
    262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
    268435399, 536870909, 1073741789, 2147483647,
];

/// `g_str_hash`: djb2 over the bytes taken as signed chars.
fn str_hash(key: &str) -> u32 {
    key.bytes().fold(5381u32, |h, b| {
        (h << 5).wrapping_add(h).wrapping_add(b as i8 as i32 as u32)
    })
}

/// The slot order of a GLib string-keyed hash table.
#[derive(Debug)]
pub(crate) struct HashOrder {
    /// Per slot: UNUSED, TOMBSTONE or the key's hash (never 0 or 1).
    hashes: Vec<u32>,
    keys: Vec<Option<String>>,
    nnodes: usize,
    /// Slots not UNUSED (keys and tombstones).
    noccupied: usize,
    modulus: u32,
}

impl Default for HashOrder {
    fn default() -> Self {
        let size = 1 << MIN_SHIFT;
        HashOrder {
            hashes: vec![UNUSED; size],
            keys: vec![None; size],
            nnodes: 0,
            noccupied: 0,
            modulus: PRIME_MOD[MIN_SHIFT as usize],
        }
    }
}

impl HashOrder {
    fn set_shift(&mut self, shift: u32) {
        self.modulus = PRIME_MOD[shift as usize];
    }

    fn mask(&self) -> usize {
        self.hashes.len() - 1
    }

    fn hash_to_index(&self, hash: u32) -> usize {
        (hash.wrapping_mul(11) % self.modulus) as usize
    }

    /// The key's hash as stored (0 and 1 mean empty and removed).
    fn key_hash(key: &str) -> u32 {
        match str_hash(key) {
            UNUSED | TOMBSTONE => 2,
            hash => hash,
        }
    }

    /// The slot holding `key`, or where it would go (the first tombstone
    /// on its probe path, else the unused slot ending it).
    fn lookup(&self, key: &str) -> (usize, u32) {
        let hash = Self::key_hash(key);
        let mut index = self.hash_to_index(hash);
        let mut first_tombstone = None;
        let mut step = 0;
        while self.hashes[index] != UNUSED {
            if self.hashes[index] == hash && self.keys[index].as_deref() == Some(key) {
                return (index, hash);
            }
            if self.hashes[index] == TOMBSTONE && first_tombstone.is_none() {
                first_tombstone = Some(index);
            }
            step += 1;
            index = (index + step) & self.mask();
        }
        (first_tombstone.unwrap_or(index), hash)
    }

    pub(crate) fn insert(&mut self, key: &str) {
        let (index, hash) = self.lookup(key);
        let old = self.hashes[index];
        if old > TOMBSTONE {
            return;
        }
        self.hashes[index] = hash;
        self.keys[index] = Some(key.to_string());
        self.nnodes += 1;
        if old == UNUSED {
            self.noccupied += 1;
            self.maybe_resize();
        }
    }

    pub(crate) fn remove(&mut self, key: &str) {
        let (index, _) = self.lookup(key);
        if self.hashes[index] <= TOMBSTONE {
            return;
        }
        self.hashes[index] = TOMBSTONE;
        self.keys[index] = None;
        self.nnodes -= 1;
        self.maybe_resize();
    }

    /// The keys in slot order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().flatten().map(String::as_str)
    }

    fn maybe_resize(&mut self) {
        let size = self.hashes.len();
        let shrink = size > self.nnodes * 4 && size > 1 << MIN_SHIFT;
        let grow = size <= self.noccupied + self.noccupied / 16;
        if shrink || grow {
            self.resize();
        }
    }

    /// GLib's in-place rehash: slots are visited in order, and each key
    /// evicts the not yet moved key in its new slot, which moves next.
    fn resize(&mut self) {
        let old_size = self.hashes.len();
        // As GLib: the new size is the power of two above 4/3 of the keys.
        let wanted = (self.nnodes as f64 * 1.333) as u32;
        let shift = (u32::BITS - wanted.leading_zeros()).max(MIN_SHIFT);
        self.set_shift(shift);
        let new_size = 1usize << shift;
        if new_size > old_size {
            self.hashes.resize(new_size, UNUSED);
            self.keys.resize(new_size, None);
        }
        let mut moved = vec![false; new_size.max(old_size)];
        let mask = new_size - 1;
        for i in 0..old_size {
            let hash = self.hashes[i];
            if hash <= TOMBSTONE {
                self.hashes[i] = UNUSED;
                continue;
            }
            if moved[i] {
                continue;
            }
            self.hashes[i] = UNUSED;
            let mut carried = (hash, self.keys[i].take());
            loop {
                let mut index = (carried.0.wrapping_mul(11) % self.modulus) as usize;
                let mut step = 0;
                while moved[index] {
                    step += 1;
                    index = (index + step) & mask;
                }
                moved[index] = true;
                let replaced_hash = std::mem::replace(&mut self.hashes[index], carried.0);
                let replaced_key = std::mem::replace(&mut self.keys[index], carried.1);
                if replaced_hash <= TOMBSTONE {
                    break;
                }
                carried = (replaced_hash, replaced_key);
            }
        }
        if new_size < old_size {
            self.hashes.truncate(new_size);
            self.keys.truncate(new_size);
        }
        self.noccupied = self.nnodes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `query-chardev`'s order: the slot order reversed.
    fn listed(table: &HashOrder) -> Vec<&str> {
        let mut keys: Vec<&str> = table.keys().collect();
        keys.reverse();
        keys
    }

    /// Orders recorded from QEMU 7.2's `query-chardev` after creating
    /// these chardevs in this order (`-qmp`, then `-chardev`s with a
    /// `mux=on` one, whose base QEMU creates first, then `chardev-add`s).
    #[test]
    fn orders_recorded_from_qemu() {
        let command_line = [
            "compat_monitor0",
            "n0",
            "s0",
            "p0",
            "f0",
            "r0",
            "pp",
            "st",
            "m0-base",
            "m0",
            "t0",
            "mem",
        ];
        let mut table = HashOrder::default();
        command_line.iter().for_each(|k| table.insert(k));
        assert_eq!(
            listed(&table),
            [
                "s0",
                "m0",
                "st",
                "n0",
                "pp",
                "mem",
                "p0",
                "r0",
                "compat_monitor0",
                "f0",
                "t0",
                "m0-base"
            ]
        );

        let mut first = HashOrder::default();
        command_line.iter().for_each(|k| first.insert(k));
        for k in ["x1", "x2", "x3", "x4", "x5", "x6", "x10"] {
            first.insert(k);
        }
        assert_eq!(
            listed(&first),
            [
                "f0",
                "m0",
                "t0",
                "x6",
                "x3",
                "pp",
                "n0",
                "x5",
                "r0",
                "x2",
                "x10",
                "mem",
                "st",
                "compat_monitor0",
                "s0",
                "m0-base",
                "x4",
                "x1",
                "p0"
            ]
        );

        let mut second = HashOrder::default();
        command_line.iter().for_each(|k| second.insert(k));
        for k in ["y7", "y8", "y9", "", "a b/c", "y19"] {
            second.insert(k);
        }
        assert_eq!(
            listed(&second),
            [
                "a b/c",
                "f0",
                "y7",
                "t0",
                "y19",
                "pp",
                "n0",
                "y9",
                "r0",
                "",
                "st",
                "y8",
                "mem",
                "s0",
                "m0-base",
                "compat_monitor0",
                "p0",
                "m0"
            ]
        );
    }
}
