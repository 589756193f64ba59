"""Imports each torch.* module named on the command line and reports what it resolved to."""

import importlib
import json
import sys

results = {}
for name in sys.argv[1:]:
    mod = importlib.import_module(name)
    ember_name = "ember" + name[len("torch") :]
    results[name] = {
        "same_object": sys.modules.get(ember_name) is mod and sys.modules[name] is mod,
        "module_name": mod.__name__,
    }
print("RESULT " + json.dumps(results))
