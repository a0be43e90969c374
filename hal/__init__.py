"""Hardware abstraction: one interface per device kind, real drivers and emulators.

Each module holds one device kind: its interface (an ABC), its records
(dataclasses) and its real backend. Emulators live in ``hal.sim``.
``hal`` knows nothing of the UI, the store or the cloud.
"""
