"""A training script's compiler settings under `ember run`: torch._dynamo and torch._inductor."""

import json

import torch
import torch._dynamo

torch._dynamo.config.suppress_errors = True
torch._dynamo.config.cache_size_limit = 64
torch._inductor.config.triton.unique_kernel_names = False
torch._dynamo.reset()


@torch._dynamo.disable(recursive=False)
def double(x):
    return x * 2


model = torch.compile(torch.nn.Linear(2, 1))
out = {
    "dynamo_module": torch._dynamo.__name__,
    "suppress_errors": torch._dynamo.config.suppress_errors,
    "cache_size_limit": torch._dynamo.config.cache_size_limit,
    "unique_kernel_names": torch._inductor.config.triton.unique_kernel_names,
    "is_compiling": torch._dynamo.is_compiling(),
    "double": double(torch.ones(2)).tolist(),
    "model_is_linear": isinstance(model, torch.nn.Linear),
    "utils": torch._utils.__name__,
}
print("RESULT " + json.dumps(out))
