"""``torch.distributed.device_mesh``: ``DeviceMesh`` and ``init_device_mesh`` over ember's
process groups.

A mesh lays the ranks out as an n-dimensional array; along each dimension, the ranks that differ
only in that coordinate form one process group (made with ``new_group``, so every rank of the
world must build the mesh, in the same order). A 2x2 mesh of ranks [[0, 1], [2, 3]] has the
dimension-0 groups [0, 2] and [1, 3] and the dimension-1 groups [0, 1] and [2, 3].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..ops.creation import from_numpy
from ..tensor import Tensor
from .process_group import (
    ProcessGroup,
    _default_pg,
    get_default_backend_for_device,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    init_process_group,
    is_initialized,
    new_group,
)

__all__ = ["DeviceMesh", "init_device_mesh"]


def _check_device_type(device_type: str) -> None:
    if ":" in str(device_type):
        raise RuntimeError(
            f"Device type with index is not supported but got {device_type}. ",
            "If you maintained a 'torch.device' object, it's recommended to pass in 'device.type'.",
        )


def _check_names(names: Sequence[str] | None, ndim: int) -> tuple[str, ...] | None:
    if names is None:
        return None
    names = tuple(names)
    if len(names) != ndim:
        raise RuntimeError(
            "mesh_shape and mesh_dim_names should have same length! "
            f"Found len(mesh_dim_names): {len(names)} and len(mesh_shape):{ndim}."
        )
    if len(set(names)) != len(names):
        raise RuntimeError(
            "Each mesh_dim_name must be unique. "
            f"Found repeated mesh_dim_name in mesh_dim_names {names}"
        )
    return names


def _ensure_world(device_type: str) -> None:
    """As torch: building a mesh before init_process_group initializes the default group."""
    if not is_initialized():
        init_process_group(get_default_backend_for_device(device_type))


class DeviceMesh:
    """An n-dimensional layout of ranks with one process group per dimension, as torch's.

    ``DeviceMesh(device_type, mesh, *, mesh_dim_names=None)``: ``mesh`` is a nested list, array
    or tensor of global ranks. ``mesh.mesh`` is that layout as an int32 tensor; ``mesh["dp"]``
    (or several names) is the sub-mesh through this rank along those dimensions, reusing the
    parent's groups. A dimension whose group spans the whole world uses the default group, so
    no group is created for it (as torch).
    """

    def __init__(
        self,
        device_type: str,
        mesh,
        *,
        mesh_dim_names: Sequence[str] | None = None,
        backend_override=None,
        _init_backend: bool = True,
        _groups: list[ProcessGroup] | None = None,
    ) -> None:
        _check_device_type(device_type)
        if isinstance(mesh, Tensor):
            mesh = mesh.numpy()
        ranks = np.array(mesh, dtype=np.int64)
        if ranks.ndim == 0:
            raise ValueError("DeviceMesh needs at least one dimension of ranks")
        if len(np.unique(ranks)) != ranks.size or (ranks.size and ranks.min() < 0):
            raise RuntimeError(f"DeviceMesh cannot have duplicate or negative values: {mesh}")
        self.device_type = str(device_type)
        self._ranks = ranks
        self._names = _check_names(mesh_dim_names, ranks.ndim)
        _ensure_world(self.device_type)
        world = get_world_size()
        if ranks.size > world or (ranks.size and ranks.max() >= world):
            raise RuntimeError(
                f"Mesh should not be bigger than default world size {world}, "
                f"but found {ranks.size} ranks!"
            )
        self._rank = get_rank()
        hit = np.argwhere(ranks == self._rank)
        self._coordinate = tuple(int(c) for c in hit[0]) if len(hit) else None
        if _groups is not None:
            self._groups = list(_groups)
        elif _init_backend:
            self._groups = self._make_groups(world)
        else:
            self._groups = []

    def _make_groups(self, world: int) -> list:
        """One group per dimension for this rank: every rank takes part in every new_group."""
        mine = []
        for dim in range(self._ranks.ndim):
            rows = np.moveaxis(self._ranks, dim, -1).reshape(-1, self._ranks.shape[dim])
            found = None
            for row in rows.tolist():
                if len(row) == world and sorted(row) == list(range(world)):
                    grp = _default_pg()  # the whole world along this dimension
                else:
                    grp = new_group(ranks=row)
                if self._rank in row:
                    found = grp
            mine.append(found)
        return mine

    # -- layout --------------------------------------------------------------------------
    @property
    def mesh(self) -> Tensor:
        """The global ranks, laid out in the mesh's shape (int32, as torch)."""
        return from_numpy(self._ranks.astype(np.int32))

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each mesh dimension."""
        return tuple(int(s) for s in self._ranks.shape)

    @property
    def ndim(self) -> int:
        """Number of mesh dimensions."""
        return self._ranks.ndim

    @property
    def mesh_dim_names(self) -> tuple[str, ...] | None:
        """The dimension names, or None."""
        return self._names

    def _dim(self, mesh_dim: int | str) -> int:
        if isinstance(mesh_dim, str):
            if self._names is None or mesh_dim not in self._names:
                raise KeyError(
                    f"Mesh dimension '{mesh_dim}' does not exist. "
                    f"Available mesh dimensions are: mesh_dim_names={self._names}"
                )
            return self._names.index(mesh_dim)
        return int(mesh_dim)

    def size(self, mesh_dim: int | str | None = None) -> int:
        """Number of ranks in the mesh, or along one dimension."""
        if mesh_dim is None:
            return int(self._ranks.size)
        return int(self._ranks.shape[self._dim(mesh_dim)])

    # -- this rank -------------------------------------------------------------------------
    def get_rank(self) -> int:
        """This process's global rank."""
        return self._rank

    def get_coordinate(self) -> tuple[int, ...] | None:
        """This rank's index in the mesh, or None when the mesh does not hold it."""
        return self._coordinate

    def _need_dim(self, mesh_dim: int | str | None, extra: tuple[str, ...] = ()) -> int:
        if mesh_dim is None:
            if self.ndim > 1:
                raise RuntimeError(
                    f"Found the DeviceMesh have {self.ndim} dimensions",
                    "Optional kwarg `mesh_dim` needs to be specified when device_mesh.ndim > 1.",
                    *extra,
                )
            return 0
        return self._dim(mesh_dim)

    def get_group(self, mesh_dim: int | str | None = None) -> ProcessGroup:
        """This rank's process group along ``mesh_dim`` (optional on a 1-D mesh)."""
        dim = self._need_dim(
            mesh_dim,
            (
                "If you want to get the list of all the ProcessGroups in the DeviceMesh,"
                "please use `get_all_groups()` instead.",
            ),
        )
        return self._groups[dim]

    def get_all_groups(self) -> list[ProcessGroup]:
        """This rank's group along every dimension, in dimension order."""
        return list(self._groups)

    def get_local_rank(self, mesh_dim: int | str | None = None) -> int:
        """This rank's index along ``mesh_dim`` (its rank in that dimension's group)."""
        dim = self._need_dim(mesh_dim)
        if self._coordinate is None:
            raise RuntimeError(f"rank {self._rank} is not part of {self!r}")
        return self._coordinate[dim]

    # -- slicing --------------------------------------------------------------------------
    def __getitem__(self, names: str | Sequence[str]) -> DeviceMesh:
        """The sub-mesh along the named dimensions that contains this rank."""
        if self._names is None:
            raise RuntimeError("Cannot slice a DeviceMesh without mesh_dim_names!")
        wanted = (names,) if isinstance(names, str) else tuple(names)
        if not wanted or any(n not in self._names for n in wanted):
            raise KeyError(
                f"Invalid mesh_dim_names {wanted} specified. "
                f"Valid mesh_dim_names are {list(self._names)}."
            )
        if wanted == self._names:
            return self
        if self._coordinate is None:
            raise RuntimeError(f"rank {self._rank} is not part of {self!r}")
        dims = [self._names.index(n) for n in wanted]
        if dims != sorted(dims) and any(self._ranks.shape[d] > 1 for d in dims):
            # torch keeps the parent's dimension order (it cannot lay a transposed slice out)
            raise KeyError(
                f"Invalid mesh_dim_names {wanted} specified. "
                "Mesh dim indices should be in ascending order."
            )
        index = tuple(slice(None) if d in dims else self._coordinate[d] for d in range(self.ndim))
        kept = [d for d in range(self.ndim) if d in dims]  # the order they survive indexing
        sub = np.transpose(self._ranks[index], [kept.index(d) for d in dims])
        return DeviceMesh(
            self.device_type,
            sub,
            mesh_dim_names=wanted,
            _groups=[self._groups[d] for d in dims],
        )

    @classmethod
    def from_group(
        cls,
        group: ProcessGroup | list[ProcessGroup],
        device_type: str,
        mesh=None,
        *,
        mesh_dim_names: Sequence[str] | None = None,
    ) -> DeviceMesh:
        """A mesh over existing group(s): 1-D from one group, or n-D given ``mesh``."""
        groups = [group] if isinstance(group, ProcessGroup) else list(group)
        if mesh is None:
            if len(groups) != 1:
                raise ValueError("Expects mesh to be specified if passing in a list of groups")
            mesh = get_process_group_ranks(groups[0])
        return cls(device_type, mesh, mesh_dim_names=mesh_dim_names, _groups=groups)

    # -- identity ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        if self._names is not None:
            dims = ", ".join(f"{n}={s}" for n, s in zip(self._names, self.shape, strict=True))
        else:
            dims = ", ".join(str(s) for s in self.shape) + ("," if self.ndim == 1 else "")
        # the rank step along each dimension (a slice keeps its parent's); torch writes a
        # size-1 dimension's stride as ()
        text = [
            "()"
            if size == 1
            else str(int(np.take(self._ranks, 1, d).flat[0] - np.take(self._ranks, 0, d).flat[0]))
            for d, size in enumerate(self.shape)
        ]
        stride = "(" + ", ".join(text) + ("," if self.ndim == 1 else "") + ")"
        return f"DeviceMesh(({dims}), '{self.device_type}', stride={stride})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeviceMesh):
            return NotImplemented
        return (
            self.device_type == other.device_type
            and self._names == other._names
            and np.array_equal(self._ranks, other._ranks)
        )

    def __hash__(self) -> int:
        return hash((self.device_type, self._names, self.shape, tuple(self._ranks.ravel())))


def init_device_mesh(
    device_type: str,
    mesh_shape: tuple[int, ...],
    *,
    mesh_dim_names: tuple[str, ...] | None = None,
    backend_override=None,
) -> DeviceMesh:
    """A mesh of ranks 0..prod(mesh_shape)-1 in row-major order, with its groups.

    As torch: initializes the default process group if needed, and every rank must call it.
    ``backend_override`` is accepted; ember picks the backend from the device type.
    """
    _check_device_type(device_type)
    shape = tuple(int(s) for s in mesh_shape)
    names = _check_names(mesh_dim_names, len(shape))
    _ensure_world(device_type)
    layout = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return DeviceMesh(device_type, layout, mesh_dim_names=names)
