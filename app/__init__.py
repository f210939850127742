"""The composition root: the ``tamin-bot`` command builds every part from one settings object.

It sits above all layers (it may import bot, console, sandbox, nlu and services), and nothing
imports it.
"""
