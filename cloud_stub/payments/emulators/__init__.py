"""Emulators of the payment providers' APIs, written from their public documentation (tests and simulation)."""
