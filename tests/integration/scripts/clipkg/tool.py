"""Run with `ember run -m clipkg.tool`: reports argv, __name__ and the torch it sees."""

import json
import sys

import torch.nn as nn

if __name__ == "__main__":
    print(
        "RESULT "
        + json.dumps({"argv": sys.argv, "name": __name__, "pkg": __package__, "nn": nn.__name__})
    )
    if "--fail" in sys.argv:
        raise RuntimeError("module failure")
