"""What the cabinet process loads: only what its configuration uses (issue 13, memory on a Pi)."""

from tests.polling import eventually

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


def test_a_cabinet_with_a_camera_loads_the_jpeg_encoder_for_its_door_snapshots(sim_cabinet):
    client = sim_cabinet()  # the simulation's camera
    walk_to_checkout(client)
    take_the_product(client)
    # The door's photos are taken off the sale's path: they may still be encoding when the screen moved on.
    wanted = {"numpy", "simplejpeg"}
    modules = eventually(lambda: set(client.modules()), wanted.issubset, 15.0, "the JPEG encoder loaded")
    assert "sqlite_utils" not in modules
