"""A WeChat Pay merchant and platform for the tests: RSA keys made once, the emulator that knows the merchant,
and the settings a retailer enters to use it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from cloud_stub.payments.emulators.wechatpay import MerchantAccount, WeChatPayEmulator

MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_SERIAL = "PUB_KEY_ID_0119000091912025010100000001"
APIV3_KEY = "k3Y9aV2mQ8zL5xR1tB7nC4wE6uH0jP2s"  # 32 characters, as the merchant platform asks
SECRET_KEY_HEX = "7f" * 32
# The notification schedule: the documented one runs from 15 s to hours; the tests' from milliseconds.
RETRIES_S = (0.01, 0.01, 0.02, 0.05, 0.1)


@cache
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """The merchant's, the platform's and a stranger's RSA 2048 keys (made once per test run)."""
    made = tuple(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3))
    return made[0], made[1], made[2]


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def merchant_settings(base_url: str, **changes: str) -> dict[str, str]:
    """What the retailer enters on the console or PUTs to the API."""
    merchant, platform, _ = keys()
    return {
        "provider": "wechatpay",
        "mchid": MCHID,
        "appid": APPID,
        "serial_no": SERIAL,
        "platform_serial": PLATFORM_SERIAL,
        "platform_public_key": public_pem(platform),
        "base_url": base_url,
        "private_key": private_pem(merchant),
        "apiv3_key": APIV3_KEY,
        **changes,
    }


def emulator(now: Callable[[], float] | None = None) -> WeChatPayEmulator:
    merchant, platform, _ = keys()
    kwargs = {"now": now} if now is not None else {}
    made = WeChatPayEmulator(platform, PLATFORM_SERIAL, retries_s=RETRIES_S, **kwargs)
    made.add_merchant(MerchantAccount(MCHID, APPID, SERIAL, merchant.public_key(), APIV3_KEY.encode()))
    return made
