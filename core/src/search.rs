//! Lock search in memory: per cached lock one folded text (name, unit and property,
//! lowercased), all of them in one buffer in list order (name, ASCII case folded, then id,
//! as SQLite's `ORDER BY name COLLATE NOCASE, id`), and a query word found in it with
//! `memchr::memmem`. 10,000 locks are about half a megabyte, scanned in well under a
//! millisecond, and nothing has to be built in SQLite while a sync writes its rows.
//!
//! The index only finds and orders rowids; the rows themselves are read from SQLite.
//! [`crate::cache`] keeps it in step with the `locks` table.

use memchr::memmem::Finder;
use uuid::Uuid;

/// Separates the three parts of one lock and ends each lock's text: a search word never
/// holds whitespace, so it never matches across two parts or two locks.
const SEP: u8 = b'\n';

/// One lock in the index; its text and key end where the next lock's begin.
#[derive(Debug, Clone, Copy)]
struct Entry {
    rowid: i64,
    id: Uuid,
    text_end: u32,
    key_end: u32,
}

/// The folded texts of all cached locks in list order.
///
/// ```
/// use access_core::search::Index;
/// use uuid::Uuid;
///
/// let mut b = Index::builder();
/// b.push(1, Uuid::from_u128(1), "Front Door", "Unit 4B", "Oakwood");
/// b.push(2, Uuid::from_u128(2), "Back Door", "Unit 9", "Maple");
/// let index = b.finish();
/// assert_eq!(index.find(&["door".into()], 10), vec![2, 1]);
/// assert_eq!(index.find(&["oak".into(), "4b".into()], 10), vec![1]);
/// ```
#[derive(Debug, Default)]
pub struct Index {
    text: Vec<u8>,
    keys: Vec<u8>,
    entries: Vec<Entry>,
}

/// Collects locks in any order; [`Builder::finish`] sorts them into an [`Index`].
#[derive(Debug, Default)]
pub struct Builder {
    text: Vec<u8>,
    keys: Vec<u8>,
    rows: Vec<Staged>,
}

#[derive(Debug)]
struct Staged {
    rowid: i64,
    id: Uuid,
    text: (u32, u32),
    key: (u32, u32),
}

/// `name`, `unit` and `property` lowercased (Unicode, so "ÖL" finds "öl"), each followed by
/// [`SEP`], appended to `out`; a line break inside a part becomes a space.
pub fn fold_into(out: &mut Vec<u8>, name: &str, unit: &str, property: &str) {
    for part in [name, unit, property] {
        let start = out.len();
        if part.is_ascii() {
            out.extend(part.bytes().map(|b| b.to_ascii_lowercase()));
        } else {
            let mut buf = [0u8; 4];
            for c in part.chars().flat_map(char::to_lowercase) {
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        for b in &mut out[start..] {
            if *b == SEP {
                *b = b' ';
            }
        }
        out.push(SEP);
    }
}

/// The list order's key of a name: SQLite's NOCASE folds ASCII letters only.
fn key_into(out: &mut Vec<u8>, name: &str) {
    out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
}

fn offset(len: usize) -> u32 {
    // A cache holds thousands of locks of a few dozen bytes each: far below 4 GiB.
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl Builder {
    /// Adds one lock (its SQLite rowid and id, and the three searchable parts).
    pub fn push(&mut self, rowid: i64, id: Uuid, name: &str, unit: &str, property: &str) {
        let (t0, k0) = (offset(self.text.len()), offset(self.keys.len()));
        fold_into(&mut self.text, name, unit, property);
        key_into(&mut self.keys, name);
        self.rows.push(Staged {
            rowid,
            id,
            text: (t0, offset(self.text.len())),
            key: (k0, offset(self.keys.len())),
        });
    }

    fn push_folded(&mut self, rowid: i64, id: Uuid, text: &[u8], key: &[u8]) {
        let (t0, k0) = (offset(self.text.len()), offset(self.keys.len()));
        self.text.extend_from_slice(text);
        self.keys.extend_from_slice(key);
        self.rows.push(Staged {
            rowid,
            id,
            text: (t0, offset(self.text.len())),
            key: (k0, offset(self.keys.len())),
        });
    }

    /// Number of locks added so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no lock was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The index: the locks sorted into list order, their texts copied in that order.
    pub fn finish(mut self) -> Index {
        let keys = &self.keys;
        let key = |s: &Staged| &keys[s.key.0 as usize..s.key.1 as usize];
        // Stable: rows arrive mostly in order when an index is patched.
        self.rows
            .sort_by(|a, b| key(a).cmp(key(b)).then_with(|| a.id.cmp(&b.id)));
        let mut index = Index {
            text: Vec::with_capacity(self.text.len()),
            keys: Vec::with_capacity(self.keys.len()),
            entries: Vec::with_capacity(self.rows.len()),
        };
        for s in &self.rows {
            index
                .text
                .extend_from_slice(&self.text[s.text.0 as usize..s.text.1 as usize]);
            index.keys.extend_from_slice(key(s));
            index.entries.push(Entry {
                rowid: s.rowid,
                id: s.id,
                text_end: offset(index.text.len()),
                key_end: offset(index.keys.len()),
            });
        }
        index
    }
}

impl Index {
    /// An empty builder.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Number of locks in the index.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index holds no lock.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn text_of(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.entries[i - 1].text_end
        };
        &self.text[start as usize..self.entries[i].text_end as usize]
    }

    fn key_of(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.entries[i - 1].key_end
        };
        &self.keys[start as usize..self.entries[i].key_end as usize]
    }

    /// The rowids of the first `limit` locks (in list order) whose folded text holds every
    /// one of `words` (already lowercased, none empty and none holding whitespace).
    ///
    /// The longest word is looked for through the whole buffer in one pass; each lock it
    /// lands in is checked for the other words, and the pass goes on after that lock.
    pub fn find(&self, words: &[String], limit: usize) -> Vec<i64> {
        let mut hits = Vec::new();
        let Some(lead) = (0..words.len()).max_by_key(|&i| words[i].len()) else {
            return hits;
        };
        let lead_finder = Finder::new(words[lead].as_bytes());
        let others: Vec<Finder<'_>> = words
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != lead)
            .map(|(_, w)| Finder::new(w.as_bytes()))
            .collect();
        let (mut pos, mut i) = (0usize, 0usize);
        while hits.len() < limit {
            let Some(at) = lead_finder.find(&self.text[pos..]).map(|o| pos + o) else {
                break;
            };
            i += self.entries[i..].partition_point(|e| e.text_end as usize <= at);
            let Some(entry) = self.entries.get(i) else {
                break;
            };
            let text = self.text_of(i);
            if others.iter().all(|f| f.find(text).is_some()) {
                hits.push(entry.rowid);
            }
            pos = entry.text_end as usize;
            i += 1;
        }
        hits
    }

    /// The index with the locks of `rowids` taken out and `fresh` ones (already folded into
    /// `fresh`, a builder) put in their places. Costs a copy of the index, so it suits a few
    /// changed rows; many are better read again whole.
    pub fn patched(&self, rowids: &[i64], fresh: Builder) -> Index {
        let mut b = Builder {
            text: Vec::with_capacity(self.text.len() + fresh.text.len()),
            keys: Vec::with_capacity(self.keys.len() + fresh.keys.len()),
            rows: Vec::with_capacity(self.entries.len() + fresh.rows.len()),
        };
        for (i, e) in self.entries.iter().enumerate() {
            if !rowids.contains(&e.rowid) {
                b.push_folded(e.rowid, e.id, self.text_of(i), self.key_of(i));
            }
        }
        for s in &fresh.rows {
            b.push_folded(
                s.rowid,
                s.id,
                &fresh.text[s.text.0 as usize..s.text.1 as usize],
                &fresh.keys[s.key.0 as usize..s.key.1 as usize],
            );
        }
        b.finish()
    }

    /// The rowids in list order (for tests and checks).
    pub fn rowids(&self) -> impl Iterator<Item = i64> + '_ {
        self.entries.iter().map(|e| e.rowid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(rows: &[(&str, &str, &str)]) -> Index {
        let mut b = Index::builder();
        for (i, (n, u, p)) in rows.iter().enumerate() {
            b.push(i as i64 + 1, Uuid::from_u128(i as u128), n, u, p);
        }
        b.finish()
    }

    fn words(q: &str) -> Vec<String> {
        q.split_whitespace().map(str::to_lowercase).collect()
    }

    #[test]
    fn list_order_is_ascii_folded_name_then_id() {
        let mut b = Index::builder();
        b.push(1, Uuid::from_u128(9), "beta", "", "");
        b.push(2, Uuid::from_u128(3), "Alpha", "", "");
        b.push(3, Uuid::from_u128(1), "ALPHA", "", "");
        // NOCASE leaves non-ASCII letters alone: 'Ä' (0xC3 0x84) sorts after every ASCII one.
        b.push(4, Uuid::from_u128(0), "Äpfel", "", "");
        b.push(5, Uuid::from_u128(0), "zed", "", "");
        let ix = b.finish();
        assert_eq!(ix.rowids().collect::<Vec<_>>(), [3, 2, 1, 5, 4]);
    }

    #[test]
    fn every_word_must_match_inside_one_part_of_one_lock() {
        let ix = index(&[
            ("Front Door", "Unit 4B", "Oakwood"),
            ("Ölmühle", "Tür\nZwei", "Straße"),
            ("Garage", "Unit 12", "Maple"),
        ]);
        assert_eq!(ix.find(&words("door"), 10), [1]);
        assert_eq!(ix.find(&words("unit"), 10), [1, 3]);
        assert_eq!(ix.find(&words("unit"), 1), [1]);
        assert_eq!(ix.find(&words("ÖLMÜHLE tür"), 10), [2]);
        assert_eq!(ix.find(&words("zwei"), 10), [2]);
        assert!(ix.find(&words("doorunit"), 10).is_empty());
        assert!(ix.find(&words("4boak"), 10).is_empty());
        assert!(ix.find(&words("oakwoodölmühle"), 10).is_empty());
        assert!(ix.find(&words("tür zwei x"), 10).is_empty());
        assert!(ix.find(&[], 10).is_empty());
        assert!(ix.find(&words("door"), 0).is_empty());
    }

    #[test]
    fn a_patch_takes_out_and_puts_in_rows_in_order() {
        let ix = index(&[("B", "", ""), ("D", "", ""), ("F", "", "")]);
        let mut fresh = Index::builder();
        fresh.push(2, Uuid::from_u128(1), "A moved", "", "");
        fresh.push(9, Uuid::from_u128(9), "E", "", "");
        let ix = ix.patched(&[2, 3], fresh);
        assert_eq!(ix.rowids().collect::<Vec<_>>(), [2, 1, 9]);
        assert_eq!(ix.find(&words("moved"), 5), [2]);
        assert!(ix.find(&words("f"), 5).is_empty());
        assert_eq!(ix.len(), 3);
    }
}
