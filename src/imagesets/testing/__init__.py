"""Public helpers for tests: format-exact sample writers for the published datasets.

Used by imagesets' own tests and benchmarks, and meant for users' tests too: they write small
folders in the exact published layouts, so code can be tried without downloading anything.
"""
