"""Pure checks over loaded documents: no file I/O, no git, no printing."""
