"""A PyTorch training script using the training utilities (packed sequences, checkpointing,
weight_norm, pruning) runs unchanged under `ember run` and learns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import ember

SCRIPT = textwrap.dedent(
    """
    import json
    import torch
    import torch.nn as nn
    import torch.nn.utils.prune as prune
    from torch.nn.utils.parametrizations import weight_norm
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    from torch.utils.checkpoint import checkpoint

    torch.manual_seed(0)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 8, padding_idx=0)
            self.rnn = nn.LSTM(8, 16, batch_first=True, bidirectional=True)
            self.head = weight_norm(nn.Linear(32, 2))

        def forward(self, tokens, lengths):
            x = self.emb(tokens)
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, (h, c) = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True)
            feats = torch.cat([h[0], h[1]], dim=1)
            return checkpoint(self.head, feats, use_reentrant=False)

    model = Tagger()
    prune.l1_unstructured(model.emb, "weight", amount=0.1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(1)
    lengths = torch.randint(2, 7, (16,), generator=g)
    tokens = torch.randint(1, 10, (16, 6), generator=g)
    tokens[torch.arange(6)[None, :] >= lengths[:, None]] = 0
    labels = (tokens == 3).any(1).long()
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(tokens, lengths), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    keys = sorted(model.state_dict())
    print("RESULT " + json.dumps({"first": losses[0], "last": losses[-1], "keys": keys}))
    """
)


def test_script_runs_under_ember_run(tmp_path):
    path = tmp_path / "tagger.py"
    path.write_text(SCRIPT)
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(ember.__file__))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    info = json.loads(line[len("RESULT ") :])
    assert info["last"] < 0.5 * info["first"]
    assert "emb.weight_orig" in info["keys"] and "emb.weight_mask" in info["keys"]
    assert "head.parametrizations.weight.original0" in info["keys"]
