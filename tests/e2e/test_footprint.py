"""What the cabinet process loads: only what its configuration uses (issue 13, memory on a Pi)."""

import simplejpeg

from cloud_stub.store import SqliteCloudStore
from tests.polling import eventually

from .conftest import CABINET_ID
from .test_sale import take_the_product, walk_to_checkout

# numpy alone is about 11 MB resident; sqlite_utils pulled it in for the outbox.
CAMERA_ONLY = ("numpy", "simplejpeg", "cv2", "zxingcpp", "pyzbar")


def test_a_cabinet_without_camera_sells_without_numpy_or_sqlite_utils_loaded(sim_cabinet):
    client = sim_cabinet('[camera]\nbackend = "none"\n')
    walk_to_checkout(client)
    take_the_product(client)  # a whole sale: the door cycle's snapshots find no camera
    modules = client.modules()
    assert {"pygame", "aiohttp", "sqlite3"} <= set(modules)  # what a cabinet does need is listed
    loaded = sorted(set(modules) & {*CAMERA_ONLY, "sqlite_utils", "PIL", "hypothesis", "av"})
    assert loaded == [], f"loaded without a camera: {loaded}"


def test_the_simulated_camera_takes_the_door_snapshots_and_sends_their_thumbnails_without_numpy(sim_cabinet, cloud):
    """Its door photos are drawn and encoded with pygame, their thumbnails made with it: numpy (about 12 MB
    resident) is for raw frames (a camera code reader), which this cabinet does not have."""
    workdir, _ = cloud
    client = sim_cabinet()  # the simulation's camera
    walk_to_checkout(client)
    take_the_product(client)
    store = SqliteCloudStore(workdir / "cloud.db")
    try:
        # The door's photos are taken and uploaded off the sale's path, after the screen moved on.
        sent = eventually(lambda: store.snapshots_of(CABINET_ID), lambda s: len(s) >= 2, 20.0, "two thumbnails")
        thumbs = [store.snapshot(CABINET_ID, s["name"]) for s in sent]
    finally:
        store.close()
    photos = sorted((workdir / "data" / "snapshots").glob("*.jpg"))
    assert {p.name for p in photos} >= {s["name"] for s in sent}
    assert {p.name.split("-")[1] for p in photos} >= {"opened", "closed"}
    for photo in photos:  # the door's evidence at the camera's full size
        assert simplejpeg.decode_jpeg(photo.read_bytes()).shape == (480, 640, 3)
    assert all(simplejpeg.decode_jpeg(t).shape == (240, 320, 3) for t in thumbs if t is not None)
    loaded = sorted(set(client.modules()) & {*CAMERA_ONLY, "sqlite_utils"})
    assert loaded == [], f"loaded for door snapshots: {loaded}"


def test_a_cabinet_without_signed_updates_loads_neither_tuf_nor_cryptography(sim_cabinet):
    """TUF with cryptography, securesystemslib and urllib3 is about 11 MB resident: only a cabinet with an
    `[updates] root` checks for releases."""
    client = sim_cabinet('[camera]\nbackend = "none"\n')
    walk_to_checkout(client)
    take_the_product(client)
    loaded = sorted(set(client.modules()) & {"tuf", "cryptography", "securesystemslib", "urllib3"})
    assert loaded == [], f"loaded with updates off: {loaded}"
