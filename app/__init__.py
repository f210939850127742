"""The composition root: the ``tamin-bot`` command builds every part from one settings object.

It sits above all layers (it may import bot, console, nlu and services), and nothing imports
it. The ``sandbox`` package, an optional extra, is imported only by the commands that need it
(``run`` with no token, ``sandbox``), and only inside them: see ``tests/app``.
"""
