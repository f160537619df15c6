"""scene.objects[].keypoint_flip and .skeleton: pairs of keypoint names or indices of their entry,
checked when the config is loaded (``synthblend check`` exits 2 with one line per problem)."""
import pytest

from conftest import write_config
from synthblend.core.config import load_config
from synthblend.core.errors import ConfigError, ConfigErrors

KP = {"nose": [0, 0, 1], "left_eye": [-1, 0, 1], "right_eye": [1, 0, 1]}


def _cfg(**entry):
    return {"frames": 1, "render": {"outputs": ["rgb", "instance", "keypoints"]},
            "scene": {"objects": [{"primitive": "monkey", "keypoints": KP, **entry}]}}


def _errors(tmp_path, cfg) -> list[str]:
    with pytest.raises((ConfigError, ConfigErrors)) as ei:
        load_config(write_config(tmp_path / "c.yaml", cfg))
    e = ei.value
    return [x.line() for x in (e.errors if isinstance(e, ConfigErrors) else [e])]


def test_pairs_by_name_or_index(tmp_path):
    c = load_config(write_config(tmp_path / "c.yaml", _cfg(keypoint_flip=[["left_eye", 2]],
                                                           skeleton=[[0, "left_eye"], ["nose", "right_eye"]])))
    o = c.parsed["scene"]["objects"][0]
    assert o["keypoint_flip"] == (("left_eye", 2),) and o["skeleton"] == ((0, "left_eye"), ("nose", "right_eye"))
    assert c.data["scene"]["objects"][0]["keypoint_flip"] == [["left_eye", 2]]   # dataset.json keeps them
    d = load_config(write_config(tmp_path / "d.yaml", _cfg()))
    assert d.parsed["scene"]["objects"][0]["keypoint_flip"] is None               # default: no swaps


@pytest.mark.parametrize("entry, key, what", [
    ({"keypoint_flip": [["left_eye", "ear"]]}, "keypoint_flip", "no keypoint named 'ear'"),
    ({"keypoint_flip": [["left_eye", "right_eye"], ["nose", "left_eye"]]}, "keypoint_flip", "one other keypoint"),
    ({"keypoint_flip": [["nose", "nose"]]}, "keypoint_flip", "one other keypoint"),
    ({"skeleton": [[0, 3]]}, "skeleton", "index 3 out of range"),
    ({"skeleton": [[0]]}, "skeleton", "each pair must be [a, b]"),
    ({"skeleton": "nose-eye"}, "skeleton", "expected a list"),
    ({"skeleton": [[True, 1]]}, "skeleton", "each pair must be [a, b]"),
])
def test_bad_pairs(tmp_path, entry, key, what):
    lines = _errors(tmp_path, _cfg(**entry))
    assert len(lines) == 1 and f"scene.objects[0].{key}: " in lines[0] and what in lines[0], lines


def test_pairs_need_keypoints(tmp_path):
    cfg = _cfg()
    cfg["scene"]["objects"].append({"primitive": "cube", "skeleton": [[0, 1]]})
    (line,) = _errors(tmp_path, cfg)
    assert "scene.objects[1].skeleton: needs keypoints on the same entry" in line
