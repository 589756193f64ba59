"""torch.linalg: decompositions, solvers, norms and matrix functions with torch's signatures.

Imported on first use of ``ember.linalg`` (it is not needed by ``import ember``).
"""

from ..ops.linalg import matmul
from ..ops.linalg_decomp import (
    LinAlgError,
    cholesky_ex,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    householder_product,
    inv,
    inv_ex,
    lstsq,
    lu_factor,
    lu_factor_ex,
    matrix_rank,
    pinv,
    solve,
    solve_ex,
    solve_triangular,
    svdvals,
)
from ..ops.linalg_decomp import det as det
from ..ops.linalg_decomp import linalg_cholesky as cholesky
from ..ops.linalg_decomp import linalg_lu as lu
from ..ops.linalg_decomp import linalg_qr as qr
from ..ops.linalg_decomp import linalg_slogdet as slogdet
from ..ops.linalg_decomp import linalg_svd as svd
from ..ops.linalg_decomp import lu_solve_linalg as lu_solve
from ..ops.linalg_func import (
    cond,
    cross,
    diagonal,
    matrix_exp,
    matrix_norm,
    matrix_power,
    multi_dot,
    norm,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
    vector_norm,
)
from ..ops.linalg_ldl import ldl_factor, ldl_factor_ex, ldl_solve

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "householder_product",
    "inv",
    "inv_ex",
    "ldl_factor",
    "ldl_factor_ex",
    "ldl_solve",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matmul",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]
