"""Run under `mpiexec -n 2`: a failure on one rank must end the whole job, not hang it.

Modes: ``raise`` (rank 1 raises while rank 0 waits in all_reduce), ``timeout`` (rank 1 never
joins the collective; rank 0's all_reduce gives up after the process group's timeout).
"""

from __future__ import annotations

import sys
import time

import ember
import ember.distributed as dist


def main() -> None:
    """Trigger the requested failure."""
    mode = sys.argv[1]
    dist.init_process_group("mpi", timeout=2.0 if mode == "timeout" else None)
    r = dist.get_rank()
    dist.barrier()
    if r == 1:
        if mode == "raise":
            raise ValueError("boom on rank 1 (intentional test failure)")
        time.sleep(60)  # stuck: never reaches the collective
    x = ember.ones(4)
    dist.all_reduce(x)
    print("unreachable: all_reduce completed", flush=True)


if __name__ == "__main__":
    main()
