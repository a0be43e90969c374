"""Signed updates: TUF-verified downloads into the other of two slots, a health check, a way back."""
