"""Board entry point: wires the Pico's pins, UART and watchdog to the controller.

Deploy: copy this folder to the board as /lockboard and this file to /main.py
(mpremote cp -r firmware/lockboard : && mpremote cp firmware/lockboard/main.py :main.py).

Pinout (Pico GPIO numbers): UART0 TX GP0 / RX GP1 to the Pi, 115200 8N1;
relays GP2-GP5 (active-low relay modules); door contacts GP6-GP9,
tamper GP10, mains-present GP11, each a contact to GND with the pull-up on.
"""

import time

import machine
from lockboard.controller import LockController
from lockboard.protocol import RESET_POWER_ON, RESET_WATCHDOG
from machine import UART, WDT, Pin

RELAY_PINS = (2, 3, 4, 5)
DOOR_PINS = (6, 7, 8, 9)
TAMPER_PIN = 10
POWER_PIN = 11
RELAY_ACTIVE_HIGH = False
WATCHDOG_MS = 2000
LOOP_SLEEP_MS = 2


def main() -> None:
    # Drive every relay pin to its off level before anything else can fail.
    off = 0 if RELAY_ACTIVE_HIGH else 1
    relays = [Pin(n, Pin.OUT, value=off) for n in RELAY_PINS]
    doors = [Pin(n, Pin.IN, Pin.PULL_UP) for n in DOOR_PINS]
    uart = UART(0, baudrate=115200, bits=8, parity=None, stop=1, tx=Pin(0), rx=Pin(1), rxbuf=512)
    cause = RESET_WATCHDOG if machine.reset_cause() == machine.WDT_RESET else RESET_POWER_ON
    wdt = WDT(timeout=WATCHDOG_MS)
    controller = LockController(
        relays,
        doors,
        uart,
        wdt,
        time,
        tamper=Pin(TAMPER_PIN, Pin.IN, Pin.PULL_UP),
        power=Pin(POWER_PIN, Pin.IN, Pin.PULL_UP),
        relay_active_high=RELAY_ACTIVE_HIGH,
        reset_cause=cause,
    )
    while True:
        controller.step()  # feeds the watchdog at the end of each full pass
        time.sleep_ms(LOOP_SLEEP_MS)


main()
