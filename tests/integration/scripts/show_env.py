"""Reports what a script sees under `ember run`: argv, __name__, __file__, sys.path[0], torch."""

import json
import os
import sys

import torch

info = {
    "argv": sys.argv,
    "name": __name__,
    "file": os.path.abspath(__file__),
    "path0": sys.path[0],
    "torch_module": torch.__name__,
    "torch_is_ember": torch is sys.modules.get("ember"),
    "version": str(torch.__version__),
    "version_ge_2": bool(torch.__version__ >= "2.0"),
    "version_ge_tuple": bool(torch.__version__ >= (2, 1)),
    "tensor_sum": float(torch.tensor([1.0, 2.0, 3.0]).sum()),
}
if __name__ == "__main__":
    print("RESULT " + json.dumps(info))
