from __future__ import annotations

from pathlib import Path

import pytest

from randcnn_fast import _core

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd"


@pytest.fixture
def fsdd() -> Path:
    """The shared Free Spoken Digit Dataset folder, or a skip saying where it was looked for."""
    if not (FSDD / "labels.csv").is_file():
        pytest.skip(f"shared FSDD recordings not found at {FSDD}")
    return FSDD


SUPPORTED_ISAS = _core.isa_info()["supported"]


@pytest.fixture(params=SUPPORTED_ISAS)
def isa(request):
    """Runs the test once per instruction set this CPU supports, restoring the active one."""
    before = _core.isa_info()["active"]
    _core.set_isa(request.param)
    yield request.param
    _core.set_isa(before)
