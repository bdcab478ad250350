"""One login attempt through the sessions service, answered as its HTTP status (login throttle tests)."""

from chalicelib import sessions
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.errors import TooManyRequests, Unauthorized


def attempt(username, password="wrong", source="198.51.100.7", device_token=None):
    try:
        sessions.login(
            store_module.get_store(), get_settings(), "agent", username, password, source, device_token=device_token
        )
    except TooManyRequests:
        return 429
    except Unauthorized:
        return 401
    return 200
