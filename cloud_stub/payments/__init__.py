"""Scan-to-pay providers: one interface (``provider.py``), the simulator and one module per real provider."""
