"""One embedding vector per image, for choosing images by diversity (the k-means++ initial set,
k-center batches).

Segmentation (smp): the deepest encoder feature map, global-average-pooled (S4's embedding).
Classification (timm): the pre-logits vector the classifier reads, already pooled by timm.
"""

from __future__ import annotations

from torch import Tensor, nn


def pooled_features(model: nn.Module, x: Tensor) -> Tensor:
    """``x [B, C_in, *S]`` -> ``[B, D]``; the caller picks the mode (eval keeps BatchNorm still)."""
    if all(hasattr(model, a) for a in ("encoder", "decoder", "segmentation_head")):
        model.check_input_shape(x)
        return model.encoder(x)[-1].flatten(2).mean(dim=2)
    if all(hasattr(model, a) for a in ("forward_features", "forward_head")):
        return model.forward_head(model.forward_features(x), pre_logits=True).flatten(1)
    raise TypeError(
        f"cannot embed images with a {type(model).__name__}: need an smp segmentation model "
        "(encoder/decoder/segmentation_head) or a timm classifier (forward_features/forward_head)"
    )
