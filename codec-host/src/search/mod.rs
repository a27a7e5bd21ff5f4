//! Exact nearest-neighbour search for re-identification.
