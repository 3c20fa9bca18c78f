"""A small CNN with fast-plate-ocr's output layout: [slots, alphabet] probabilities (softmax per slot)."""

from __future__ import annotations

import torch
from torch import nn

from training.us_plates.data import ALPHABET, HEIGHT, SLOTS, WIDTH


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SlotReader(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(1, 16),
            nn.MaxPool2d(2),  # 16 x 48
            _block(16, 32),
            nn.MaxPool2d(2),  # 8 x 24
            _block(32, 48),
            nn.MaxPool2d(2),  # 4 x 12
            _block(48, 64),
            nn.MaxPool2d((2, 1)),  # 2 x 12
        )
        flat = 64 * (HEIGHT // 16) * (WIDTH // 8)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(flat, SLOTS * len(ALPHABET)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 1, H, W] in 0..255 -> logits [N, SLOTS, len(ALPHABET)]."""
        x = (x - 127.5) / 64.0
        return self.head(self.features(x)).view(-1, SLOTS, len(ALPHABET))


class WithSoftmax(nn.Module):
    """The exported graph: uint8 grayscale [N, H, W, 1] in (fast-plate-ocr's layout), probabilities out."""

    def __init__(self, net: SlotReader) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x.permute(0, 3, 1, 2).float()), dim=-1)
