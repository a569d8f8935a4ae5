"""The workspace's roles (kept apart so the command line can name them without loading the
web stack)."""

ROLES = ("analyst", "approver", "auditor", "admin")
"""analyst: works the watchlist and proposes actions; approver: also approves or rejects
others' proposals; auditor: reads everything, changes nothing; admin: all of it."""
