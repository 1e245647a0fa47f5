"""Settings survive bad input without losing anything; the demo model is real."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from deskml.core.demo import CATEGORICAL, NUMERIC, TARGET, ensure_demo, make_data
from deskml.core.errors import SettingsError
from deskml.core.settings import Settings, load_settings, save_settings, settings_path


def test_settings_round_trip():
    s = Settings(base_image="deskml-base/python:{python}", default_port=8700)
    save_settings(s)
    loaded, warning = load_settings()
    assert warning is None and loaded == s


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", json.dumps({"default_port": 80})])
def test_bad_settings_file_is_kept_aside_and_defaults_used(content):
    path = settings_path()
    path.write_text(content)
    loaded, warning = load_settings()
    assert loaded == Settings()
    assert "could not be read" in warning and ".bad" in warning
    assert path.with_suffix(".json.bad").read_text() == content  # nothing lost
    assert not path.exists()


@pytest.mark.parametrize("bad", [dict(default_port=70000), dict(base_image="nobase"), dict(load_timeout_s=0)])
def test_invalid_values_are_refused_with_a_message(bad):
    with pytest.raises(SettingsError) as err:
        save_settings(Settings(**bad))
    assert err.value.what_to_do


def test_demo_is_deterministic_and_realistic(tmp_path):
    a, b = make_data(), make_data()
    pd.testing.assert_frame_equal(a, b)
    assert set(NUMERIC + CATEGORICAL + [TARGET]) == set(a.columns)
    assert 0.25 < (a[TARGET] == "yes").mean() < 0.8  # both outcomes common
    demo = ensure_demo(tmp_path)
    ref = pd.read_csv(demo.reference)
    assert len(ref) == 600 and list(ref.columns) == list(a.columns)
    import joblib
    model = joblib.load(demo.model)
    accuracy = (model.predict(ref[NUMERIC + CATEGORICAL]) == ref[TARGET]).mean()
    assert accuracy > 0.7  # it learned something real
