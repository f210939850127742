"""Benchmarks: scripts that print figures (``make bench`` / ``python -m benchmarks``).

Each ``benchmarks/<name>_bench.py`` module has a ``main()`` that runs its measurements and prints
them; they are not tests and assert nothing about timing.
"""
