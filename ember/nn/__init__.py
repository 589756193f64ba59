"""ember.nn: modules, functional, init, Parameter and utils, as ``torch.nn``."""

# ruff: noqa: F401, F811  (a namespace: every import is a re-export; _fill_core_gaps's local
# dropout shadows the dropout layer file's name)
from __future__ import annotations

from . import functional, init, parallel, utils

# the layer classes, and the layer files as ember.nn.<file> (as the old star import made them)
from .modules import (
    CELU,
    ELU,
    GELU,
    GLU,
    GRU,
    LSTM,
    RNN,
    SELU,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AlphaDropout,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    BCELoss,
    BCEWithLogitsLoss,
    Bilinear,
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    CosineEmbeddingLoss,
    CosineSimilarity,
    CrossEntropyLoss,
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    Embedding,
    EmbeddingBag,
    FeatureAlphaDropout,
    Flatten,
    Fold,
    GaussianNLLLoss,
    GroupNorm,
    GRUCell,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    HingeEmbeddingLoss,
    HuberLoss,
    Identity,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    KLDivLoss,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LocalResponseNorm,
    LogSigmoid,
    LogSoftmax,
    LPPool1d,
    LPPool2d,
    LSTMCell,
    MarginRankingLoss,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
    Mish,
    Module,
    ModuleDict,
    ModuleList,
    MSELoss,
    MultiheadAttention,
    MultiLabelSoftMarginLoss,
    NLLLoss,
    NonDynamicallyQuantizableLinear,
    PairwiseDistance,
    ParameterDict,
    ParameterList,
    PixelShuffle,
    PixelUnshuffle,
    PoissonNLLLoss,
    PReLU,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReLU,
    ReLU6,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    RMSNorm,
    RNNBase,
    RNNCell,
    RNNCellBase,
    RReLU,
    Sequential,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    SoftMarginLoss,
    Softmax,
    Softmax2d,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    SyncBatchNorm,
    Tanh,
    Tanhshrink,
    Threshold,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    TripletMarginLoss,
    Unflatten,
    Unfold,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
    activation,
    batchnorm,
    container,
    conv,
    distance,
    dropout,
    flatten,
    fold,
    instancenorm,
    linear,
    loss,
    module,
    normalization,
    padding,
    pixelshuffle,
    pooling,
    rnn,
    sparse,
    transformer,
    upsampling,
)
from .modules.module import register_module_forward_hook, register_module_forward_pre_hook
from .parallel import DataParallel, DistributedDataParallel
from .parameter import Buffer, Parameter
from .parameter import Parameter as UninitializedParameter


def _fill_core_gaps() -> None:
    """torch.softmax / log_softmax / dropout and Tensor.softmax / log_softmax route to
    nn.functional; installed only where the core namespace does not define them yet."""
    import ember as _ember

    from ..tensor import Tensor as _T
    from .functional import dropout as _dropout
    from .functional import log_softmax as _log_softmax
    from .functional import softmax as _softmax

    def softmax(input, dim, dtype=None):
        """Softmax along dim."""
        return _softmax(input, dim, dtype=dtype)

    def log_softmax(input, dim, dtype=None):
        """Log-softmax along dim."""
        return _log_softmax(input, dim, dtype=dtype)

    def dropout(input, p, train):
        """Dropout (torch.dropout's positional form)."""
        return _dropout(input, p, train)

    names = vars(_ember)
    for name, fn in (("softmax", softmax), ("log_softmax", log_softmax), ("dropout", dropout)):
        if name not in names:
            setattr(_ember, name, fn)
    for name, fn in (("softmax", softmax), ("log_softmax", log_softmax)):
        if name not in vars(_T):
            setattr(_T, name, fn)


_fill_core_gaps()
