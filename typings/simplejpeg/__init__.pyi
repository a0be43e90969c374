# simplejpeg ships these signatures in simplejpeg/_jpeg.pyi but no py.typed marker, so mypy will not
# read them from site-packages; this is that file's API for the functions used here (sizes as int: the
# header's SupportsInt there is always an int).
from typing import Any

import numpy as np

def decode_jpeg_header(
    data: Any, min_height: int = 0, min_width: int = 0, min_factor: float = 1, strict: bool = True
) -> tuple[int, int, str, str]: ...
def decode_jpeg(
    data: Any,
    colorspace: str = "rgb",
    fastdct: bool = False,
    fastupsample: bool = False,
    min_height: int = 0,
    min_width: int = 0,
    min_factor: float = 1,
    buffer: Any = None,
    strict: bool = True,
) -> np.ndarray: ...
def encode_jpeg(
    image: np.ndarray, quality: int = 85, colorspace: str = "rgb", colorsubsampling: str = "444", fastdct: bool = False
) -> bytes: ...
def is_jpeg(data: bytes) -> bool: ...

__version__: str
