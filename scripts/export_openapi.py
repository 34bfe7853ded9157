#!/usr/bin/env python3
"""Write the app's OpenAPI document to openapi/openapi.json (a test fails when it is out of date).

    .venv/bin/python scripts/export_openapi.py          # rewrite the file
    .venv/bin/python scripts/export_openapi.py --check  # exit 1 if the file is out of date
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "openapi.json"


def current_spec_text() -> str:
    os.environ.setdefault("GONOGO_WARM_UP_MODELS", "false")
    sys.path.insert(0, str(ROOT))
    from service.app import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = current_spec_text()
    if "--check" in argv:
        if not SPEC.exists() or SPEC.read_text(encoding="utf-8") != text:
            print(f"{SPEC.relative_to(ROOT)} is out of date: run scripts/export_openapi.py", file=sys.stderr)
            return 1
        return 0
    SPEC.parent.mkdir(exist_ok=True)
    SPEC.write_text(text, encoding="utf-8")
    print(f"wrote {SPEC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
