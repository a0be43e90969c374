"""MicroPython firmware of the optional lock controller board (Raspberry Pi Pico).

Copied to the board as the package ``lockboard`` (with main.py at the root);
the cabinet runtime never imports it. The emulator in hal/sim runs
``controller.LockController`` on CPython.
"""
