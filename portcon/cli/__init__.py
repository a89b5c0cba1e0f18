"""The `portcon` command line: argument parsing and rendering only."""
