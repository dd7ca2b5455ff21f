"""The rule engine: compiling a bundle for one region, the row evaluator (`test`, `explain`), the
batch evaluator on Arrow and NumPy (`backtest`), keyword and hash indexes, regexes run in linear
time (RE2) with the meaning Python's `re` gives them, regex prefilters over Python's regex parser,
traffic assignment, and the check of a listing's fields against their declared types. Pure: no
file I/O, no git, no printing. May import the model, errors and `printable` only.
"""
