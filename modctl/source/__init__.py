"""The strategy repository as modctl reads it: finding its root, selecting and parsing its files
(with positions, through `modctl.yamlio`), the parse cache, validation, loading bundles for the
engine from the working tree or a git revision, the semantic bundle diff, `init`'s scaffold and
`modctl.yaml` as committed. May import `modctl.lint`, the model, findings, errors, `yamlio` and
`gitio`; never `state`, `backtest`, `reports` or `cli`.
"""
