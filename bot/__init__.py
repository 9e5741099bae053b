"""PLN Coach: a Discord bot coaching educators through the four habits of a learning network."""

__version__ = "0.1.0"
