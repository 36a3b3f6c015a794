//! Which leftover member QEMU reports as unexpected when there are several.
//!
//! QEMU's input visitor copies an object's keys into a GLib hash table,
//! removes each member it reads, and then names the first key the table's
//! iterator returns. That order is the table's slot order, so reproducing
//! the message means replaying what the table does:
//!
//! - the keys arrive in QDict iteration order: QDict's 512 buckets
//!   (`tdb_hash`) in ascending order, the most recently inserted first
//!   within a bucket;
//! - GLib (2.60 and later) places them by `g_str_hash`, slot
//!   `(hash * 11) % prime` with quadratic probing, leaves tombstones on
//!   removal, grows when used plus deleted slots reach 15/16 of the table,
//!   shrinks below a quarter full, and rehashes in place when it resizes.

/// QDict's bucket count (`QDICT_BUCKET_MAX`).
const QDICT_BUCKETS: u32 = 512;

/// GLib's smallest table: 8 slots.
const MIN_SHIFT: u32 = 3;

/// GLib's modulus for each table size `1 << shift`.
const PRIME_MOD: [u32; 32] = [
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
    262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
    268435399, 536870909, 1073741789, 2147483647,
];

const UNUSED: u32 = 0;
const TOMBSTONE: u32 = 1;

/// QDict's hash of a key.
fn tdb_hash(key: &str) -> u32 {
    let bytes = key.as_bytes();
    let mut value = 0x238F_13AFu32.wrapping_mul(bytes.len() as u32);
    for (i, &b) in bytes.iter().enumerate() {
        value = value.wrapping_add(u32::from(b) << ((i as u32 * 5) % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345)
}

/// GLib's `g_str_hash` (djb2 over signed chars), with 0 and 1 reserved.
fn str_hash(key: &str) -> u32 {
    let mut h: u32 = 5381;
    for &b in key.as_bytes() {
        h = (h << 5).wrapping_add(h).wrapping_add(b as i8 as i32 as u32);
    }
    if h <= TOMBSTONE {
        2
    } else {
        h
    }
}

/// The keys of an object in the order QEMU's QDict iterates them, given
/// the order they were parsed in.
fn qdict_order<'a>(parsed: &[&'a str]) -> Vec<&'a str> {
    let mut keyed: Vec<(u32, usize, &str)> = parsed
        .iter()
        .enumerate()
        .map(|(i, k)| (tdb_hash(k) % QDICT_BUCKETS, i, *k))
        .collect();
    // Ascending buckets; within one, the last inserted first.
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    keyed.into_iter().map(|(_, _, k)| k).collect()
}

/// The parts of a GLib hash table that decide its slot order.
struct GlibTable<'a> {
    shift: u32,
    hashes: Vec<u32>,
    keys: Vec<Option<&'a str>>,
    nnodes: usize,
    noccupied: usize,
}

impl<'a> GlibTable<'a> {
    fn new() -> Self {
        let size = 1 << MIN_SHIFT;
        GlibTable {
            shift: MIN_SHIFT,
            hashes: vec![UNUSED; size],
            keys: vec![None; size],
            nnodes: 0,
            noccupied: 0,
        }
    }

    fn size(&self) -> usize {
        1 << self.shift
    }

    fn mask(&self) -> usize {
        self.size() - 1
    }

    fn index_of_hash(&self, hash: u32) -> usize {
        (hash.wrapping_mul(11) % PRIME_MOD[self.shift as usize]) as usize
    }

    /// The slot holding `key`, or where it would go (the first tombstone
    /// on its probe path, else the unused slot that ends it).
    fn lookup(&self, key: &str) -> (usize, bool) {
        let hash = str_hash(key);
        let mut index = self.index_of_hash(hash);
        let mut step = 0;
        let mut first_tombstone = None;
        while self.hashes[index] != UNUSED {
            if self.hashes[index] == hash && self.keys[index] == Some(key) {
                return (index, true);
            }
            if self.hashes[index] == TOMBSTONE && first_tombstone.is_none() {
                first_tombstone = Some(index);
            }
            step += 1;
            index = (index + step) & self.mask();
        }
        (first_tombstone.unwrap_or(index), false)
    }

    fn insert(&mut self, key: &'a str) {
        let (index, found) = self.lookup(key);
        if found {
            return;
        }
        let was_unused = self.hashes[index] == UNUSED;
        self.hashes[index] = str_hash(key);
        self.keys[index] = Some(key);
        self.nnodes += 1;
        if was_unused {
            self.noccupied += 1;
            self.maybe_resize();
        }
    }

    fn remove(&mut self, key: &str) {
        let (index, found) = self.lookup(key);
        if found {
            self.hashes[index] = TOMBSTONE;
            self.keys[index] = None;
            self.nnodes -= 1;
            self.maybe_resize();
        }
    }

    fn maybe_resize(&mut self) {
        let size = self.size();
        let shrink = size > self.nnodes * 4 && size > 1 << MIN_SHIFT;
        let grow = size <= self.noccupied + self.noccupied / 16;
        if shrink || grow {
            self.resize();
        }
    }

    /// GLib's in-place rehash: walk the old slots in order; move each entry
    /// to its new home, evicting whatever sits there and placing that next.
    fn resize(&mut self) {
        let old_size = self.size();
        // `nnodes * 1.333` truncated, then the bit length of that.
        let wanted = (self.nnodes as f64 * 1.333) as u32;
        self.shift = (u32::BITS - wanted.leading_zeros()).max(MIN_SHIFT);
        let new_size = self.size();
        if new_size > old_size {
            self.hashes.resize(new_size, UNUSED);
            self.keys.resize(new_size, None);
        }
        let mut placed = vec![false; new_size.max(old_size)];
        for i in 0..old_size {
            if self.hashes[i] <= TOMBSTONE {
                self.hashes[i] = UNUSED;
                continue;
            }
            if placed[i] {
                continue;
            }
            let mut hash = self.hashes[i];
            let mut key = self.keys[i].take();
            self.hashes[i] = UNUSED;
            loop {
                let mut index = self.index_of_hash(hash);
                let mut step = 0;
                while placed[index] {
                    step += 1;
                    index = (index + step) & self.mask();
                }
                placed[index] = true;
                let replaced_hash = self.hashes[index];
                let replaced_key = self.keys[index].take();
                self.hashes[index] = hash;
                self.keys[index] = key;
                if replaced_hash <= TOMBSTONE {
                    break;
                }
                hash = replaced_hash;
                key = replaced_key;
            }
        }
        self.hashes.truncate(new_size);
        self.keys.truncate(new_size);
        self.noccupied = self.nnodes;
    }

    fn first(&self) -> Option<&'a str> {
        self.keys.iter().flatten().next().copied()
    }
}

/// The key QEMU names in "Parameter '...' is unexpected": `parsed` are the
/// object's keys in the order the client sent them, `read` the members the
/// visitor read, in reading order. `None` when every key was read.
pub fn first_unexpected<'a>(parsed: &[&'a str], read: &[&str]) -> Option<&'a str> {
    let mut table = GlibTable::new();
    for key in qdict_order(parsed) {
        table.insert(key);
    }
    for key in read {
        table.remove(key);
    }
    table.first()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_glib_and_qdict() {
        // g_str_hash("x") = 5381 * 33 + 'x'.
        assert_eq!(str_hash("x"), 5381 * 33 + 120);
        assert_eq!(str_hash(""), 5381);
        assert_eq!(tdb_hash(""), 12345);
    }

    #[test]
    fn qemu_7_2_picks_y_over_x() {
        // Recorded: qom-get with path, property, x and y names 'y'.
        let parsed = ["path", "property", "x", "y"];
        assert_eq!(first_unexpected(&parsed, &["path", "property"]), Some("y"));
        assert_eq!(first_unexpected(&["path"], &["path"]), None);
    }
}
