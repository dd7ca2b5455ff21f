"""Rendering results for people and machines: one function per output format (text, JSON, GitHub
annotations, JUnit) for every command that reports. Takes result data from the core and returns
strings: it never reads files, runs git, prints or exits. May import the result types of every
core package; never `cli`.
"""
