"""Write the OpenAPI document of the app's routes (``chalicelib/openapi.py``) to ``openapi.json``: ``make openapi``."""

import json
import sys
from pathlib import Path

from app import app
from chalicelib.openapi import build

PATH = Path(__file__).resolve().parent.parent / "openapi.json"


def document() -> dict:
    return build(app.routes)


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    PATH.write_text(render())
    print(f"wrote {PATH.name}")
    sys.exit(0)
