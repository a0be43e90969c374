"""ZhianTec R30x / ZFM / AS608 fingerprint module over UART: packet codec, commands, sensor driver."""

from hal.fingerprint.commands import FingerprintError, Match
from hal.fingerprint.packets import Packet, PacketDecoder, Pid, encode_packet
from hal.fingerprint.sensor import ZfmSensor

__all__ = ["FingerprintError", "Match", "Packet", "PacketDecoder", "Pid", "ZfmSensor", "encode_packet"]
