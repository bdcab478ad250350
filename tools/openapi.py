"""Write the OpenAPI document (``chalicelib/openapi.py``) to ``openapi.json``: ``make openapi``."""

import json
import sys
from pathlib import Path

from chalicelib.openapi import build

PATH = Path(__file__).resolve().parent.parent / "openapi.json"


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    PATH.write_text(render())
    print(f"wrote {PATH.name}")
    sys.exit(0)
