"""Weekly challenges: a built-in bank, and rules that let the ledger say who completed one."""
