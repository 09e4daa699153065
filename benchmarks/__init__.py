"""Benchmarks of gan-tutor: speed and quality measurements, written as JSON to benchmarks/results/.

Run ``make bench`` (or ``python -m benchmarks.run --help``). These are measurements, not tests:
nothing here asserts a timing. :mod:`benchmarks.report` turns the JSON into figures and tables
that ``book/results.md`` shows.
"""
