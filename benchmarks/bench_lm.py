"""Language-model training throughput, ember vs torch: (a) a nanoGPT-shaped character model
(4 layers, 4 heads, width 128, block 64, batch 12, AdamW, dropout 0.1, exact GELU, weight tying,
gradient clipping), (b) the word-language-model LSTM (embedding 200, 2 x 200 LSTM, vocabulary
10k, sequence 35, batch 20, SGD, gradient clipping), (c) a BERT-base-shaped encoder scaled to the
CPU (4 layers, width 256, 4 heads, FFN 1024, sequence 128, batch 8, vocabulary 8192, padding
mask, sequence classification, AdamW) and (d) ``nn.TransformerEncoder`` of four
``TransformerEncoderLayer(256, 4, 1024, batch_first=True)``, forward and backward of a sum on
8 x 128 x 256 inputs. Prints training tokens/s and the ratio.

    python benchmarks/bench_lm.py [--steps 20] [--rounds 3] [--only gpt|lstm|bert|encoder]
                                  [--profile gpt|lstm|bert|encoder] [--json PATH]

The models are plain ``torch.nn`` code, run unchanged by both frameworks (the module is
imported as ``torch`` in either case), so the workload is the same. Each framework runs in a
process of its own, the processes alternating, and the best of ``--rounds`` counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

if __name__ == "__main__" and sys.argv[1:3] == ["--child", "ember"]:
    # as a user's program gets it: ember loads before NumPy (and sets up its runtime)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import ember  # noqa: F401

try:
    from .harness import command_line, rate, row, times_x, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, rate, row, times_x, write_json

GPT = dict(n_layer=4, n_head=4, n_embd=128, block=64, batch=12, vocab=65, dropout=0.1)
LSTM = dict(vocab=10000, emb=200, hidden=200, layers=2, seq=35, batch=20, dropout=0.2)
BERT = dict(n_layer=4, n_head=4, n_embd=256, ffn=1024, seq=128, batch=8, vocab=8192, dropout=0.1)
ENCODER = dict(n_layer=4, n_head=4, n_embd=256, ffn=1024, seq=128, batch=8, dropout=0.1)


def _gpt(torch):
    """nanoGPT's model, written here as plain torch.nn code."""
    nn, F = torch.nn, torch.nn.functional
    c = GPT

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"])
            self.c_proj = nn.Linear(c["n_embd"], c["n_embd"])
            self.resid_dropout = nn.Dropout(c["dropout"])

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(C, dim=2)
            h = c["n_head"]
            q = q.view(B, T, h, C // h).transpose(1, 2)
            k = k.view(B, T, h, C // h).transpose(1, 2)
            v = v.view(B, T, h, C // h).transpose(1, 2)
            p = c["dropout"] if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"])
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"])
            self.dropout = nn.Dropout(c["dropout"])

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(c["n_embd"])
            self.attn = Attention()
            self.ln_2 = nn.LayerNorm(c["n_embd"])
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPTModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(c["vocab"], c["n_embd"])
            self.wpe = nn.Embedding(c["block"], c["n_embd"])
            self.drop = nn.Dropout(c["dropout"])
            self.h = nn.ModuleList([Block() for _ in range(c["n_layer"])])
            self.ln_f = nn.LayerNorm(c["n_embd"])
            self.lm_head = nn.Linear(c["n_embd"], c["vocab"], bias=False)
            self.wte.weight = self.lm_head.weight  # weight tying

        def forward(self, idx, targets):
            t = idx.size(1)
            pos = torch.arange(0, t, dtype=torch.long)
            x = self.drop(self.wte(idx) + self.wpe(pos))
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    model = GPTModel()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    return model, opt


def _gpt_batch(torch, data, gen):
    c = GPT
    ix = torch.randint(len(data) - c["block"], (c["batch"],), generator=gen)
    x = torch.stack([data[i : i + c["block"]] for i in ix])
    y = torch.stack([data[i + 1 : i + 1 + c["block"]] for i in ix])
    return x, y


def _bert(torch):
    """A BERT encoder for sequence classification, written as plain torch.nn code (post-norm
    layers, fused-attention self-attention over a padding mask, exact GELU, a tanh pooler)."""
    nn, F = torch.nn, torch.nn.functional
    c = BERT
    E, H = c["n_embd"], c["n_head"]

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query = nn.Linear(E, E)
            self.key = nn.Linear(E, E)
            self.value = nn.Linear(E, E)
            self.dense = nn.Linear(E, E)
            self.dropout = nn.Dropout(c["dropout"])
            self.norm = nn.LayerNorm(E, eps=1e-12)

        def heads(self, x):
            B, T, _ = x.shape
            return x.view(B, T, H, E // H).transpose(1, 2)

        def forward(self, x, mask):
            B, T, _ = x.shape
            q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
            p = c["dropout"] if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
            y = y.transpose(1, 2).reshape(B, T, E)
            return self.norm(x + self.dropout(self.dense(y)))

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = SelfAttention()
            self.intermediate = nn.Linear(E, c["ffn"])
            self.output = nn.Linear(c["ffn"], E)
            self.dropout = nn.Dropout(c["dropout"])
            self.norm = nn.LayerNorm(E, eps=1e-12)

        def forward(self, x, mask):
            x = self.attention(x, mask)
            return self.norm(x + self.dropout(self.output(F.gelu(self.intermediate(x)))))

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(c["vocab"], E)
            self.position = nn.Embedding(c["seq"], E)
            self.token_type = nn.Embedding(2, E)
            self.norm = nn.LayerNorm(E, eps=1e-12)
            self.dropout = nn.Dropout(c["dropout"])
            self.layers = nn.ModuleList([Layer() for _ in range(c["n_layer"])])
            self.pooler = nn.Linear(E, E)
            self.classifier = nn.Linear(E, 2)

        def forward(self, ids, lengths, labels):
            B, T = ids.shape
            pos = torch.arange(T)
            keep = pos.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T): real tokens
            mask = torch.zeros(B, 1, 1, T).masked_fill(~keep.view(B, 1, 1, T), -1e4)
            x = self.word(ids) + self.position(pos) + self.token_type(torch.zeros_like(ids))
            x = self.dropout(self.norm(x))
            for layer in self.layers:
                x = layer(x, mask)
            pooled = torch.tanh(self.pooler(x[:, 0]))
            return F.cross_entropy(self.classifier(self.dropout(pooled)), labels)

    model = Bert()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)
    return model, opt


def _encoder(torch):
    """nn.TransformerEncoder of four 256-wide layers (4 heads, FFN 1024), batch first."""
    c = ENCODER
    layer = torch.nn.TransformerEncoderLayer(
        c["n_embd"], c["n_head"], c["ffn"], c["dropout"], batch_first=True
    )
    kw = {} if torch.__name__ == "ember" else {"enable_nested_tensor": False}
    return torch.nn.TransformerEncoder(layer, c["n_layer"], **kw)


def _lstm(torch):
    """The word-language-model LSTM (embedding, 2-layer LSTM, decoder), plain torch.nn code."""
    nn = torch.nn
    c = LSTM

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(c["dropout"])
            self.encoder = nn.Embedding(c["vocab"], c["emb"])
            self.rnn = nn.LSTM(c["emb"], c["hidden"], c["layers"], dropout=c["dropout"])
            self.decoder = nn.Linear(c["hidden"], c["vocab"])

        def forward(self, x, hidden):
            emb = self.drop(self.encoder(x))
            out, hidden = self.rnn(emb, hidden)
            return self.decoder(self.drop(out)).view(-1, c["vocab"]), hidden

    return RNNModel()


def _child(which: str, steps: int) -> float:
    """Seconds per training step of one framework alone in this process (best of 3 runs)."""
    if sys.argv[2] == "ember":
        import ember as torch
    else:
        import torch
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    if which == "gpt":
        model, opt = _gpt(torch)
        data = torch.randint(GPT["vocab"], (100_000,), generator=gen)

        def step():
            x, y = _gpt_batch(torch, data, gen)
            loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    elif which == "bert":
        c = BERT
        model, opt = _bert(torch)

        def step():
            ids = torch.randint(c["vocab"], (c["batch"], c["seq"]), generator=gen)
            lengths = torch.randint(c["seq"] // 2, c["seq"] + 1, (c["batch"],), generator=gen)
            labels = torch.randint(2, (c["batch"],), generator=gen)
            loss = model(ids, lengths, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    elif which == "encoder":
        c = ENCODER
        model = _encoder(torch)
        x = torch.randn(c["batch"], c["seq"], c["n_embd"], generator=gen)

        def step():
            model.zero_grad(set_to_none=True)
            model(x).sum().backward()
    else:
        c = LSTM
        model = _lstm(torch)
        crit = torch.nn.CrossEntropyLoss()
        opt = torch.optim.SGD(model.parameters(), lr=20.0)
        data = torch.randint(c["vocab"], (c["seq"] * 64 + 1, c["batch"]), generator=gen)
        state = {"i": 0, "h": None}

        def step():
            i = state["i"] % 64 * c["seq"]
            state["i"] += 1
            x, y = data[i : i + c["seq"]], data[i + 1 : i + 1 + c["seq"]]
            h = state["h"]
            if h is not None:
                h = tuple(t.detach() for t in h)
            model.zero_grad()
            out, state["h"] = model(x, h)
            loss = crit(out, y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            opt.step()

    model.train()
    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def _separate(which: str, steps: int, rounds: int) -> dict:
    best = {"ember": float("inf"), "torch": float("inf")}
    for _ in range(rounds):
        for fw in ("ember", "torch"):
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", fw, which]
                + ["--steps", str(steps)],
                capture_output=True,
                text=True,
                check=True,
            )
            best[fw] = min(best[fw], json.loads(out.stdout.strip().splitlines()[-1]))
    return best


def bench(which: str, steps: int, rounds: int) -> dict:
    best = _separate(which, steps, rounds)
    c = CONFIGS[which]
    tokens = c["batch"] * (c["block"] if which == "gpt" else c["seq"])
    te, tt = tokens / best["ember"], tokens / best["torch"]
    label = LABELS[which].split(" (")[0]
    print(
        f"{label}: ember {te:,.0f} tokens/s ({best['ember'] * 1e3:.1f} ms/step), torch "
        f"{tt:,.0f} tokens/s ({best['torch'] * 1e3:.1f} ms/step), ratio ember/torch {te / tt:.2f}x"
    )
    return {"ember": te, "torch": tt, "ratio": te / tt}


LABELS = {
    "gpt": "nanoGPT-shaped char model (4x128, 4 heads, block 64, batch 12, AdamW), training",
    "lstm": "Word-language-model LSTM (2x200, vocab 10k, seq 35, batch 20), training",
    "bert": "BERT-shaped encoder (4x256, 4 heads, FFN 1024, seq 128, batch 8, AdamW), training",
    "encoder": "nn.TransformerEncoder (4x256, 4 heads, FFN 1024, 8x128), forward + backward",
}
CONFIGS = {"gpt": GPT, "lstm": LSTM, "bert": BERT, "encoder": ENCODER}
WHICH = ("gpt", "lstm", "bert", "encoder")


def profile(which: str, steps: int) -> None:
    import cProfile
    import pstats

    sys.argv[1:3] = ["--child", "ember"]
    cProfile.run(f"_child({which!r}, {steps})", "/tmp/bench_lm.prof")
    pstats.Stats("/tmp/bench_lm.prof").sort_stats("tottime").print_stats(30)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        which = sys.argv[3]
        steps = int(sys.argv[sys.argv.index("--steps") + 1])
        print(json.dumps(_child(which, steps)))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=WHICH)
    ap.add_argument("--profile", choices=WHICH)
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.profile:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        profile(args.profile, args.steps)
        return
    command = command_line("python benchmarks/bench_lm.py", sys.argv[1:])
    rows = []
    for which in WHICH:
        if args.only and which != args.only:
            continue
        r = bench(which, args.steps, args.rounds)
        rows.append(
            row(
                LABELS[which],
                f"{rate(r['ember'])} tokens/s",
                f"{rate(r['torch'])} tokens/s",
                times_x(r["ratio"]),
                command,
                key=which,
            )
        )
    write_json(args.json, rows)


if __name__ == "__main__":
    main()
