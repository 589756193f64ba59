"""torch.distributed.elastic names that training scripts import (ember jobs run under mpiexec)."""
