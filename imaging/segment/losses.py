"""The class-imbalance-aware training loss: soft Dice (every class weighs the same) + cross-entropy, masked."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over classes of 1 - soft Dice, plus cross-entropy, both over voxels with mask = 1.

    logits (B, C, a, b), target (B, a, b) class indices, mask (B, a, b) float. A rare class (the
    pores) counts as much in the Dice term as a common one, whatever its voxel count.
    """
    weight = mask.float()
    total = weight.sum().clamp_min(1.0)
    ce = (F.cross_entropy(logits, target, reduction="none") * weight).sum() / total
    probs = torch.softmax(logits, dim=1)
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).float()
    w = weight[:, None]
    inter = (probs * onehot * w).sum(dim=(0, 2, 3))
    denom = ((probs + onehot) * w).sum(dim=(0, 2, 3))
    dice = (2 * inter + 1.0) / (denom + 1.0)
    return ce + (1.0 - dice).mean()
