"""ember.utils.data: datasets, samplers and the DataLoader, as ``torch.utils.data``."""

from ..._torch_alias import module_getattr as _module_getattr
from ._utils.fetch import _DatasetKind  # noqa: F401
from .dataloader import (  # noqa: F401
    DataLoader,
    default_collate,
    default_convert,
    get_worker_info,  # noqa: F401
)
from .dataset import (  # noqa: F401
    ChainDataset,
    ConcatDataset,
    Dataset,
    GatheredBatch,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler  # noqa: F401
from .sampler import (  # noqa: F401
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
