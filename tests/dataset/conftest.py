import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import synthdata  # noqa: E402


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory):
    """A 4-frame 96x72 dataset (read-only: tests must not modify it)."""
    return synthdata.make_dataset(tmp_path_factory.mktemp("synth") / "ds", frames=4, W=96, H=72)
