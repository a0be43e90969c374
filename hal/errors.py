"""Errors shared by every device driver."""


class DeviceFault(Exception):
    """A device is missing, disconnected or not answering.

    ``device`` names the device (for example ``"payment"``) so that the cabinet
    can report which part is down and keep running what it still can.
    """

    def __init__(self, device: str, detail: str) -> None:
        super().__init__(f"{device}: {detail}")
        self.device = device
        self.detail = detail


class ProtocolError(Exception):
    """Bytes from a device that do not follow its wire protocol.

    Every parser of device bytes raises only this type for malformed input, with
    the offset of the offending byte where it is known.
    """

    def __init__(self, message: str, *, offset: int | None = None, data: bytes = b"") -> None:
        where = f" at byte {offset}" if offset is not None else ""
        shown = f" in {data[:64].hex(' ')}" if data else ""
        super().__init__(f"{message}{where}{shown}")
        self.reason = f"{message}{where}"  # without the bytes: what a log line shows (a card UID, a code)
        self.offset = offset
        self.data = data
