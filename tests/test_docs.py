"""The README's config reference is generated from the schema: it lists every key the loader accepts."""
from pathlib import Path

from synthblend.core.schema_doc import markdown, rows

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_config_reference_is_current():
    text = README.read_text()
    start, end = "<!-- config-reference:start -->", "<!-- config-reference:end -->"
    block = text[text.index(start) + len(start):text.index(end)].strip()
    assert block == markdown().strip(), "run: python scripts/gen_config_reference.py --write"


def test_every_contract_key_is_documented():
    keys = {k.replace(" ", "") for k, *_ in rows()}
    for k in ("seed", "frames", "render.resolution", "render.samples", "render.denoise", "render.device",
              "render.outputs", "scene.objects[].mesh", "scene.objects[].primitive", "scene.objects[].count",
              "scene.objects[].scale", "scene.objects[].position", "scene.objects[].rotation", "scene.ground.size",
              "camera.look_at", "camera.distance", "camera.elevation_deg", "camera.azimuth_deg",
              "camera.focal_length_mm", "camera.sensor_width_mm", "lighting.count", "lighting.type",
              "lighting.power_w", "lighting.color_temperature_k", "lighting.world_strength"):
        assert k in keys, k
