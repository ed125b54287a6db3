"""The fault matrix of issue 8: one fault per run against the local look-alikes.

``pytest tests/faults`` asserts the contract; ``python -m tests.faults`` prints the table.
"""
