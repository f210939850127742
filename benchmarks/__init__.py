"""Benchmarks: scripts that print figures (``make bench`` / ``python -m benchmarks``).

Each ``benchmarks/<name>_bench.py`` module has a ``main()`` that runs its measurements and prints
them; they are not tests and assert nothing about timing. Modules without the suffix are their
helpers (``bot_load`` for the bot benchmark, ``postgres`` for the throwaway databases). The
README's benchmark section keeps the figures they printed.
"""
