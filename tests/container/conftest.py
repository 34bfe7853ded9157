"""Prints what the container test measured (image size, build time, time to ready) after the run."""

from __future__ import annotations

import sys
from pathlib import Path

TEST_MODULE = Path(__file__).with_name("test_image.py")


def pytest_terminal_summary(terminalreporter):
    # The test module as pytest imported it (its name depends on the import mode).
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) and Path(module.__file__) == TEST_MODULE and module.MEASURED:
            terminalreporter.section("container image")
            for what, value in module.MEASURED.items():
                terminalreporter.write_line(f"{what}: {value}")
            return
