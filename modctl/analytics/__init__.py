"""What production and labelled listings say about a bundle, as data: the effectiveness of its
rules from per-rule metrics, the gaps it leaves in labelled listings, and what a param sweep
would do. Pure: counts, statistics and suggested commands; no file, no git, no printing.
`backtest/` reads and decides the listings, `reports/` renders the results.
"""
