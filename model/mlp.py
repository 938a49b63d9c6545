"""MLP: layers of neurons, each a = f(w·x + b), with one forward path that can show every layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from model.activations import activation_fn
from model.config import MLPConfig
from model.dropout import Dropout
from model.init import init_layer


@dataclass
class LayerTrace:
    """What one layer did for a batch: pre-activations z = Wx + b and activations a = f(z)."""

    name: str
    activation: str
    z: torch.Tensor  # (B, n)
    a: torch.Tensor  # (B, n)


class MLP(nn.Module):
    """784 pixel inputs → hidden layers → 10 digit outputs (logits; softmax gives probabilities)."""

    def __init__(self, config: MLPConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or MLPConfig()
        sizes = cfg.layer_sizes
        self.hidden = nn.ModuleList(nn.Linear(n_in, n_out * cfg.pieces) for n_in, n_out in zip(sizes[:-2], sizes[1:-1]))
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(n * cfg.pieces) if cfg.batch_norm else nn.Identity() for n in cfg.hidden
        )
        self.output = nn.Linear(sizes[-2], sizes[-1])
        self.dropout = Dropout(cfg.dropout)
        self.f = activation_fn(cfg)
        for layer in [*self.hidden, self.output]:
            init_layer(layer, cfg)

    @property
    def layer_names(self) -> list[str]:
        """Names of the traced layers, in order: hidden1, hidden2, …, output."""
        return [f"hidden{i + 1}" for i in range(len(self.hidden))] + ["output"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits (B, 10) for pixels x of shape (B, 784), (B, 28, 28) or (B, 1, 28, 28)."""
        return self._forward(x, keep_traces=False)[0]

    def trace(self, x: torch.Tensor) -> list[LayerTrace]:
        """Return every layer's z and a for pixels x; the output layer's a is the softmax."""
        return self._forward(x, keep_traces=True)[1]

    def _forward(self, x: torch.Tensor, keep_traces: bool) -> tuple[torch.Tensor, list[LayerTrace]]:
        """The one forward path: logits, plus every layer's trace when asked for."""
        traces: list[LayerTrace] = []
        a = x.reshape(x.shape[0], -1)  # (B, 784)
        for i, (layer, norm) in enumerate(zip(self.hidden, self.norms)):
            z = layer(a)  # (B, n·k)
            pieces = self._pieces(norm(z))  # (B, n) or, for maxout, (B, n, k)
            a = self.f(pieces)  # (B, n)
            if keep_traces:
                traces.append(LayerTrace(self.layer_names[i], self.config.activation, self._shown_z(z, pieces), a))
            a = self.dropout(a)
        logits = self.output(a)  # (B, 10)
        if keep_traces:
            traces.append(LayerTrace("output", "softmax", logits, torch.softmax(logits, dim=1)))
        return logits, traces

    def _pieces(self, z: torch.Tensor) -> torch.Tensor:
        """Group maxout's k linear pieces per neuron: (B, n·k) → (B, n, k)."""
        k = self.config.pieces
        return z if k == 1 else z.view(z.shape[0], -1, k)

    def _shown_z(self, z: torch.Tensor, pieces: torch.Tensor) -> torch.Tensor:
        """z to report per neuron: w·x + b, or for maxout the winning piece's w·x + b."""
        if self.config.pieces == 1:
            return z
        winner = pieces.argmax(dim=-1, keepdim=True)  # (B, n, 1)
        return self._pieces(z).gather(-1, winner).squeeze(-1)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
