//! The best `k` gallery rows seen so far for one query.
//!
//! A binary heap with the worst kept entry on top: once it is full almost every candidate loses
//! against that entry (one comparison), and an accepted one costs O(log k) whatever `k`, even
//! the whole gallery.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A `(key, gallery row)` pair ordered by rank: larger key first, then lower row. Its `Ord`
/// puts the WORSE entry higher, so that the max-heap keeps the entry to evict on top.
#[derive(Debug, Clone, Copy)]
struct Entry(f32, u32);

/// `Less` when `a` ranks before `b`. Keys are never NaN, so this is a total order.
fn rank(a: &(f32, u32), b: &(f32, u32)) -> Ordering {
    b.0.partial_cmp(&a.0)
        .unwrap_or(Ordering::Equal)
        .then(a.1.cmp(&b.1))
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        rank(&(self.0, self.1), &(other.0, other.1))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

/// Bounded set of the best `(key, gallery row)` pairs where a larger key is better and,
/// between equal keys, the lower row.
#[derive(Debug, Clone)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    /// An empty list that keeps at most `k` entries.
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::new(),
        }
    }

    /// Most entries kept.
    pub(crate) fn capacity(&self) -> usize {
        self.k
    }

    /// Once `k` entries are kept, the key a candidate must exceed to enter.
    #[inline]
    pub(crate) fn threshold(&self) -> Option<f32> {
        if self.heap.len() == self.k {
            self.heap.peek().map(|e| e.0)
        } else {
            None
        }
    }

    /// Offer the keys of consecutive gallery rows `first_row, first_row + 1, ...`.
    ///
    /// Rows must arrive in increasing order over all calls: a key equal to the threshold is
    /// then never better (its row is higher than the entry it ties with), so one strict
    /// comparison decides. Keys must not be NaN (callers map NaN to −∞).
    #[inline]
    pub(crate) fn offer(&mut self, first_row: u32, keys: impl Iterator<Item = f32>) {
        if self.k == 0 {
            return;
        }
        let mut threshold = self.threshold();
        for (key, row) in keys.zip(first_row..) {
            debug_assert!(!key.is_nan());
            match threshold {
                None => {
                    self.heap.push(Entry(key, row));
                    threshold = self.threshold();
                }
                Some(t) if key > t => {
                    if let Some(mut worst) = self.heap.peek_mut() {
                        // Dropping the `PeekMut` sifts the new entry down into place.
                        *worst = Entry(key, row);
                    }
                    threshold = self.threshold();
                }
                Some(_) => {}
            }
        }
    }

    /// The kept `(key, row)` pairs, best first.
    pub(crate) fn into_sorted(self) -> Vec<(f32, u32)> {
        // Ascending in `Entry` order is best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| (e.0, e.1))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &TopK) -> Vec<u32> {
        t.clone().into_sorted().iter().map(|e| e.1).collect()
    }

    #[test]
    fn keeps_the_k_largest_best_first() {
        let mut t = TopK::new(3);
        t.offer(0, [0.5, 0.1, 0.9, 0.3, 0.7].into_iter());
        assert_eq!(t.into_sorted(), vec![(0.9, 2), (0.7, 4), (0.5, 0)]);
    }

    #[test]
    fn ties_keep_gallery_order_across_offers() {
        // 41 rows have key 1, spread over two offers; the first 40 of them must win.
        let mut t = TopK::new(40);
        let keys = |n: usize| (0..n).map(|i| if i % 3 == 0 { 1.0 } else { 0.5 });
        t.offer(0, keys(50));
        t.offer(50, keys(70));
        assert_eq!(t.threshold(), Some(1.0));
        let ones: Vec<u32> = (0..50u32)
            .filter(|i| i % 3 == 0)
            .chain((50..120).filter(|i| (i - 50) % 3 == 0))
            .collect();
        assert_eq!(ones.len(), 41);
        assert_eq!(rows(&t), ones[..40].to_vec());
    }

    #[test]
    fn matches_a_full_sort_for_many_k() {
        let mut rng = crate::rng::Rng::new(9);
        // Few distinct values, so ties are everywhere.
        let keys: Vec<f32> = (0..1000)
            .map(|_| (rng.uniform() * 20.0).floor() as f32)
            .collect();
        let mut want: Vec<(f32, u32)> = keys.iter().copied().zip(0..).collect();
        want.sort_by(rank);
        for k in [1, 5, 31, 32, 33, 100, 999, 1000, 5000] {
            let mut t = TopK::new(k);
            for (c, first) in keys.chunks(77).zip((0..).step_by(77)) {
                t.offer(first, c.iter().copied());
            }
            assert_eq!(t.into_sorted(), want[..k.min(1000)].to_vec(), "k {k}");
        }
    }

    #[test]
    fn fewer_candidates_than_k_and_negative_infinity() {
        let mut t = TopK::new(5);
        t.offer(0, [f32::NEG_INFINITY, -1.0].into_iter());
        assert_eq!(rows(&t), vec![1, 0]);
        assert_eq!(t.threshold(), None);
    }

    #[test]
    fn zero_k_keeps_nothing() {
        let mut t = TopK::new(0);
        t.offer(0, [1.0].into_iter());
        assert!(t.into_sorted().is_empty());
    }
}
