"""`ember run` resolves torchvision (and its submodules) to ember.vision, in workers too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import ember
import ember.vision
from ember import _torch_alias

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__)))


def _ember_run(tmp_path, source: str) -> dict:
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(source))
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(script)],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def test_torchvision_modules_resolve_to_ember_vision_in_workers(tmp_path):
    info = _ember_run(
        tmp_path,
        """
        import json
        import sys
        import torch

        lazy = ["ember.vision" in sys.modules, "PIL" in sys.modules]  # import torch: neither yet
        import torchvision
        import torchvision.transforms as T
        import torchvision.transforms.functional as TF
        import torchvision.transforms.v2 as v2
        from torchvision import datasets, io, utils
        from torchvision.datasets import FakeData
        from torch.utils.data import DataLoader

        class Probe(torch.utils.data.Dataset):
            def __len__(self):
                return 4
            def __getitem__(self, i):
                # a spawned worker starts a fresh interpreter: torchvision must resolve there too
                import torchvision.transforms
                return torch.tensor(len(torchvision.transforms.__name__))

        if __name__ == "__main__":
            ds = FakeData(size=4, image_size=(3, 8, 8), transform=T.ToTensor())
            loader = DataLoader(ds, batch_size=2)
            shapes = [list(x.shape) for x, _ in loader]
            probe = DataLoader(
                Probe(), batch_size=4, num_workers=1, multiprocessing_context="spawn"
            )
            names = [int(v) for v in next(iter(probe))]
            try:
                torchvision.not_a_module.thing
            except NotImplementedError as e:
                missing = str(e)
            print("RESULT " + json.dumps({
                "tv": torchvision.__name__, "T": T.__name__, "TF": TF.__name__, "v2": v2.__name__,
                "same": T is __import__("ember.vision.transforms").vision.transforms,
                "mods": [datasets.__name__, io.__name__, utils.__name__],
                "shapes": shapes, "worker_names": names, "missing": missing, "lazy": lazy,
            }))
        """,
    )
    assert info["tv"] == "ember.vision" and info["T"] == "ember.vision.transforms"
    assert info["TF"] == "ember.vision.transforms.functional"
    assert info["v2"] == "ember.vision.transforms.v2" and info["same"]
    assert info["mods"] == ["ember.vision.datasets", "ember.vision.io", "ember.vision.utils"]
    assert info["shapes"] == [[2, 3, 8, 8], [2, 3, 8, 8]]
    assert info["worker_names"] == [len("ember.vision.transforms")] * 4
    assert "torchvision.not_a_module" in info["missing"]
    assert info["lazy"] == [False, False]


def test_import_as_torchvision_and_lazy_attribute():
    import ember.vision as torchvision

    assert torchvision.transforms.ToTensor and torchvision.datasets.MNIST
    assert ember.vision is torchvision and torchvision.get_image_backend() == "PIL"
    assert torchvision.__version__.startswith("0.29")


def test_alias_names_and_uninstall_cleanup():
    assert _torch_alias._ember_name("torchvision.io") == "ember.vision.io"
    assert _torch_alias._ember_name("torchvisionx") is None
    assert _torch_alias._torch_name("ember.vision.ops") == "torchvision.ops"
    assert _torch_alias._torch_name("ember.nn") == "torch.nn"
