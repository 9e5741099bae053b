"""Discord-facing features, one extension per practice (plus progress, admin and health).

Every module or package here whose name does not start with ``_`` is loaded at start-up.
Cogs stay thin: read the interaction, call a service, render the answer.
"""
