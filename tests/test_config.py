from __future__ import annotations

from pathlib import Path

import pytest

from memalign import InputError
from memalign.config import Settings


def test_defaults_file_then_environment(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('model = "openai/gpt-4.1-mini"\nembedder = "hash"\n')
    assert Settings.load(env={"MEMALIGN_CONFIG": str(tmp_path / "none.toml")}).model == "local"
    from_file = Settings.load(file, env={})
    assert (from_file.model, from_file.embedder) == ("openai/gpt-4.1-mini", "hash")
    from_env = Settings.load(file, env={"MEMALIGN_MODEL": "fake"})
    assert (from_env.model, from_env.embedder) == ("fake", "hash")


def test_bad_settings_files_name_the_file_and_key(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('modle = "x"\n')
    with pytest.raises(InputError) as info:
        Settings.load(file, env={})
    assert info.value.field == "modle" and info.value.file == str(file)
    file.write_text("model = \n")
    with pytest.raises(InputError):
        Settings.load(file, env={})
