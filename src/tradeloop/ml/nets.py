"""Small PyTorch classifiers (plain torch: the inference path never imports Lightning)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

N_CLASSES = 3


class ClassifierNet(nn.Module):
    """A net whose class logits are a head over its last hidden layer (``width`` units);
    training adds auxiliary heads on that layer."""

    width: int

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def head_of(self, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def output_layer(self) -> nn.Linear:
        """The linear layer that maps :meth:`hidden` to the class logits."""
        raise NotImplementedError


class MLP(ClassifierNet):
    """Feed-forward classifier over one feature row."""

    def __init__(self, in_dim: int, hidden_size: int = 64, num_layers: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_size), nn.GELU(), nn.Dropout(dropout)]
            width = hidden_size
        layers.append(nn.Linear(width, N_CLASSES))
        self.net = nn.Sequential(*layers)
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer (what the output layer reads)."""
        return self.net[:-1](x)

    def head_of(self, h: torch.Tensor) -> torch.Tensor:
        """Class logits from :meth:`hidden`'s output."""
        return self.net[-1](h)

    def output_layer(self) -> nn.Linear:
        layer = self.net[-1]
        assert isinstance(layer, nn.Linear)
        return layer


class GRUNet(ClassifierNet):
    """GRU over the last ``sequence_length`` feature rows; classifies from the last state."""

    def __init__(self, in_dim: int, hidden_size: int = 64, num_layers: int = 1,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.gru = nn.GRU(in_dim, hidden_size, num_layers=num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, N_CLASSES))
        self.width = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(x))

    def head_of(self, h: torch.Tensor) -> torch.Tensor:
        """Class logits from :meth:`hidden`'s output."""
        return self.head(h)

    def output_layer(self) -> nn.Linear:
        layer = self.head[-1]
        assert isinstance(layer, nn.Linear)
        return layer

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The last state (what the head reads)."""
        out, _ = self.gru(x)
        return out[:, -1]


ARCHITECTURES: dict[str, type[ClassifierNet]] = {"mlp": MLP, "gru": GRUNet}


def build_net(architecture: str, in_dim: int, params: dict[str, Any]) -> ClassifierNet:
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of "
                         f"{', '.join(ARCHITECTURES)}") from None
    return cls(in_dim, **params)
