"""CPU tuning: import-time runtime settings, BLAS thread control, ember's thread pool, the
policy that keeps products off the BLAS's threads next to convolutions, and the hot products.

Imports nothing: ``ember`` imports ``runtime`` from here before NumPy loads.
"""
