"""Domain services: plain ids and values in, plain results out; nothing here knows discord.py.

They are built together in ``bot.wiring``.
"""
