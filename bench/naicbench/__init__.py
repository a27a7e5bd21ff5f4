"""Comparison benchmarks of naicfc against FAISS quantisers and a neural vector quantiser."""
