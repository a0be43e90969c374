"""ZVT (ECR <-> payment terminal) protocol: framing, APDUs and BMPs, link layer, driver."""

from hal.zvt.driver import ZvtTerminal

__all__ = ["ZvtTerminal"]
