#!/usr/bin/python3
"""Write tests/data/hf/<fixture>/: tiny HuggingFace-style checkpoints and a PyTorch reference.

Purpose
    bipeft loads HuggingFace checkpoints (BERT, RoBERTa, GPT-2, LLaMA, Qwen2) natively and must
    compute what `transformers` computes. There is no `transformers` here, so this script
    re-implements the HF modeling code of each family in plain torch (nn.Modules laid out like
    modeling_bert.py / modeling_roberta.py / modeling_gpt2.py / modeling_llama.py /
    modeling_qwen2.py, so that the state-dict names are exactly HF's), builds tiny random
    models, saves them the way `save_pretrained` does (config.json, model.safetensors, or
    shards plus model.safetensors.index.json) and writes reference.safetensors: the inputs,
    the outputs and the gradient of a fixed scalar loss w.r.t. every saved parameter and
    w.r.t. the word-embedding lookup, computed in float64 and stored as float32.

Regenerate
    /usr/bin/python3 tools/make_hf_fixtures.py
    Needs Debian's python3-torch (torch 1.13) only; no transformers, safetensors or network.
    Seeded and single-threaded: rerunning it produces byte-identical files. If
    tests/data/tok/<kind>/tokenizer.json exists it is copied into the matching fixtures
    (bert, roberta, gpt2, llama3, llama2; qwen2 uses tok/qwen2 if present, else tok/llama3);
    a missing one is skipped silently, so rerun after adding tokenizers. With a tokenizer and
    a pad_token_id, the folder also gets texts.json and reference_text.safetensors: two texts
    (the first a pair where the tokenizer has pair cases) with the ids HF's tokenizer gives
    them (tests/data/tok/<kind>/expected.jsonl), padded, run through the model: the end-to-end
    reference for `bipeft forward`.

Fixtures (vocab 512, hidden 32, 2 layers, 4 heads, intermediate 64 unless noted)
    bert-cls            BertForSequenceClassification, 3 labels, `bert.` prefix, with pooler
    bert-cls-f16        the same weights stored F16; reference from the rounded weights
    bert-cls-bf16       the same weights stored BF16; reference from the rounded weights
    bert-regression     BertForSequenceClassification, 1 label, problem_type regression
    bert-mlm            BertForMaskedLM, decoder tied to the word embeddings (not saved)
    bert-base-noprefix  BertModel saved without the `bert.` prefix, no head
    roberta-cls         RobertaForSequenceClassification, 2 labels, no pooler, pad 1
    gpt2-lm             GPT2LMHeadModel, lm_head tied to wte (not saved), gelu_new
    gpt2-cls            GPT2ForSequenceClassification, 3 labels, pooled at last non-pad token
    llama-lm            LlamaForCausalLM, GQA 4/2, rope_theta 5e5, untied lm_head
    llama-lm-sharded    llama-lm's weights in two shards + model.safetensors.index.json
    llama-lm-bf16       llama-lm's weights stored BF16; reference from the rounded weights
    llama-cls           LlamaForSequenceClassification, 2 labels, pooled at last non-pad token
    llama2-lm           LLaMA-2-shaped (MHA, theta 1e4, bos 1 eos 2 pad 0, eps 1e-5)
    qwen2-lm            Qwen2ForCausalLM: q/k/v biases, tied embeddings, theta 1e6, GQA 4/2

The reference contract (names, shapes, the loss, HF details) is in tests/data/hf/README.md.

Self-check: every fixture is also run in float32 and compared with the float64 reference, and
a few gradient entries (two parameters and inputs_embeds) are checked against central finite
differences of the loss in float64; the numbers are printed and asserted.
"""
import json
import math
import os
import shutil
import struct
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "hf")
TOK = os.path.join(ROOT, "tests", "data", "tok")
B, T, NPAD = 2, 7, 2          # batch, sequence length, pad positions at the end of row 1
ID_LO, ID_HI = 5, 500         # random token ids: excludes every special / pad id used here
TRANSFORMERS_VERSION = "4.46.3"


# --------------------------------------------------------------------------------------------
# masks (HF: additive, torch.finfo(dtype).min where a key may not be attended)

def key_padding_mask(attention_mask, dtype):
    """BERT/RoBERTa get_extended_attention_mask: (1 - mask) * finfo.min, shape [B,1,1,T]."""
    m = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


def causal_padding_mask(attention_mask, dtype):
    """Decoder mask [B,1,T,T]: 0 where key j <= query i and key j is real, else finfo.min.

    Same values as LLaMA's _update_causal_mask / _prepare_4d_causal_attention_mask. GPT-2's
    eager path applies the causal part with torch.where(..., finfo.min) and then adds the
    padding mask; a key masked both ways gets -inf there instead of finfo.min, which gives
    the same softmax (exactly 0) since no row here is fully masked (right padding)."""
    n = attention_mask.shape[1]
    allowed = torch.ones(n, n, dtype=torch.bool).tril()[None, None] & \
        (attention_mask[:, None, None, :] != 0)
    return torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)


def last_non_pad_index(input_ids, pad_token_id):
    """Current HF rule (GPT2/Llama ForSequenceClassification): rightmost token != pad."""
    non_pad = (input_ids != pad_token_id).int()
    idx = torch.arange(input_ids.shape[-1], dtype=torch.int32)
    return (idx * non_pad).argmax(-1)


ACT = {
    "gelu": F.gelu,  # exact erf form
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                                      (x + 0.044715 * torch.pow(x, 3.0)))),
    "silu": F.silu,
}


# --------------------------------------------------------------------------------------------
# BERT / RoBERTa (modeling_bert.py, modeling_roberta.py)

class BertEmbeddings(nn.Module):
    def __init__(self, cfg, roberta=False):
        super().__init__()
        c, pad = cfg["hidden_size"], cfg["pad_token_id"]
        self.roberta, self.pad = roberta, pad
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], c, padding_idx=pad)
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], c,
                                                padding_idx=pad if roberta else None)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], c)
        self.LayerNorm = nn.LayerNorm(c, eps=cfg["layer_norm_eps"])

    def forward(self, input_ids, token_type_ids=None):
        if self.roberta:  # create_position_ids_from_input_ids
            mask = input_ids.ne(self.pad).int()
            position_ids = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.pad
        else:
            position_ids = torch.arange(input_ids.shape[1])[None, :].expand_as(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        inputs_embeds = self.word_embeddings(input_ids)
        embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)


class BertSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["hidden_size"]
        self.h, self.d = cfg["num_attention_heads"], c // cfg["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)

    def forward(self, x, mask):
        b, t, c = x.shape

        def heads(z):
            return z.view(b, t, self.h, self.d).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d) + mask
        probs = torch.softmax(scores, dim=-1)
        return (probs @ v).transpose(1, 2).reshape(b, t, c)


class BertSelfOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self = BertSelfAttention(cfg)
        self.output = BertSelfOutput(cfg)

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["intermediate_size"])
        self.act = ACT[cfg["hidden_act"]]

    def forward(self, x):
        return self.act(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["intermediate_size"], cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = BertIntermediate(cfg)
        self.output = BertOutput(cfg)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(cfg) for _ in range(cfg["num_hidden_layers"]))

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x


class BertPooler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    """Also RobertaModel (roberta=True: position ids from input ids, padding_idx on them)."""

    def __init__(self, cfg, add_pooling_layer=True, roberta=False):
        super().__init__()
        self.embeddings = BertEmbeddings(cfg, roberta)
        self.encoder = BertEncoder(cfg)
        self.pooler = BertPooler(cfg) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        x = self.embeddings(input_ids, token_type_ids)
        h = self.encoder(x, key_padding_mask(attention_mask, x.dtype))
        return h, (self.pooler(h) if self.pooler is not None else None)

    def word_embeddings(self):
        return self.embeddings.word_embeddings


class BertBase(nn.Module):
    """BertModel as saved on its own (names without prefix); outputs last_hidden_state."""

    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return self.bert(input_ids, attention_mask, token_type_ids)[0], None

    def state_prefix(self):
        return "bert."  # stripped when saving

    def word_embeddings(self):
        return self.bert.word_embeddings()


class BertForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg)
        self.classifier = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h, pooled = self.bert(input_ids, attention_mask, token_type_ids)
        return h, self.classifier(pooled)

    def word_embeddings(self):
        return self.bert.word_embeddings()


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])
        self.act = ACT[cfg["hidden_act"]]
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, h):
        return self.LayerNorm(self.act(self.dense(h)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transform = BertPredictionHeadTransform(cfg)
        # decoder: Linear(hidden, vocab, bias=False) whose weight is the word embedding matrix
        # and whose bias is this parameter (HF ties decoder.bias = bias); neither is saved
        self.bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))

    def forward(self, h, decoder_weight):
        return F.linear(self.transform(h), decoder_weight, self.bias)


class BertOnlyMLMHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.predictions = BertLMPredictionHead(cfg)


class BertForMaskedLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(cfg)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h, _ = self.bert(input_ids, attention_mask, token_type_ids)
        return h, self.cls.predictions(h, self.bert.embeddings.word_embeddings.weight)

    def word_embeddings(self):
        return self.bert.word_embeddings()


class RobertaClassificationHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])
        self.out_proj = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))

    def forward(self, h):
        return self.out_proj(torch.tanh(self.dense(h[:, 0, :])))


class RobertaForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.roberta = BertModel(cfg, add_pooling_layer=False, roberta=True)
        self.classifier = RobertaClassificationHead(cfg)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h, _ = self.roberta(input_ids, attention_mask, token_type_ids)
        return h, self.classifier(h)

    def word_embeddings(self):
        return self.roberta.word_embeddings()


# --------------------------------------------------------------------------------------------
# GPT-2 (modeling_gpt2.py)

class Conv1D(nn.Module):
    """HF pytorch_utils.Conv1D: weight [in, out], y = x @ W + b."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return x @ self.weight + self.bias


class GPT2Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["n_embd"]
        self.h, self.d = cfg["n_head"], c // cfg["n_head"]
        self.c_attn = Conv1D(3 * c, c)
        self.c_proj = Conv1D(c, c)

    def forward(self, x, mask):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)

        def heads(z):
            return z.view(b, t, self.h, self.d).transpose(1, 2)

        q, k, v = heads(q), heads(k), heads(v)
        scores = q @ k.transpose(-1, -2) / (v.size(-1) ** 0.5) + mask  # scale_attn_weights
        probs = torch.softmax(scores, dim=-1)
        return self.c_proj((probs @ v).transpose(1, 2).reshape(b, t, c))


class GPT2MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["n_embd"]
        inner = cfg["n_inner"] if cfg["n_inner"] is not None else 4 * c
        self.c_fc = Conv1D(inner, c)
        self.c_proj = Conv1D(c, inner)
        self.act = ACT[cfg["activation_function"]]

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(c, eps=eps)
        self.attn = GPT2Attention(cfg)
        self.ln_2 = nn.LayerNorm(c, eps=eps)
        self.mlp = GPT2MLP(cfg)

    def forward(self, x, mask):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["n_embd"]
        self.wte = nn.Embedding(cfg["vocab_size"], c)
        self.wpe = nn.Embedding(cfg["n_positions"], c)
        self.h = nn.ModuleList(GPT2Block(cfg) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(c, eps=cfg["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask):
        position_ids = torch.arange(input_ids.shape[1])[None, :]  # also for padded rows
        x = self.wte(input_ids) + self.wpe(position_ids)
        mask = causal_padding_mask(attention_mask, x.dtype)
        for block in self.h:
            x = block(x, mask)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transformer = GPT2Model(cfg)  # lm_head: Linear(n_embd, vocab, bias=False) = wte

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h = self.transformer(input_ids, attention_mask)
        return h, F.linear(h, self.transformer.wte.weight)

    def word_embeddings(self):
        return self.transformer.wte


class GPT2ForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.pad = cfg["pad_token_id"]
        self.transformer = GPT2Model(cfg)
        self.score = nn.Linear(cfg["n_embd"], len(cfg["id2label"]), bias=False)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h = self.transformer(input_ids, attention_mask)
        logits = self.score(h)
        return h, logits[torch.arange(h.shape[0]), last_non_pad_index(input_ids, self.pad)]

    def word_embeddings(self):
        return self.transformer.wte


# --------------------------------------------------------------------------------------------
# LLaMA / Qwen2 (modeling_llama.py, modeling_qwen2.py)

class LlamaRMSNorm(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):
        # HF upcasts to float32 here; the reference stays in its own (float64) precision
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rope_cos_sin(cfg, head_dim, position_ids, dtype):
    """LlamaRotaryEmbedding (default rope type): inv_freq computed in float32 exactly as HF,
    then cos/sin of position * inv_freq in the compute dtype; emb = cat(freqs, freqs)."""
    base = cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() /
                               head_dim))
    freqs = position_ids.to(dtype)[:, :, None] * inv_freq.to(dtype)[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, cfg, qkv_bias):
        super().__init__()
        c = cfg["hidden_size"]
        self.h = cfg["num_attention_heads"]
        self.kvh = cfg.get("num_key_value_heads", self.h)
        self.d = cfg.get("head_dim") or c // self.h
        ob = cfg.get("attention_bias", False)
        self.q_proj = nn.Linear(c, self.h * self.d, bias=qkv_bias)
        self.k_proj = nn.Linear(c, self.kvh * self.d, bias=qkv_bias)
        self.v_proj = nn.Linear(c, self.kvh * self.d, bias=qkv_bias)
        self.o_proj = nn.Linear(self.h * self.d, c, bias=ob)

    def forward(self, x, mask, cos, sin):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kvh, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kvh, self.d).transpose(1, 2)
        cos, sin = cos[:, None], sin[:, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.h // self.kvh  # repeat_kv: kv head j serves query heads j*rep .. j*rep+rep-1
        k = k[:, :, None].expand(b, self.kvh, rep, t, self.d).reshape(b, self.h, t, self.d)
        v = v[:, :, None].expand(b, self.kvh, rep, t, self.d).reshape(b, self.h, t, self.d)
        scores = (q @ k.transpose(2, 3)) * self.d ** -0.5 + mask
        probs = torch.softmax(scores, dim=-1)
        return self.o_proj((probs @ v).transpose(1, 2).reshape(b, t, self.h * self.d))


class LlamaMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, i, mb = cfg["hidden_size"], cfg["intermediate_size"], cfg.get("mlp_bias", False)
        self.gate_proj = nn.Linear(c, i, bias=mb)
        self.up_proj = nn.Linear(c, i, bias=mb)
        self.down_proj = nn.Linear(i, c, bias=mb)
        self.act = ACT[cfg["hidden_act"]]

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, cfg, qkv_bias):
        super().__init__()
        c, eps = cfg["hidden_size"], cfg["rms_norm_eps"]
        self.self_attn = LlamaAttention(cfg, qkv_bias)
        self.mlp = LlamaMLP(cfg)
        self.input_layernorm = LlamaRMSNorm(c, eps)
        self.post_attention_layernorm = LlamaRMSNorm(c, eps)

    def forward(self, x, mask, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), mask, cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["hidden_size"]
        qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
        self.cfg = cfg
        self.head_dim = cfg.get("head_dim") or c // cfg["num_attention_heads"]
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], c,
                                         padding_idx=cfg.get("pad_token_id"))
        self.layers = nn.ModuleList(LlamaDecoderLayer(cfg, qkv_bias)
                                    for _ in range(cfg["num_hidden_layers"]))
        self.norm = LlamaRMSNorm(c, cfg["rms_norm_eps"])

    def forward(self, input_ids, attention_mask):
        position_ids = torch.arange(input_ids.shape[1])[None, :].expand_as(input_ids)
        x = self.embed_tokens(input_ids)
        mask = causal_padding_mask(attention_mask, x.dtype)
        cos, sin = rope_cos_sin(self.cfg, self.head_dim, position_ids, x.dtype)
        for layer in self.layers:
            x = layer(x, mask, cos, sin)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = LlamaModel(cfg)
        self.tied = cfg["tie_word_embeddings"]
        if not self.tied:
            self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h = self.model(input_ids, attention_mask)
        w = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        return h, F.linear(h, w)

    def word_embeddings(self):
        return self.model.embed_tokens


class LlamaForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.pad = cfg["pad_token_id"]
        self.model = LlamaModel(cfg)
        n_labels = len(cfg.get("id2label", {"0": 0, "1": 1}))  # HF default num_labels 2
        self.score = nn.Linear(cfg["hidden_size"], n_labels, bias=False)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h = self.model(input_ids, attention_mask)
        logits = self.score(h)
        return h, logits[torch.arange(h.shape[0]), last_non_pad_index(input_ids, self.pad)]

    def word_embeddings(self):
        return self.model.embed_tokens


# --------------------------------------------------------------------------------------------
# configs (the fields real checkpoints have; HF writes json.dumps(indent=2, sort_keys=True))

def labels(n, names=None):
    names = names or ["LABEL_%d" % i for i in range(n)]
    return {"id2label": {str(i): names[i] for i in range(n)},
            "label2id": {names[i]: i for i in range(n)}}


def bert_cfg(arch, **kw):
    cfg = {
        "architectures": [arch], "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 64, "layer_norm_eps": 1e-12,
        "max_position_embeddings": 64, "model_type": "bert", "num_attention_heads": 4,
        "num_hidden_layers": 2, "pad_token_id": 0, "position_embedding_type": "absolute",
        "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION,
        "type_vocab_size": 2, "use_cache": True, "vocab_size": 512}
    cfg.update(kw)
    return cfg


def roberta_cfg(arch, **kw):
    cfg = bert_cfg(arch, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-05,
                   max_position_embeddings=66, model_type="roberta", pad_token_id=1,
                   type_vocab_size=1)
    cfg.update(kw)
    return cfg


def gpt2_cfg(arch, **kw):
    cfg = {
        "activation_function": "gelu_new", "architectures": [arch], "attn_pdrop": 0.1,
        "bos_token_id": 511, "embd_pdrop": 0.1, "eos_token_id": 511,
        "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
        "n_ctx": 64, "n_embd": 32, "n_head": 4, "n_inner": None, "n_layer": 2,
        "n_positions": 64, "pad_token_id": 511, "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True, "summary_activation": None, "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True, "summary_type": "cls_index", "summary_use_proj": True,
        "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True, "vocab_size": 512}
    cfg.update(kw)
    return cfg


def llama_cfg(arch, **kw):  # Llama-3 style
    cfg = {
        "architectures": [arch], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 510, "eos_token_id": 511, "head_dim": 8, "hidden_act": "silu",
        "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 64,
        "max_position_embeddings": 64, "mlp_bias": False, "model_type": "llama",
        "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
        "pad_token_id": 511, "pretraining_tp": 1, "rms_norm_eps": 1e-06, "rope_scaling": None,
        "rope_theta": 500000.0, "tie_word_embeddings": False, "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION, "use_cache": True, "vocab_size": 512}
    cfg.update(kw)
    return cfg


def llama2_cfg():  # Llama-2 style: no head_dim / attention_bias / mlp_bias fields
    return {
        "architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
        "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
        "intermediate_size": 64, "max_position_embeddings": 64, "model_type": "llama",
        "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 4,
        "pad_token_id": 0, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None,
        "rope_theta": 10000.0, "tie_word_embeddings": False, "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION, "use_cache": True, "vocab_size": 512}


def qwen2_cfg():  # Qwen2.5 style: no pad_token_id field, q/k/v biases are implied by qwen2
    return {
        "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 511,
        "eos_token_id": 511, "hidden_act": "silu", "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 64, "max_position_embeddings": 64,
        "max_window_layers": 2, "model_type": "qwen2", "num_attention_heads": 4,
        "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
        "rope_scaling": None, "rope_theta": 1000000.0, "sliding_window": 64,
        "tie_word_embeddings": True, "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION, "use_cache": True,
        "use_sliding_window": False, "vocab_size": 512}


# fixture: name -> dict(cfg, cls, base (seed / shared weights), dtype, tok, shards, fd, pad)
FIXTURES = [
    dict(name="bert-cls", cls=BertForSequenceClassification, tok="bert",
         cfg=bert_cfg("BertForSequenceClassification", **labels(3)),
         fd=["bert.encoder.layer.0.attention.self.query.weight",
             "bert.encoder.layer.1.output.LayerNorm.weight"]),
    dict(name="bert-cls-f16", base="bert-cls", dtype=torch.float16),
    dict(name="bert-cls-bf16", base="bert-cls", dtype=torch.bfloat16),
    dict(name="bert-regression", cls=BertForSequenceClassification, tok="bert",
         cfg=bert_cfg("BertForSequenceClassification", problem_type="regression", **labels(1)),
         fd=["bert.pooler.dense.weight", "bert.embeddings.LayerNorm.bias"]),
    dict(name="bert-mlm", cls=BertForMaskedLM, tok="bert",
         cfg=bert_cfg("BertForMaskedLM"),
         fd=["bert.embeddings.word_embeddings.weight",
             "cls.predictions.transform.LayerNorm.weight"]),
    dict(name="bert-base-noprefix", cls=BertBase, tok="bert", cfg=bert_cfg("BertModel"),
         fd=["encoder.layer.0.attention.output.dense.weight",
             "encoder.layer.1.intermediate.dense.bias"]),
    dict(name="roberta-cls", cls=RobertaForSequenceClassification, tok="roberta",
         cfg=roberta_cfg("RobertaForSequenceClassification",
                         **labels(2, ["NEGATIVE", "POSITIVE"])),
         fd=["roberta.embeddings.position_embeddings.weight",
             "classifier.dense.weight"]),
    dict(name="gpt2-lm", cls=GPT2LMHeadModel, tok="gpt2", cfg=gpt2_cfg("GPT2LMHeadModel"),
         fd=["transformer.h.0.attn.c_attn.weight", "transformer.ln_f.weight"]),
    dict(name="gpt2-cls", cls=GPT2ForSequenceClassification, tok="gpt2",
         cfg=gpt2_cfg("GPT2ForSequenceClassification", **labels(3)),
         fd=["transformer.h.1.mlp.c_fc.weight", "score.weight"]),
    dict(name="llama-lm", cls=LlamaForCausalLM, tok="llama3", cfg=llama_cfg("LlamaForCausalLM"),
         fd=["model.layers.0.self_attn.k_proj.weight",
             "model.layers.1.post_attention_layernorm.weight"]),
    dict(name="llama-lm-sharded", base="llama-lm", shards=2),
    dict(name="llama-lm-bf16", base="llama-lm", dtype=torch.bfloat16),
    # num_labels 2 with default LABEL_i names: save_pretrained writes no id2label (it equals
    # the PretrainedConfig default), so the count comes from the default / score.weight
    dict(name="llama-cls", cls=LlamaForSequenceClassification, tok="llama3",
         cfg=llama_cfg("LlamaForSequenceClassification"),
         fd=["model.layers.0.self_attn.q_proj.weight", "model.norm.weight"]),
    dict(name="llama2-lm", cls=LlamaForCausalLM, tok="llama2", cfg=llama2_cfg(),
         fd=["model.layers.1.self_attn.v_proj.weight", "model.layers.0.mlp.gate_proj.weight"]),
    dict(name="qwen2-lm", cls=LlamaForCausalLM, tok=("qwen2", "llama3"), cfg=qwen2_cfg(),
         fd=["model.layers.0.self_attn.q_proj.bias", "model.embed_tokens.weight"]),
]
DTYPE_NAME = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


# --------------------------------------------------------------------------------------------
# safetensors

ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.int32: "I32"}


def tensor_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    assert sys.byteorder == "little"
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    """u64 LE header length, JSON header (metadata first, then tensors sorted by name, offsets
    relative to the data start) padded with spaces to a multiple of 8, then the data."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    """Independent reader used by the round-trip self-check: validates the layout strictly."""
    np_dtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                "I32": torch.int32}
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0 and 8 + n <= len(raw), path
    header = json.loads(raw[8:8 + n].decode())
    assert header.pop("__metadata__") == {"format": "pt"}, path
    data, off, out = raw[8 + n:], 0, {}
    assert list(header) == sorted(header), path
    for name, h in header.items():
        b, e = h["data_offsets"]
        dt = np_dtype[h["dtype"]]
        assert b == off and e - b == math.prod(h["shape"]) * torch.tensor([], dtype=dt).element_size()
        buf = bytearray(data[b:e])
        if dt == torch.bfloat16:
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(buf, dtype=dt)
        out[name] = t.reshape(h["shape"]).clone()
        off = e
    assert off == len(data), path
    return out


def load_weights(d):
    """Weights of a fixture folder: model.safetensors or the shards named by the index."""
    index = os.path.join(d, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(d, "model.safetensors"))
    with open(index) as f:
        idx = json.load(f)
    out = {}
    for fname in sorted(set(idx["weight_map"].values())):
        part = read_safetensors(os.path.join(d, fname))
        assert all(idx["weight_map"][n] == fname for n in part)
        out.update(part)
    assert set(out) == set(idx["weight_map"])
    assert idx["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in out.values())
    return out


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------
# models, weights, inputs

def build(spec, dtype):
    torch.manual_seed(0)  # construction-time init is overwritten by init_weights
    return spec["cls"](spec["cfg"]).to(dtype).eval()


def saved_name(model, name):
    prefix = getattr(model, "state_prefix", lambda: "")()
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


def params(model):
    """{saved name: parameter}; tied tensors appear once under the name that is saved."""
    return {saved_name(model, n): p for n, p in model.named_parameters()}


def init_weights(model, gen):
    """N(0, 0.02) matrices and embeddings; norm gains 1 + 0.1 N; every bias 0.1 N."""
    norm_types = (nn.LayerNorm, LlamaRMSNorm)
    owner = {}
    for mname, mod in model.named_modules():
        for pname, _ in mod.named_parameters(recurse=False):
            owner[(mname + "." if mname else "") + pname] = mod
    with torch.no_grad():
        for name, p in model.named_parameters():
            z = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if isinstance(owner[name], norm_types) and name.endswith("weight"):
                v = 1.0 + 0.1 * z
            elif name.endswith("bias"):
                v = 0.1 * z
            else:
                v = 0.02 * z
            p.copy_(v)


def make_inputs(spec, gen):
    cfg = spec["cfg"]
    pad = cfg.get("pad_token_id")
    if pad is None:
        pad = cfg["eos_token_id"]  # Qwen2: no pad_token_id in config; pad with eos (as HF users do)
    ids = torch.randint(ID_LO, ID_HI, (B, T), generator=gen, dtype=torch.int64)
    ids[1, T - NPAD:] = pad
    mask = torch.ones(B, T, dtype=torch.int64)
    mask[1, T - NPAD:] = 0
    inp = {"input_ids": ids, "attention_mask": mask}
    if cfg["model_type"] == "bert":
        tt = torch.zeros(B, T, dtype=torch.int64)
        tt[0, 3:] = 1  # segment switch in row 0
        inp["token_type_ids"] = tt
    return inp


class Tap:
    """Forward hook on the word embedding: records the lookup output (inputs_embeds) with its
    gradient, and optionally adds a perturbation to it (finite differences)."""

    def __init__(self, emb):
        self.delta, self.out = None, None
        emb.register_forward_hook(self)

    def __call__(self, mod, inp, out):
        if self.delta is not None:
            out = out + self.delta
        if out.requires_grad:
            out.retain_grad()
        self.out = out
        return out


def loss_of(model, inp, probe_h, probe_l):
    h, logits = model(**inp)
    loss = (h * probe_h).sum()
    if logits is not None:
        loss = loss + (logits * probe_l).sum()
    return loss, h, logits


def run(model, inp, probe_h, probe_l, tap):
    for p in model.parameters():
        p.grad = None
    dt = next(model.parameters()).dtype
    probe_l = probe_l.to(dt) if probe_l is not None else None
    loss, h, logits = loss_of(model, inp, probe_h.to(dt), probe_l)
    loss.backward()
    res = {"last_hidden_state": h.detach()}
    if logits is not None:
        res["logits"] = logits.detach()
    for n, p in params(model).items():
        # a parameter the loss does not reach (BertModel's pooler) has gradient 0
        res["grad." + n] = p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
    res["grad.inputs_embeds"] = tap.out.grad.detach().clone()
    return res


def rel_err(a, b, floor=1e-30):
    """max|a - b| / max(max|b|, floor)."""
    return ((a.double() - b.double()).abs().max().item() /
            max(b.double().abs().max().item(), floor))


def fd_check(spec, model, inp, probe_h, probe_l, tap, ref, gen):
    """Central differences of the float64 loss at 3 random entries (among those with a non-zero
    gradient) of each fd parameter and of inputs_embeds. Returns the max error relative to
    max|gradient| of that tensor."""
    ps = params(model)
    pad_rows = {id(m.weight): m.padding_idx for m in model.modules()
                if isinstance(m, nn.Embedding) and m.padding_idx is not None}
    worst = 0.0
    for name in spec["fd"] + ["inputs_embeds"]:
        g = ref["grad." + name]
        target = ps.get(name)
        ok = g != 0
        if target is not None and id(target) in pad_rows:
            # HF's nn.Embedding(padding_idx) leaves the padding row out of the lookup
            # gradient, so that row is not the derivative: do not finite-difference it
            ok[pad_rows[id(target)]] = False
        cand = ok.nonzero()
        for _ in range(3):
            idx = tuple(int(i) for i in cand[int(torch.randint(0, len(cand), (1,),
                                                                generator=gen))])
            with torch.no_grad():
                x0 = 0.0 if target is None else target[idx].item()
                step = 1e-5 * max(1.0, abs(x0))
                vals = []
                for sgn in (1, -1):
                    if target is None:
                        tap.delta = torch.zeros(g.shape, dtype=torch.float64)
                        tap.delta[idx] = sgn * step
                    else:
                        target[idx] = x0 + sgn * step
                    vals.append(loss_of(model, inp, probe_h, probe_l)[0].item())
                tap.delta = None
                if target is not None:
                    target[idx] = x0
            fd = (vals[0] - vals[1]) / (2 * step)
            an = g[idx].item()
            err = abs(fd - an) / max(g.abs().max().item(), 1e-30)
            worst = max(worst, err)
            print("    fd %-48s %-12s autograd % .9e  fd % .9e  err/max|g| %.1e"
                  % (name, str(list(idx)), an, fd, err))
    return worst


def pad_row_check(spec, model, ref, inp):
    """Shows what HF's padding_idx does to the word-embedding gradient: the pad row equals the
    true derivative minus the lookup contributions of the pad tokens."""
    pad = spec["cfg"].get("pad_token_id")
    emb = model.word_embeddings()
    if emb.padding_idx is None:
        return None
    name = [n for n, p in params(model).items() if p is emb.weight][0]
    sel = inp["input_ids"] == emb.padding_idx
    lookup = ref["grad.inputs_embeds"][sel].sum(0)
    # with untied embeddings the HF pad row must be exactly zero (no other user of the row)
    return name, pad, int(sel.sum()), ref["grad." + name][pad].abs().max().item(), \
        lookup.abs().max().item()


# --------------------------------------------------------------------------------------------

def tok_kinds(spec):
    t = spec["tok"]
    return t if isinstance(t, tuple) else (t,)


def generate(spec, bases):
    name = spec["name"]
    if "base" in spec:
        merged = dict(bases[spec["base"]]["spec"])
        merged.update(spec)
        spec = merged
    dtype = spec.get("dtype", torch.float32)
    seedname = spec.get("base", name)
    gen = torch.Generator().manual_seed(zlib.crc32(seedname.encode()))
    cfg = dict(spec["cfg"], torch_dtype=DTYPE_NAME[dtype])

    m32 = build(spec, torch.float32)
    init_weights(m32, gen)
    stored = {n: p.detach().to(dtype) for n, p in params(m32).items()}
    inp = make_inputs(spec, gen)

    m64 = build(spec, torch.float64)
    with torch.no_grad():  # reference from the weights exactly as stored
        for n, p in params(m64).items():
            p.copy_(stored[n].double())
        for n, p in params(m32).items():
            p.copy_(stored[n].float())
    tap64, tap32 = Tap(m64.word_embeddings()), Tap(m32.word_embeddings())

    with torch.no_grad():
        h, logits = m64(**inp)
    probe_h = torch.randn(h.shape, generator=gen, dtype=torch.float32).double()
    probe_l = (torch.randn(logits.shape, generator=gen, dtype=torch.float32).double()
               if logits is not None else None)

    ref = run(m64, inp, probe_h, probe_l, tap64)
    got = run(m32, inp, probe_h, probe_l, tap32)
    out_err = max(rel_err(got[k], ref[k]) for k in ("last_hidden_state", "logits") if k in ref)
    # some gradients are 0 in exact arithmetic (the key bias: softmax is shift invariant) and
    # hold only round-off; measure those against 1e-6 of the largest gradient
    gmax = max(v.abs().max().item() for k, v in ref.items() if k.startswith("grad."))
    grad_err, worst = max((rel_err(got[k], ref[k], 1e-6 * gmax), k)
                          for k in ref if k.startswith("grad."))
    print("%s: %s, %d params, fp32 vs fp64 (max|err|/max|ref|): outputs %.1e, grads %.1e (%s)"
          % (name, cfg["architectures"][0], sum(p.numel() for p in stored.values()),
             out_err, grad_err, worst))
    assert out_err < 1e-5 and grad_err < 1e-4, name
    fd_err = fd_check(spec, m64, inp, probe_h, probe_l, tap64, ref,
                      torch.Generator().manual_seed(zlib.crc32(name.encode()) + 1))
    assert fd_err < 1e-6, name
    pr = pad_row_check(spec, m64, ref, inp)
    if pr is not None:
        print("    padding_idx: %s row %d (%d pad tokens): max|grad row| %.3e, lookup part left "
              "out %.3e" % pr)

    # ---- write
    d = os.path.join(OUT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    write_json(os.path.join(d, "config.json"), cfg)
    if spec.get("shards"):
        order = sorted(stored)
        first = [n for n in order if n.startswith("model.embed_tokens") or
                 n.startswith("model.layers.0.")]
        parts = [first, [n for n in order if n not in first]]
        n_sh = len(parts)
        weight_map, total = {}, 0
        for i, part in enumerate(parts):
            fname = "model-%05d-of-%05d.safetensors" % (i + 1, n_sh)
            write_safetensors(os.path.join(d, fname), {n: stored[n] for n in part})
            for n in part:
                weight_map[n] = fname
                total += stored[n].numel() * stored[n].element_size()
        write_json(os.path.join(d, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total}, "weight_map": weight_map})
    else:
        write_safetensors(os.path.join(d, "model.safetensors"), stored)
    out = {k: v.to(torch.int32) for k, v in inp.items()}
    out["probe.hidden"] = probe_h.float()
    if probe_l is not None:
        out["probe.logits"] = probe_l.float()
    for k, v in ref.items():
        out[k] = v.float()
    if name == "bert-base-noprefix":  # extra, not in the loss
        with torch.no_grad():
            out["pooler_output"] = m64.bert(**inp)[1].float()
    write_safetensors(os.path.join(d, "reference.safetensors"), out)
    # round trip: rebuild the model from the files just written, recompute the outputs
    with open(os.path.join(d, "config.json")) as f:
        assert json.load(f) == cfg
    w, r = load_weights(d), read_safetensors(os.path.join(d, "reference.safetensors"))
    assert set(w) == set(stored) and all(w[n].dtype == dtype for n in w)
    assert set(r) == set(out) and set("grad." + n for n in w) <= set(r)
    m = build(spec, torch.float64)
    with torch.no_grad():
        for n, p in params(m).items():
            p.copy_(w[n].double())
        rin = {k: r[k].long() for k in inp}
        h, logits = m(**rin)
    assert torch.equal(h.float(), r["last_hidden_state"]), name
    assert logits is None or torch.equal(logits.float(), r["logits"]), name

    for kind in tok_kinds(spec):
        src = os.path.join(TOK, kind, "tokenizer.json")
        if os.path.isfile(src):
            shutil.copyfile(src, os.path.join(d, "tokenizer.json"))
            text_reference(spec, m64, d, os.path.join(TOK, kind, "expected.jsonl"))
            break
    return spec


def text_reference(spec, m64, d, expected_path):
    """End-to-end reference for `bipeft forward DIR --text ... --pair ...`: two texts whose ids
    come from HF's own tokenizer implementation (tokenizers.js, recorded in the tokenizer's
    expected.jsonl), the first a pair when the tokenizer has pair cases, padded on the right
    with pad_token_id, run through the float64 model. Writes texts.json and
    reference_text.safetensors (input_ids, attention_mask, last_hidden_state, logits for
    classification heads)."""
    cfg = spec["cfg"]
    pad = cfg.get("pad_token_id")
    if pad is None or not os.path.isfile(expected_path):
        return
    max_t = cfg.get("max_position_embeddings", cfg.get("n_positions", 64))
    if cfg["model_type"] == "roberta":
        max_t -= pad + 1
    rows = []
    with open(expected_path, encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            if e["max_length"] is None and 3 <= len(e["ids"]) <= min(max_t, 40):
                rows.append(e)
    # prefer a text with non-ASCII characters, so the command line carries UTF-8 end to end
    single = next((e for e in rows if e["pair"] is None and not e["text"].isascii()), None) or \
        next((e for e in rows if e["pair"] is None), None)
    second = next((e for e in rows if e["pair"] is not None), None) or \
        next((e for e in rows if e["pair"] is None and len(e["ids"]) != len(single["ids"])), None)
    if single is None or second is None:
        return
    # the k-th --pair goes with the k-th --text, so a pair case comes first
    batch = [second, single] if second["pair"] is not None else [single, second]
    T = max(len(e["ids"]) for e in batch)
    ids = torch.full((2, T), pad, dtype=torch.int64)
    mask = torch.zeros(2, T, dtype=torch.int64)
    tt = torch.zeros(2, T, dtype=torch.int64)
    for i, e in enumerate(batch):
        n = len(e["ids"])
        ids[i, :n] = torch.tensor(e["ids"])
        mask[i, :n] = 1
        tt[i, :n] = torch.tensor(e["type_ids"])
    inp = {"input_ids": ids, "attention_mask": mask}
    if cfg["model_type"] == "bert":
        inp["token_type_ids"] = tt
    with torch.no_grad():
        h, logits = m64(**inp)
    out = {"input_ids": ids.to(torch.int32), "attention_mask": mask.to(torch.int32),
           "last_hidden_state": h.float()}
    if logits is not None and logits.dim() == 2:
        out["logits"] = logits.float()
    write_safetensors(os.path.join(d, "reference_text.safetensors"), out)
    write_json(os.path.join(d, "texts.json"),
               {"text": [e["text"] for e in batch], "pair": [e["pair"] for e in batch]})


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    bases = {}
    for spec in FIXTURES:
        spec = generate(spec, bases)
        bases[spec["name"]] = {"spec": spec}
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print("wrote %d fixtures to %s, %.2f MB in all" % (len(FIXTURES), OUT, total / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
