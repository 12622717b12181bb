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


def isa_fixture(isas: list[str], missing: str):
    """A fixture that runs its test once per instruction set of ``isas`` (restoring the active
    one afterwards), or skips it with ``missing`` as the reason when ``isas`` is empty."""
    params = isas or [pytest.param(None, marks=pytest.mark.skip(reason=missing))]

    @pytest.fixture(params=params)
    def fixture(request):
        before = _core.isa_info()["active"]
        _core.set_isa(request.param)
        yield request.param
        _core.set_isa(before)

    return fixture


#: Runs the test once per instruction set this CPU supports.
isa = isa_fixture(SUPPORTED_ISAS, "no instruction set is supported")
