"""Images the bot draws (Pillow, PNG); Discord-agnostic: plain values in, bytes out."""

from bot.images.progress_card import LEVEL_NAMES, HabitCard, ProgressCard, render_progress_card

__all__ = ["LEVEL_NAMES", "HabitCard", "ProgressCard", "render_progress_card"]
