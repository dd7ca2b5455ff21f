"""Backtests: reading labelled listings (JSON lines, CSV, Parquet) in Arrow batches, deciding them
with the batch evaluator, tallying decisions, precision and recall, comparing with a baseline, and
the seeded sample generator. May import `modctl.engine`, `modctl.source` (to load bundles),
`yamlio` (the generator reads the reference lists), the model and errors; never `state`,
`reports` or `cli`.
"""
