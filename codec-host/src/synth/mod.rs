//! Synthetic re-ID features that reproduce the statistics of real ones.
