//! The best `k` gallery rows seen so far for one query.
//!
//! `k` is small (100 in the competition) and, once the list is full, almost every candidate loses
//! against the current `k`-th best, so a sorted array with a cached threshold beats a heap: the
//! common case is one comparison, and the rare insertion shifts at most `k` entries.

/// Sorted (best first) bounded list of `(key, gallery row)` pairs, where a larger key is better.
///
/// Candidates must be offered in increasing row order. That is what makes ties come out in
/// gallery order without comparing indices: an equal key arriving later always has the higher
/// row, so it goes after the entries it ties with, and never displaces one of them.
#[derive(Debug, Clone)]
pub(crate) struct TopK {
    k: usize,
    /// `(key, row)`, best first; one array so that an insertion shifts memory once.
    entries: Vec<(f32, u32)>,
}

impl TopK {
    /// An empty list that keeps at most `k` entries.
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            entries: Vec::with_capacity(k),
        }
    }

    /// Once the list is full, the key a candidate must exceed to enter.
    #[inline]
    pub(crate) fn threshold(&self) -> Option<f32> {
        if self.entries.len() == self.k {
            self.entries.last().map(|e| e.0)
        } else {
            None
        }
    }

    /// Offer the keys of consecutive gallery rows `first_row, first_row + 1, ...`.
    ///
    /// Keys must not be NaN (callers map NaN to −∞), or the sorted order would be meaningless.
    #[inline]
    pub(crate) fn offer(&mut self, first_row: u32, keys: impl Iterator<Item = f32>) {
        if self.k == 0 {
            return;
        }
        let mut threshold = self.threshold();
        for (key, row) in keys.zip(first_row..) {
            debug_assert!(!key.is_nan());
            // While there is room everything enters, even −∞ (the stand-in for NaN).
            if threshold.is_none_or(|t| key > t) {
                self.insert(key, row);
                threshold = self.threshold();
            }
        }
    }

    fn insert(&mut self, key: f32, row: u32) {
        if self.entries.len() == self.k {
            self.entries.pop();
        }
        // After every entry that is at least as good: those have lower rows and win ties.
        let at = self.entries.partition_point(|e| e.0 >= key);
        self.entries.insert(at, (key, row));
    }

    /// `(key, row)` pairs, best first.
    pub(crate) fn entries(&self) -> &[(f32, u32)] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &TopK) -> Vec<u32> {
        t.entries().iter().map(|e| e.1).collect()
    }

    #[test]
    fn keeps_the_k_largest_best_first() {
        let mut t = TopK::new(3);
        t.offer(0, [0.5, 0.1, 0.9, 0.3, 0.7].into_iter());
        assert_eq!(t.entries(), &[(0.9, 2), (0.7, 4), (0.5, 0)]);
        assert_eq!(t.threshold(), Some(0.5));
    }

    #[test]
    fn ties_keep_gallery_order_across_offers() {
        let mut t = TopK::new(3);
        t.offer(0, [1.0, 0.0].into_iter());
        t.offer(2, [1.0, 1.0, 1.0].into_iter());
        assert_eq!(rows(&t), &[0, 2, 3]);
    }

    #[test]
    fn fewer_candidates_than_k_and_negative_infinity() {
        let mut t = TopK::new(5);
        t.offer(0, [f32::NEG_INFINITY, -1.0].into_iter());
        assert_eq!(rows(&t), &[1, 0]);
        assert_eq!(t.threshold(), None);
    }

    #[test]
    fn zero_k_keeps_nothing() {
        let mut t = TopK::new(0);
        t.offer(0, [1.0].into_iter());
        assert!(t.entries().is_empty());
    }
}
