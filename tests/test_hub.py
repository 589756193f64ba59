"""torch.hub: the hub folder (TORCH_HOME, set_dir), checkpoints from URLs (downloaded once into
<hub>/checkpoints, hash-checked; a file:// URL stands in for the network) and a hubconf.py's
entry points (list, help, load), against torch where it runs offline."""

from __future__ import annotations

import hashlib
import textwrap

import pytest

import ember
import ember.hub as hub
from tests._support.torch_ref import torch


@pytest.fixture(autouse=True)
def _own_hub(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(hub, "_hub_dir", [None])


def test_hub_dir_follows_torch_home_and_set_dir(tmp_path, monkeypatch):
    import torch.hub as thub

    monkeypatch.setattr(thub, "_hub_dir", None)
    assert hub.get_dir() == thub.get_dir() == str(tmp_path / "home" / "hub")
    hub.set_dir(tmp_path / "elsewhere")
    assert hub.get_dir() == str(tmp_path / "elsewhere")


def test_checkpoint_from_a_url_is_cached_and_hash_checked(tmp_path):
    src = tmp_path / "weights.pt"
    torch.save({"w": torch.arange(3.0)}, src)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    named = tmp_path / f"model-{digest[:8]}.pt"
    named.write_bytes(src.read_bytes())
    sd = hub.load_state_dict_from_url(named.as_uri(), check_hash=True, progress=False)
    assert sd["w"].tolist() == [0.0, 1.0, 2.0]
    cached = tmp_path / "home" / "hub" / "checkpoints" / named.name
    assert cached.exists()
    named.unlink()  # a second call reads the cache
    assert hub.load_state_dict_from_url(named.as_uri(), progress=False)["w"].tolist()[2] == 2.0
    bad = tmp_path / "model-deadbeef.pt"
    bad.write_bytes(src.read_bytes())
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(bad.as_uri(), check_hash=True, progress=False)


def test_download_without_network_names_the_file(tmp_path):
    with pytest.raises(RuntimeError, match="put it at"):
        hub.download_url_to_file((tmp_path / "absent.bin").as_uri(), str(tmp_path / "x.bin"))


def _repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "layers.py").write_text("import torch\n\ndef width():\n    return 3\n")
    (repo / "hubconf.py").write_text(
        textwrap.dedent(
            '''
            dependencies = ["torch"]
            from layers import width

            def tiny(out_features=2):
                """A linear layer of the hub."""
                import torch
                return torch.nn.Linear(width(), out_features)

            def _private():
                pass
            '''
        )
    )
    return repo


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_local_hubconf_load(tmp_path, m):
    repo = str(_repo(tmp_path))
    layer = m.hub.load(repo, "tiny", out_features=4, source="local")
    assert type(layer).__name__ == "Linear" and layer.out_features == 4


def test_github_repository_already_in_the_hub_folder(tmp_path):
    (tmp_path / "home" / "hub").mkdir(parents=True)
    _repo(tmp_path).rename(tmp_path / "home" / "hub" / "owner_name_main")
    names = hub.list("owner/name")
    assert "tiny" in names and "_private" not in names
    assert hub.help("owner/name", "tiny") == "A linear layer of the hub."
    assert hub.load("owner/name", "tiny").in_features == 3
    with pytest.raises(RuntimeError, match="owner_name_v2"):
        hub.load("owner/name:v2", "tiny")


def test_hubconf_errors(tmp_path):
    repo = str(_repo(tmp_path))
    with pytest.raises(RuntimeError, match="Cannot find callable nope in hubconf"):
        hub.load(repo, "nope", source="local")
    with pytest.raises(ValueError, match="Unknown source"):
        hub.load(repo, "tiny", source="ftp")
    with pytest.raises(RuntimeError, match="ember downloads no hub repositories"):
        hub.load("someone/somerepo", "tiny")
    (tmp_path / "repo" / "hubconf.py").write_text("dependencies = ['no_such_module_x']\n")
    with pytest.raises(RuntimeError, match="Missing dependencies: no_such_module_x"):
        hub.load(repo, "tiny", source="local")
